#include "runtime/instance_listing.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "runtime/instance_state.h"

namespace fleet::runtime {
namespace {

using json = nlohmann::json;

constexpr const char* kListInstances = R"sql(
SELECT instance_id, service, host, pid, version, mode, state,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       extract(epoch FROM CASE WHEN state IN ('starting', 'running', 'stopping') THEN now()
                               ELSE coalesce(stopped_at, heartbeat_at) END - started_at)::float8,
       extract(epoch FROM now() - heartbeat_at)::float8,
       interval_ms, cycles, cycle_errors, consecutive_failures, items_processed,
       last_cycle_ms / 1000,
       extract(epoch FROM now() - last_success_at)::float8,
       last_error,
       extract(epoch FROM now() - last_error_at)::float8,
       leader, health_port, stats::text
  FROM service_instances
 WHERE ($1 OR state IN ('starting', 'running', 'stopping')
        OR coalesce(stopped_at, heartbeat_at) > now() - interval '1 hour')
   AND ($2 = '' OR service = $2)
 ORDER BY service, host, pid
)sql";

template <class T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

template <class T>
json or_null(const std::optional<T>& v) {
  return v ? json(*v) : json();
}

}  // namespace

std::vector<InstanceView> list_instances(pqxx::transaction_base& tx, const InstanceQuery& query) {
  std::vector<InstanceView> out;
  for (const auto& r : tx.exec_params(kListInstances, query.all, query.service)) {
    InstanceView v;
    v.instance_id = r[0].as<std::string>();
    v.service = r[1].as<std::string>();
    v.host = r[2].as<std::string>();
    v.pid = r[3].as<int>();
    v.version = r[4].as<std::string>();
    v.mode = r[5].as<std::string>();
    v.stored_state = r[6].as<std::string>();
    v.started_at = r[7].as<std::string>();
    v.uptime_seconds = r[8].as<double>();
    v.heartbeat_age_seconds = r[9].as<double>();
    v.interval_seconds = r[10].as<double>() / 1000;
    v.state = instance_state(v.stored_state, v.heartbeat_age_seconds, v.interval_seconds);
    v.cycles = r[11].as<std::int64_t>();
    v.cycle_errors = r[12].as<std::int64_t>();
    v.consecutive_failures = r[13].as<int>();
    v.items_processed = r[14].as<std::int64_t>();
    v.last_cycle_seconds = opt<double>(r[15]);
    v.last_success_age_seconds = opt<double>(r[16]);
    v.last_error = opt<std::string>(r[17]);
    v.last_error_age_seconds = opt<double>(r[18]);
    v.leader = opt<bool>(r[19]);
    v.health_port = opt<int>(r[20]);
    v.stats_json = r[21].as<std::string>();
    out.push_back(std::move(v));
  }
  return out;
}

json instance_json(const InstanceView& v) {
  json stats = json::parse(v.stats_json, nullptr, false);
  if (stats.is_discarded()) stats = json::object();
  return {{"instance_id", v.instance_id},
          {"service", v.service},
          {"host", v.host},
          {"pid", v.pid},
          {"version", v.version},
          {"mode", v.mode},
          {"state", v.state},
          {"stored_state", v.stored_state},
          {"started_at", v.started_at},
          {"uptime_seconds", v.uptime_seconds},
          {"heartbeat_age_seconds", v.heartbeat_age_seconds},
          {"interval_seconds", v.interval_seconds},
          {"cycles", v.cycles},
          {"cycle_errors", v.cycle_errors},
          {"consecutive_failures", v.consecutive_failures},
          {"items_processed", v.items_processed},
          {"last_cycle_seconds", or_null(v.last_cycle_seconds)},
          {"last_success_age_seconds", or_null(v.last_success_age_seconds)},
          {"last_error", or_null(v.last_error)},
          {"last_error_age_seconds", or_null(v.last_error_age_seconds)},
          {"leader", or_null(v.leader)},
          {"health_port", or_null(v.health_port)},
          {"stats", stats}};
}

}  // namespace fleet::runtime
