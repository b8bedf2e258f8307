// Fuzzes /chains parsing and the compact chip encoding: whatever parses must pack into vectors
// that unpack to exactly the values that were packed.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chip_encoding.h"
#include "firmware/parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleet;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto chains = firmware::parse_chains(body, {.max_bytes = 256 * 1024, .max_depth = 16});
  if (!chains.ok()) return 0;
  for (const auto& chain : chains->chains) {
    auto e = telemetry::encode_chain(chain);
    const auto n = static_cast<std::size_t>(e.chip_count);
    for (const std::string* packed : {&e.hr, &e.temp_dc, &e.freq_mhz, &e.volt_mv, &e.errs}) {
      auto values = telemetry::unpack_values(*packed, n);
      if (!values || values->size() != n) __builtin_trap();
    }
    auto temps = telemetry::unpack_values(e.temp_dc, n);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& t = chain.chips[i].temp_c;
      if (t.has_value() != (*temps)[i].has_value()) __builtin_trap();
      if (t && *(*temps)[i] != static_cast<std::int64_t>(std::llround(*t * 10))) __builtin_trap();
    }
    (void)telemetry::anomalies_of(*chains, 3);
  }
  // Arbitrary values round-trip through pack/unpack.
  telemetry::Values values;
  for (std::size_t i = 0; i + 4 <= size && values.size() < 300; i += 4) {
    std::int32_t v;
    __builtin_memcpy(&v, data + i, 4);
    if (v == 0x7fffffff) {
      values.emplace_back();
    } else {
      values.emplace_back(v);
    }
  }
  int clamped = 0;
  auto back = telemetry::unpack_values(telemetry::pack_values(values, clamped), values.size());
  if (!back || *back != values || clamped != 0) __builtin_trap();
  return 0;
}
