#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "commands.h"
#include "runtime/instance_state.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

constexpr const char* kInstances = R"sql(
SELECT instance_id, service, host, pid, version, mode, state,
       extract(epoch FROM now() - started_at)::float8,
       extract(epoch FROM now() - heartbeat_at)::float8,
       interval_ms, cycles, cycle_errors, consecutive_failures, items_processed,
       extract(epoch FROM now() - last_success_at)::float8,
       last_error,
       extract(epoch FROM now() - last_error_at)::float8,
       leader, health_port, stats::text,
       extract(epoch FROM CASE WHEN state IN ('starting', 'running', 'stopping') THEN now()
                               ELSE coalesce(stopped_at, heartbeat_at) END - started_at)::float8
  FROM service_instances
 WHERE ($1 OR state IN ('starting', 'running', 'stopping')
        OR coalesce(stopped_at, heartbeat_at) > now() - interval '1 hour')
   AND ($2 = '' OR service = $2)
 ORDER BY service, host, pid
)sql";

constexpr const char* kConnections = R"sql(
SELECT pid, coalesce(usename, ''), coalesce(application_name, ''),
       coalesce(host(client_addr), 'local'), coalesce(state, ''),
       extract(epoch FROM now() - backend_start)::float8,
       extract(epoch FROM now() - coalesce(state_change, backend_start))::float8,
       coalesce(wait_event_type || ':' || wait_event, ''),
       coalesce(left(regexp_replace(query, '\s+', ' ', 'g'), 200), ''),
       coalesce(datname, ''), backend_type
  FROM pg_stat_activity
 WHERE pid <> pg_backend_pid()
   AND ($1 OR (datname = current_database() AND backend_type = 'client backend'))
 ORDER BY application_name, pid
)sql";

}  // namespace

std::string effective_state(const std::string& state, double heartbeat_age_seconds,
                            double interval_seconds) {
  return runtime::instance_state(state, heartbeat_age_seconds, interval_seconds);
}

int show_status(Context& ctx, const StatusOptions& options) {
  pqxx::read_transaction tx(ctx.connection());
  pqxx::result rows = tx.exec_params(kInstances, options.all, options.service);
  if (options.json) {
    json out = json::array();
    for (const auto& r : rows) {
      const double interval_s = r[9].as<double>() / 1000;
      json item = {
          {"instance_id", r[0].as<std::string>()},
          {"service", r[1].as<std::string>()},
          {"host", r[2].as<std::string>()},
          {"pid", r[3].as<int>()},
          {"version", r[4].as<std::string>()},
          {"mode", r[5].as<std::string>()},
          {"state", effective_state(r[6].as<std::string>(), r[8].as<double>(), interval_s)},
          {"uptime_seconds", r[20].as<double>()},
          {"heartbeat_age_seconds", r[8].as<double>()},
          {"interval_seconds", interval_s},
          {"cycles", r[10].as<long long>()},
          {"cycle_errors", r[11].as<long long>()},
          {"consecutive_failures", r[12].as<int>()},
          {"items_processed", r[13].as<long long>()},
          {"stats", json::parse(r[19].as<std::string>())}};
      item["last_success_age_seconds"] = r[14].is_null() ? json() : json(r[14].as<double>());
      item["last_error"] = r[15].is_null() ? json() : json(r[15].as<std::string>());
      item["last_error_age_seconds"] = r[16].is_null() ? json() : json(r[16].as<double>());
      item["leader"] = r[17].is_null() ? json() : json(r[17].as<bool>());
      item["health_port"] = r[18].is_null() ? json() : json(r[18].as<int>());
      out.push_back(item);
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  if (rows.empty()) {
    std::cout << "no worker processes have reported"
              << (options.all ? "" : " in the last hour (--all shows older ones)") << "\n";
    return kOk;
  }
  Table table({"SERVICE", "INSTANCE", "VERSION", "STATE", "UPTIME", "LAST OK", "CYCLES", "ERRORS",
               "ITEMS", "LAST ERROR"});
  int stale = 0;
  for (const auto& r : rows) {
    std::string state =
        effective_state(r[6].as<std::string>(), r[8].as<double>(), r[9].as<double>() / 1000);
    if (state == "stale") ++stale;
    if (!r[17].is_null()) state += r[17].as<bool>() ? " (leader)" : " (standby)";
    if (r[5].as<std::string>() != "loop") state += " [" + r[5].as<std::string>() + "]";
    std::string last_error;
    if (!r[15].is_null())
      last_error = short_age(r[16].as<double>()) + " ago: " + r[15].as<std::string>();
    table.add({r[1].as<std::string>(), r[2].as<std::string>() + ":" + r[3].as<std::string>(),
               r[4].as<std::string>(), state, short_age(r[20].as<double>()),
               r[14].is_null() ? "never" : short_age(r[14].as<double>()) + " ago",
               r[10].as<std::string>(), r[11].as<std::string>(), r[13].as<std::string>(),
               last_error});
  }
  std::cout << table.render(70);
  if (stale > 0) {
    std::cout << stale << " stale: no heartbeat for several intervals; the process may have died "
              << "(check its logs and supervisor)\n";
  }
  return kOk;
}

int db_connections(Context& ctx, bool all, bool json_output) {
  pqxx::read_transaction tx(ctx.connection());
  pqxx::result rows = tx.exec_params(kConnections, all);
  auto settings = tx.exec1(
      "SELECT current_setting('max_connections')::int, "
      "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')");
  if (json_output) {
    json out = {{"max_connections", settings[0].as<int>()},
                {"client_connections", settings[1].as<int>()},
                {"connections", json::array()}};
    for (const auto& r : rows) {
      out["connections"].push_back({{"pid", r[0].as<int>()},
                                    {"user", r[1].as<std::string>()},
                                    {"application", r[2].as<std::string>()},
                                    {"client", r[3].as<std::string>()},
                                    {"state", r[4].as<std::string>()},
                                    {"age_seconds", r[5].as<double>()},
                                    {"state_age_seconds", r[6].as<double>()},
                                    {"wait", r[7].as<std::string>()},
                                    {"query", r[8].as<std::string>()},
                                    {"database", r[9].as<std::string>()},
                                    {"backend_type", r[10].as<std::string>()}});
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  Table table({"PID", "APPLICATION", "USER", "CLIENT", "STATE", "FOR", "AGE", "WAIT", "QUERY"});
  for (const auto& r : rows) {
    table.add({r[0].as<std::string>(), r[2].as<std::string>(), r[1].as<std::string>(),
               r[3].as<std::string>(), r[4].as<std::string>(), short_age(r[6].as<double>()),
               short_age(r[5].as<double>()), r[7].as<std::string>(), r[8].as<std::string>()});
  }
  std::cout << table.render(60);
  std::cout << settings[1].as<int>() << " client connections of max_connections "
            << settings[0].as<int>() << "\n";
  return kOk;
}

}  // namespace fleet::cli
