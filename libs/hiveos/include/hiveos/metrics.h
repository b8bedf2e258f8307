// What a synced HiveOS worker contributes to metrics_latest / readings, under the catalogue's
// names (sql/0010_rules.sql, sql/0046_hiveos.sql): the shared ones where the meaning is the same
// (temperature, hashrate in TH/s, power, gpu_temp_max, fan_rpm_min, cpu_percent) and rig-specific
// ones where it is not (gpus_online, gpus_offline, gpus_overheated, boards_offline, problems,
// fan_percent_max, shares_accepted, shares_rejected, stats_age). A value HiveOS did not send is
// not emitted (no data, not zero).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hiveos/model.h"

namespace fleet::hiveos {

struct MetricValue {
  std::string name;
  std::optional<double> value;
  std::string json_value;     // "" or a JSON text (problems: ["overheat"]; hashrate: per algo)
  std::string metadata_json;  // "" or a JSON object text ({"algo": ...})
};

// `now_unix` is the sync's time, for stats_age.
std::vector<MetricValue> metrics_of(const Worker& worker, std::int64_t now_unix);

// Whether the worker counts as seen: online per HiveOS and its stats_time no older than
// `stale_after_s` at `now_unix` (a rig whose stats_time is old is offline even if online says
// true). A worker without stats_time is not seen.
bool is_live(const Worker& worker, std::int64_t now_unix, std::int64_t stale_after_s);

}  // namespace fleet::hiveos
