#include <algorithm>
#include <iostream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "commands.h"
#include "runtime/instance_listing.h"
#include "runtime/instance_state.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

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
  const auto instances =
      runtime::list_instances(tx, {.all = options.all, .service = options.service});
  if (options.json) {
    json out = json::array();
    for (const auto& v : instances)
      out.push_back(runtime::instance_json(v));
    std::cout << out.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return kOk;
  }
  if (instances.empty()) {
    std::cout << "no worker processes have reported"
              << (options.all ? "" : " in the last hour (--all shows older ones)") << "\n";
    return kOk;
  }
  Table table({"SERVICE", "INSTANCE", "VERSION", "STATE", "UPTIME", "LAST OK", "CYCLES", "ERRORS",
               "ITEMS", "LAST ERROR"});
  int stale = 0;
  for (const auto& v : instances) {
    std::string state = v.state;
    if (state == "stale") ++stale;
    if (v.leader) state += *v.leader ? " (leader)" : " (standby)";
    if (v.mode != "loop") state += " [" + v.mode + "]";
    std::string last_error;
    if (v.last_error)
      last_error = short_age(v.last_error_age_seconds.value_or(0)) + " ago: " + *v.last_error;
    table.add(
        {v.service, v.host + ":" + std::to_string(v.pid), v.version, state,
         short_age(v.uptime_seconds),
         v.last_success_age_seconds ? short_age(*v.last_success_age_seconds) + " ago" : "never",
         std::to_string(v.cycles), std::to_string(v.cycle_errors),
         std::to_string(v.items_processed), last_error});
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
