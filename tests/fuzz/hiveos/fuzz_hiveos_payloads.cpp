// Fuzzes every HiveOS payload mapper with the same bytes: none may crash, hang, or return what
// its contract rules out (an item without a positive id, a non-finite or negative hashrate,
// more GPUs than the cap, a metric that is not finite).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "hiveos/metrics.h"
#include "hiveos/parse.h"

namespace {

void check_finite(const std::optional<double>& v) {
  if (v && !std::isfinite(*v)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleet::hiveos;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  ParseLimits limits;
  limits.max_body_bytes = 256 * 1024;
  limits.max_gpus = 8;
  if (auto farms = parse_farms(body, limits); farms.ok()) {
    for (const auto& f : farms.value().items) {
      if (f.id <= 0 || f.name.empty()) __builtin_trap();
    }
  }
  if (auto workers = parse_workers(body, 7, limits); workers.ok()) {
    for (const auto& w : workers.value().items) {
      if (w.id <= 0 || w.name.empty() || w.gpus.size() > limits.max_gpus) __builtin_trap();
      for (const auto& h : w.hashrates) {
        if (!std::isfinite(h.ths) || h.ths < 0) __builtin_trap();
      }
      for (const auto& g : w.gpus) {
        check_finite(g.temp_c);
        check_finite(g.hashrate_ths);
      }
      for (const auto& m : metrics_of(w, 1700000000)) {
        if (m.name.empty()) __builtin_trap();
        check_finite(m.value);
      }
      (void)is_live(w, 1700000000, 300);
    }
  }
  if (auto w = parse_worker(body, 7, limits); w.ok() && w.value().id <= 0) __builtin_trap();
  if (auto c = parse_command_response(body, 3, limits); c.ok()) {
    for (const auto& s : c.value()) {
      if (s.command_id <= 0) __builtin_trap();
    }
  }
  if (auto c = parse_commands_response(body, limits); c.ok()) {
    for (const auto& s : c.value()) {
      if (s.command_id <= 0 || s.worker_id <= 0) __builtin_trap();
    }
  }
  if (auto m = parse_messages(body, limits); m.ok()) {
    for (const auto& msg : m.value().items) {
      if (msg.id <= 0 || msg.payload.size() > limits.max_payload_bytes) __builtin_trap();
    }
  }
  return 0;
}
