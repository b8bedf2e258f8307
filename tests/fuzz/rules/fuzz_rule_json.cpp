// Fuzzes the JSON form of a rule (fleetctl --file, the API's request bodies) and rule validation:
// any input is a rule or an error naming a field, and a rule that reads prints and reads back the
// same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "rules/rule.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 1 << 16) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rule = fleet::rules::rule_from_json(text);
  if (!rule.ok()) {
    if (rule.error().message().empty()) __builtin_trap();
    return 0;
  }
  const std::string printed = fleet::rules::rule_to_json(*rule);
  auto again = fleet::rules::rule_from_json(printed);
  if (!again.ok() || fleet::rules::rule_to_json(*again) != printed) __builtin_trap();
  fleet::rules::MetricCatalogue catalogue;
  catalogue.add({.name = "temperature", .description = "t", .kinds = {"asic", "device"}});
  (void)fleet::rules::validate_rule(*rule, catalogue);
  return 0;
}
