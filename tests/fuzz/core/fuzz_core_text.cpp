// Fuzzes the core text helpers that see untrusted input: durations (configuration, rule text),
// secret redaction (every log line) and UTF-8 sanitising (device strings).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/duration.h"
#include "core/strings.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto d = fleet::parse_duration(text); d.ok()) {
    // What parses must print and parse back to the same value.
    auto again = fleet::parse_duration(fleet::format_duration(*d));
    if (!again.ok() || *again != *d) __builtin_trap();
  }
  const std::string clean = fleet::sanitize_utf8(text);
  if (!fleet::is_valid_utf8(clean)) __builtin_trap();
  const std::string redacted = fleet::redact_secrets(text);
  (void)redacted;
  (void)fleet::closest_match(text.substr(0, 64), {"interval", "log.format", "health.port"});
  return 0;
}
