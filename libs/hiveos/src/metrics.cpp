// What a HiveOS worker contributes to metrics_latest / readings (hiveos/metrics.h).
#include "hiveos/metrics.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace fleet::hiveos {
namespace {

using json = nlohmann::json;

void add(std::vector<MetricValue>& out, const char* name, std::optional<double> value,
         std::string json_value = {}, std::string metadata = {}) {
  if (!value) return;
  out.push_back({name, value, std::move(json_value), std::move(metadata)});
}

}  // namespace

std::vector<MetricValue> metrics_of(const Worker& w, std::int64_t now_unix) {
  std::vector<MetricValue> out;
  const Stats& s = w.stats;

  // Hashrate: the sum over the worker's miners, in TH/s, with the split by algorithm beside it.
  if (!w.hashrates.empty()) {
    double total = 0;
    json by_algo = json::object();
    for (const auto& h : w.hashrates) {
      total += h.ths;
      const std::string algo = h.algo.empty() ? "unknown" : h.algo;
      by_algo[algo] = by_algo.value(algo, 0.0) + h.ths;
    }
    add(out, "hashrate", total, by_algo.dump(-1, ' ', false, json::error_handler_t::replace),
        json{{"unit", "TH/s"}}.dump());
  } else if (s.online.value_or(false) && !w.gpus.empty()) {
    double total = 0;
    bool any = false;
    for (const auto& g : w.gpus) {
      if (g.hashrate_ths) {
        total += *g.hashrate_ths;
        any = true;
      }
    }
    if (any) add(out, "hashrate", total);
  }

  // Temperatures: the hottest GPU (rigs) or board (ASICs); `temperature` is the hottest part.
  std::optional<double> gpu_max;
  for (const auto& g : w.gpus) {
    if (g.temp_c) gpu_max = gpu_max ? std::max(*gpu_max, *g.temp_c) : *g.temp_c;
  }
  if (!gpu_max && w.platform != 2) gpu_max = w.max_temp_c;
  if (w.platform != 2) add(out, "gpu_temp_max", gpu_max);
  add(out, "temperature", w.max_temp_c ? w.max_temp_c : gpu_max);

  // Power: HiveOS's power_draw, else the sum of the GPUs or boards.
  std::optional<double> power = s.power_draw_w;
  if (!power) {
    double sum = 0;
    bool any = false;
    for (const auto& g : w.gpus) {
      if (g.power_w) sum += *g.power_w, any = true;
    }
    for (const auto& b : w.boards) {
      if (b.power_w) sum += *b.power_w, any = true;
    }
    if (any) power = sum;
  }
  add(out, "power", power);

  add(out, "fan_percent_max", w.max_fan_percent);
  add(out, "fan_rpm_min", w.min_fan_rpm);
  if (s.gpus_online) add(out, "gpus_online", *s.gpus_online);
  if (s.gpus_offline) add(out, "gpus_offline", *s.gpus_offline);
  if (s.gpus_overheated) add(out, "gpus_overheated", *s.gpus_overheated);
  if (s.boards_offline) add(out, "boards_offline", *s.boards_offline);
  if (s.stats_time || !s.problems.empty()) {
    add(out, "problems", static_cast<double>(s.problems.size()),
        json(s.problems).dump(-1, ' ', false, json::error_handler_t::replace));
  }

  // Shares: summed over the miners that report them.
  std::optional<double> accepted, rejected;
  for (const auto& h : w.hashrates) {
    if (h.accepted) accepted = accepted.value_or(0) + static_cast<double>(*h.accepted);
    if (h.rejected) rejected = rejected.value_or(0) + static_cast<double>(*h.rejected);
  }
  add(out, "shares_accepted", accepted);
  add(out, "shares_rejected", rejected);

  if (w.cpu_temp_c && w.platform != 2) {
    // Not a catalogue metric of its own: the rig's CPU temperature is part of `temperature` only
    // when no GPU reported one.
    if (!w.max_temp_c && !gpu_max) add(out, "temperature", w.cpu_temp_c);
  }
  if (s.stats_time)
    add(out, "stats_age", static_cast<double>(std::max<std::int64_t>(0, now_unix - *s.stats_time)));
  return out;
}

bool is_live(const Worker& w, std::int64_t now_unix, std::int64_t stale_after_s) {
  if (!w.stats.online.value_or(false) || !w.stats.stats_time) return false;
  return now_unix - *w.stats.stats_time <= stale_after_s;
}

}  // namespace fleet::hiveos
