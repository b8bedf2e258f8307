// Fuzzes every Vnish payload mapper with the same bytes: none may crash, hang, or return values
// outside what its contract promises (finite numbers, sane ranges, lower-case MACs).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "firmware/parse.h"

namespace {

void check_finite(const std::optional<double>& v) {
  if (v && !std::isfinite(*v)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleet::firmware;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  const PayloadLimits limits{.max_bytes = 256 * 1024, .max_depth = 16};
  FieldIssues issues;
  if (auto info = parse_info(body, limits, &issues); info.ok()) {
    if (info->fw_name.empty()) __builtin_trap();
    if (info->mac && *info->mac != normalize_mac(*info->mac).value_or("")) __builtin_trap();
  }
  (void)parse_model(body, limits, &issues);
  if (auto presets = parse_presets(body, limits, &issues); presets.ok()) {
    for (const auto& p : *presets) {
      if (p.name.empty()) __builtin_trap();
      check_finite(p.power_w);
    }
  }
  for (auto measure : {HashMeasure::kGhs, HashMeasure::kMhs}) {
    if (auto s = parse_summary(body, measure, limits, &issues); s.ok()) {
      check_finite(s->hashrate_ths);
      check_finite(s->hashrate_ratio());
      check_finite(s->efficiency_jth);
      if (s->hashrate_ths && *s->hashrate_ths < 0) __builtin_trap();
      (void)s->fan_rpm_min();
      (void)s->chips_red();
      (void)s->active_pool();
    }
  }
  if (auto chains = parse_chains(body, limits, &issues); chains.ok()) {
    if (chains->chains.size() > 16) __builtin_trap();
    for (const auto& c : chains->chains) {
      if (c.chips.size() > 1024) __builtin_trap();
      for (const auto& chip : c.chips)
        check_finite(chip.hr);
    }
  }
  (void)parse_status(body, limits, &issues);
  (void)parse_perf_summary(body, limits, &issues);
  (void)parse_api_keys(body, limits);
  (void)parse_unlock(body, limits);
  (void)parse_add_key_status(body, limits);
  (void)parse_save_config(body, limits);
  (void)parse_settings(body, limits);
  (void)parse_find_miner(body, limits);
  (void)parse_reboot(body, limits);
  (void)error_text(body);
  if (issues.size() > 32 * 20) __builtin_trap();
  return 0;
}
