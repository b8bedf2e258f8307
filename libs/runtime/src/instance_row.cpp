#include "instance_row.h"

#include <unistd.h>

#include <random>

#include <pqxx/pqxx>

namespace fleet::runtime {
namespace {

constexpr const char* kUpsert = R"sql(
INSERT INTO service_instances AS s
       (instance_id, service, host, pid, version, mode, state, started_at, heartbeat_at,
        interval_ms, health_port, leader, cycles, cycle_errors, consecutive_failures,
        items_processed, last_cycle_at, last_cycle_ms, last_success_at, last_error, last_error_at,
        stats, stopped_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8), now(),
        $9, $10, $11, $12, $13, $14,
        $15, to_timestamp($16), $17, to_timestamp($18), $19, to_timestamp($20),
        $21::jsonb, CASE WHEN $7 IN ('stopped', 'failed') THEN now() END)
ON CONFLICT (instance_id) DO UPDATE
   SET state = EXCLUDED.state, heartbeat_at = now(), interval_ms = EXCLUDED.interval_ms,
       health_port = EXCLUDED.health_port, leader = EXCLUDED.leader, cycles = EXCLUDED.cycles,
       cycle_errors = EXCLUDED.cycle_errors, consecutive_failures = EXCLUDED.consecutive_failures,
       items_processed = EXCLUDED.items_processed, last_cycle_at = EXCLUDED.last_cycle_at,
       last_cycle_ms = EXCLUDED.last_cycle_ms, last_success_at = EXCLUDED.last_success_at,
       last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at,
       stats = EXCLUDED.stats, stopped_at = EXCLUDED.stopped_at
)sql";

}  // namespace

void write_instance_row(pqxx::transaction_base& tx, const InstanceRow& r) {
  tx.exec_params(kUpsert, r.instance_id, r.service, r.host, r.pid, r.version, r.mode, r.state,
                 r.started_at, static_cast<long long>(r.interval_ms), r.health_port, r.leader,
                 static_cast<long long>(r.cycles), static_cast<long long>(r.cycle_errors),
                 r.consecutive_failures, static_cast<long long>(r.items_processed), r.last_cycle_at,
                 r.last_cycle_ms, r.last_success_at, r.last_error, r.last_error_at, r.stats_json);
}

std::string make_instance_id(const std::string& host, const std::string& service, int pid) {
  std::random_device rd;
  char suffix[9];
  std::snprintf(suffix, sizeof suffix, "%08x", rd());
  return host + "/" + service + "/" + std::to_string(pid) + "-" + suffix;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace fleet::runtime
