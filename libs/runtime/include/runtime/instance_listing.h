// The service_instances rows as people see them: one query and one row-to-JSON mapping, shared by
// `fleetctl status` and `GET /api/services` so both show the same fields (docs/fleetctl.md,
// docs/services/api-gateway.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pqxx {
class transaction_base;
}

namespace fleet::runtime {

struct InstanceQuery {
  bool all = false;     // also processes that ended (or went silent) over an hour ago
  std::string service;  // only this service; "" = every service
};

// One process. Ages are seconds before the database's now().
struct InstanceView {
  std::string instance_id;  // <host>/<service>/<pid>-<random>
  std::string service;
  std::string host;
  int pid = 0;
  std::string version;
  std::string mode;           // loop | once | dry-run
  std::string state;          // the stored state, or "stale" (see instance_state())
  std::string stored_state;   // starting | running | stopping | stopped | failed, as written
  std::string started_at;     // ISO 8601 UTC
  double uptime_seconds = 0;  // to now while alive, to when it stopped (or went silent) otherwise
  double heartbeat_age_seconds = 0;
  double interval_seconds = 0;
  std::int64_t cycles = 0;
  std::int64_t cycle_errors = 0;
  int consecutive_failures = 0;
  std::int64_t items_processed = 0;
  std::optional<double> last_cycle_seconds;  // duration of the last cycle
  std::optional<double> last_success_age_seconds;
  std::optional<std::string> last_error;  // redacted by the process that wrote it
  std::optional<double> last_error_age_seconds;
  std::optional<bool> leader;  // null: the worker has no leader lease
  std::optional<int> health_port;
  std::string stats_json = "{}";  // totals of the worker's named statistics
};

// The processes matching `query`, ordered by service, host and pid.
std::vector<InstanceView> list_instances(pqxx::transaction_base& tx, const InstanceQuery& query);

// The JSON object of one process: every field of InstanceView under its own name (stats as an
// object, absent optionals as null).
nlohmann::json instance_json(const InstanceView& view);

}  // namespace fleet::runtime
