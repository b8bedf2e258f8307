// What one synced HiveOS worker becomes in fleetward's tables, decided without the database:
// its kind, its address, whether it counts as seen, its metrics, and the JSON rows the store
// hands to PostgreSQL (json_to_recordset) in one batch per farm.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hiveos/metrics.h"
#include "hiveos/model.h"

namespace fleet::hiveos_sync {

struct WorkerRow {
  hiveos::Worker worker;
  std::string kind;   // "asic" for platform 2, "rig" otherwise
  std::string ip;     // first ip_addresses entry that parses as an IP address; "" = none
  bool live = false;  // hiveos::is_live: last_seen_at moves to stats_time, metrics are written
  std::vector<hiveos::MetricValue> metrics;  // empty unless live; one per name
};

// "asic" for platform 2, else "rig" (HIVEOS-CONTRACT: decisions).
std::string kind_of(const hiveos::Worker& worker);

// The first entry that is an IPv4 or IPv6 address (inet), "" when none is.
std::string first_ip(const std::vector<std::string>& addresses);

// Maps one farm's workers: drops repeated worker ids (the first is kept), decides liveness at
// `now_unix` and collects the live workers' metrics (repeated names: the first is kept).
std::vector<WorkerRow> rows_of(std::vector<hiveos::Worker> workers, std::int64_t now_unix,
                               std::int64_t stale_after_s);

// The workers of a batch as a JSON array of flat objects: identity, kind, ip, live, seen_at
// (stats_time), and the rigs detail (platform, versions, gpus, boards, hardware, watchdog,
// hashrates, problems, online, times). Names are cut to the workers.name limit (200).
std::string workers_json(const std::vector<WorkerRow>& rows);

// The metrics of the live workers of a batch as six parallel PostgreSQL array literals, one
// element per metric (unnest()ed by the store: array input costs PostgreSQL a fifth of what
// json_to_recordset's per-row objects did): hid bigint[], metric text[], value float8[] (NULL
// when none), json_value jsonb[] and metadata jsonb[] (NULL when empty), ts bigint[] (the
// worker's stats_time).
struct MetricArrays {
  std::string hids = "{}", names = "{}", values = "{}", json_values = "{}", metadata = "{}",
              ts = "{}";
  std::size_t count = 0;
};
MetricArrays metric_arrays(const std::vector<WorkerRow>& rows);
std::size_t metric_count(const std::vector<WorkerRow>& rows);

// One element of a PostgreSQL array literal: NULL, or the text double-quoted with `"` and `\`
// escaped.
void append_array_element(std::string& out, const std::string* text);

}  // namespace fleet::hiveos_sync
