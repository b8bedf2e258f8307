#include "status_metrics.h"

namespace fleet::poller {

namespace {

bool is_transport(ErrorKind kind) {
  return kind == ErrorKind::kUnavailable || kind == ErrorKind::kDeadlineExceeded ||
         kind == ErrorKind::kCancelled;
}

// Firmware reports 0/0 for a range it has not measured (e.g. in failure state).
std::optional<double> measured_max(const firmware::TempRange& r) {
  if (!r.max) return std::nullopt;
  if (*r.max == 0 && r.min.value_or(0) == 0) return std::nullopt;
  return r.max;
}

}  // namespace

int chains_failed(const firmware::SummaryPayload& summary) {
  int n = 0;
  for (const auto& c : summary.chains) {
    if (c.state == "failure" || c.state == "disconnected") ++n;
  }
  return n;
}

std::vector<asic::MetricSample> status_metrics(std::int64_t worker_id,
                                               std::chrono::system_clock::time_point observed_at,
                                               const firmware::SummaryPayload& s) {
  std::vector<asic::MetricSample> out;
  const bool failure = s.miner_state == "failure";
  auto add_state = [&] {
    if (s.miner_state.empty()) return;
    out.push_back({worker_id, "miner_state", std::nullopt, s.miner_state, observed_at});
    out.push_back({worker_id, "miner_failure_code",
                   failure ? static_cast<double>(s.failure_code.value_or(0)) : 0.0, std::nullopt,
                   observed_at});
  };
  if (!s.has_miner) {
    add_state();
    return out;
  }
  auto add = [&](const char* name, std::optional<double> value) {
    if (value) out.push_back({worker_id, name, value, std::nullopt, observed_at});
  };
  add("hashrate", s.hashrate_ths);
  if (s.hashrate_nominal_ths && *s.hashrate_nominal_ths > 0) {
    add("hashrate_nominal", s.hashrate_nominal_ths);
  }
  add("hashrate_ratio", s.hashrate_ratio());
  add("power", s.power_w);
  // 0 J/TH would read as perfect: without hashrate there is no efficiency.
  if (s.efficiency_jth && *s.efficiency_jth > 0 && s.hashrate_ths.value_or(0) > 0) {
    add("efficiency", s.efficiency_jth);
  }
  const auto chip_max = measured_max(s.chip_temp);
  add("chip_temp_max", chip_max);
  add("temperature", chip_max);
  add("pcb_temp_max", measured_max(s.pcb_temp));
  if (auto rpm = s.fan_rpm_min()) add("fan_rpm_min", static_cast<double>(*rpm));
  if (auto red = s.chips_red()) add("chips_red", static_cast<double>(*red));
  if (auto orange = s.chips_orange()) add("chips_orange", static_cast<double>(*orange));
  add("chains_failed", static_cast<double>(chains_failed(s)));
  add("hw_errors_percent", s.hw_errors_percent);
  if (const auto* pool = s.active_pool(); pool && pool->accepted && pool->rejected) {
    const double total = static_cast<double>(*pool->accepted + *pool->rejected);
    if (total > 0)
      add("pool_rejected_percent", 100.0 * static_cast<double>(*pool->rejected) / total);
  }
  add_state();
  return out;
}

void adopt_status_pane(firmware::SummaryPayload& summary, const firmware::StatusPane& pane) {
  summary.miner_state = pane.miner_state;
  summary.miner_state_time_s = pane.miner_state_time_s;
  summary.state_description = pane.description;
  summary.failure_code = pane.failure_code;
}

std::optional<std::string> worker_status_after(bool answered, const std::string& miner_state,
                                               std::optional<ErrorKind> failure, int failures,
                                               int offline_after, bool partition) {
  if (answered) return miner_state == "failure" ? "unhealthy" : "online";
  if (failures < offline_after) return std::nullopt;
  if (!failure || is_transport(*failure)) return partition ? "unreachable" : "offline";
  return "unhealthy";
}

bool suspect_partition(std::int64_t transport_failures, std::int64_t polled, double share) {
  if (polled <= 0 || transport_failures < 3) return false;
  return static_cast<double>(transport_failures) > share * static_cast<double>(polled);
}

}  // namespace fleet::poller
