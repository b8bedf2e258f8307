// What a /summary means for rules: the metric values the status-poller writes to metrics_latest
// and readings (names from metric_catalogue), and the worker status it implies. Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "asic/metric_rows.h"
#include "core/result.h"
#include "firmware/payloads.h"

namespace fleet::poller {

// hashrate, hashrate_nominal, hashrate_ratio (TH/s), power (W), efficiency (J/TH),
// chip_temp_max, pcb_temp_max, temperature (= chip_temp_max, for seed 000's "temperature > 80"),
// fan_rpm_min, chips_red, chips_orange, chains_failed, hw_errors_percent, pool_rejected_percent,
// and miner_state (a state), miner_failure_code (0 unless in failure). A value the firmware did
// not report is left out (the last one goes stale) rather than written as 0. A summary without
// miner data gives only what GET /status told (see adopt_status_pane), else nothing.
std::vector<asic::MetricSample> status_metrics(std::int64_t worker_id,
                                               std::chrono::system_clock::time_point observed_at,
                                               const firmware::SummaryPayload& summary);

// A /summary with "miner": null means the firmware has no miner data, typically because it
// failed to start mining; GET /status then says why. Copies its state, description and failure
// code into `summary`. REQUIRES: !summary.has_miner.
void adopt_status_pane(firmware::SummaryPayload& summary, const firmware::StatusPane& pane);

// Chains the firmware reports in state failure or disconnected.
int chains_failed(const firmware::SummaryPayload& summary);

// The worker status after a poll (DESIGN §6 flap damping: a failure changes it only after
// `offline_after` consecutive failures):
//   answered       -> "unhealthy" when the firmware reports miner_state failure, else "online"
//   not answered   -> after offline_after failures: "offline" (timeouts, refused, resets), or
//                     "unreachable" when `suspect_partition` (most of this cycle failed: suspect
//                     our own network), or "unhealthy" when it answered with something unusable
//                     (auth, bad payloads); nullopt (unchanged) before that.
std::optional<std::string> worker_status_after(bool answered, const std::string& miner_state,
                                               std::optional<ErrorKind> failure, int failures,
                                               int offline_after, bool suspect_partition);

// DESIGN §6 partition protection: more than `share` of the polls so far failed in transport,
// and at least 3.
bool suspect_partition(std::int64_t transport_failures, std::int64_t polled, double share);

}  // namespace fleet::poller
