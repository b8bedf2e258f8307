// Routes of deployments (issue 14): where each service address (<deployment>.<organisation>) and
// container port reaches a replica now. migration-planner writes them; the API serves the table
// and the same table as a file a reverse proxy loads (JSON, HAProxy or nginx).
#include <algorithm>
#include <map>
#include <tuple>

#include <pqxx/pqxx>

#include "routes.h"
#include "routes_deployments.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;

// An address as it may appear in a proxy's configuration: an IP address or a host name, nothing
// that could end a directive. The planner writes node addresses; this is defence in depth.
bool safe_address(const std::string& address) {
  return !address.empty() && address.size() <= 253 &&
         std::all_of(address.begin(), address.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == ':' || c == '-';
         });
}

std::string endpoint(const std::string& address, std::int64_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

struct Backend {
  std::string service;
  std::int64_t container_port = 0;
  std::string protocol;
  std::vector<std::pair<std::int64_t, std::string>> servers;  // replica, address:port
};

// Backends in a stable order (service, port, protocol), servers by replica.
std::vector<Backend> backends_of(const json& routes) {
  std::map<std::tuple<std::string, std::int64_t, std::string>, Backend> by_key;
  for (const auto& r : routes) {
    const std::string address = r["address"].get<std::string>();
    if (!safe_address(address)) continue;
    const auto key =
        std::make_tuple(r["service"].get<std::string>(), r["container_port"].get<std::int64_t>(),
                        r["protocol"].get<std::string>());
    Backend& b = by_key[key];
    std::tie(b.service, b.container_port, b.protocol) = key;
    b.servers.emplace_back(r["replica"].get<std::int64_t>(),
                           endpoint(address, r["host_port"].get<std::int64_t>()));
  }
  std::vector<Backend> out;
  for (auto& [key, b] : by_key) {
    std::sort(b.servers.begin(), b.servers.end());
    out.push_back(std::move(b));
  }
  return out;
}

std::string backend_name(const Backend& b) {
  return b.service + "_" + std::to_string(b.container_port) + (b.protocol == "udp" ? "_udp" : "");
}

// HAProxy: one TCP backend per service and port (HAProxy does not proxy UDP: listed as comments).
std::string haproxy_file(const json& routes) {
  std::string out = "# fleetward routes: one backend per service address and container port\n";
  for (const auto& b : backends_of(routes)) {
    if (b.protocol == "udp") {
      out += "# " + backend_name(b) + ": UDP, not served by HAProxy\n";
      continue;
    }
    out += "\nbackend " + backend_name(b) + "\n    mode tcp\n    balance roundrobin\n";
    for (const auto& [replica, server] : b.servers)
      out += "    server replica-" + std::to_string(replica) + " " + server + " check\n";
  }
  return out;
}

// nginx (http or stream context): one upstream per service and port.
std::string nginx_file(const json& routes) {
  std::string out = "# fleetward routes: one upstream per service address and container port\n";
  for (const auto& b : backends_of(routes)) {
    out += "\nupstream " + backend_name(b) + " {\n";
    for (const auto& [replica, server] : b.servers)
      out += "    server " + server + ";  # replica " + std::to_string(replica) + "\n";
    out += "}\n";
  }
  return out;
}

json load_routes(pqxx::transaction_base& tx, const std::optional<std::int64_t>& deployment_id) {
  json items = json::array();
  for (const auto& r : tx.exec_params(
           "SELECT " + route_columns() + route_from() +
               "WHERE d.state <> 'deleted' AND ($1::bigint IS NULL OR r.deployment_id = $1) "
               "ORDER BY o.name, d.name, r.container_port, r.protocol, r.replica",
           deployment_id)) {
    items.push_back(route_json(r));
  }
  return items;
}

}  // namespace

const std::string& route_columns() {
  static const std::string columns =
      "d.name || '.' || o.name, r.deployment_id, r.replica, r.container_port, r.protocol, "
      "r.node_id, w.name, r.address, r.host_port, r.version, " +
      iso_sql("r.updated_at") + ", r.placement_id";
  return columns;
}

const std::string& route_from() {
  static const std::string from =
      " FROM routes r JOIN deployments d ON d.id = r.deployment_id "
      "JOIN organizations o ON o.id = d.organization_id LEFT JOIN workers w ON w.id = r.node_id ";
  return from;
}

json route_json(const pqxx::row& r) {
  return {{"service", r[0].as<std::string>()},     {"deployment_id", r[1].as<std::int64_t>()},
          {"replica", r[2].as<std::int64_t>()},    {"container_port", r[3].as<std::int64_t>()},
          {"protocol", r[4].as<std::string>()},    {"node_id", opt_int(r[5])},
          {"node_name", opt_text(r[6])},           {"address", r[7].as<std::string>()},
          {"host_port", r[8].as<std::int64_t>()},  {"version", r[9].as<std::int64_t>()},
          {"updated_at", r[10].as<std::string>()}, {"placement_id", opt_int(r[11])}};
}

const json& route_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"service", {{"type", "string"}, {"description", "<deployment>.<organisation>"}}},
        {"deployment_id", {{"type", "integer"}}},
        {"replica", {{"type", "integer"}}},
        {"container_port", {{"type", "integer"}}},
        {"protocol", {{"type", "string"}, {"enum", {"tcp", "udp"}}}},
        {"node_id", {{"type", "integer"}, {"nullable", true}}},
        {"node_name", {{"type", "string"}, {"nullable", true}}},
        {"address", {{"type", "string"}, {"description", "the node's first address"}}},
        {"host_port", {{"type", "integer"}}},
        {"version", {{"type", "integer"}, {"description", "+1 on every switch"}}},
        {"updated_at", {{"type", "string"}, {"format", "date-time"}}},
        {"placement_id", {{"type", "integer"}, {"nullable", true}}}}}};
  return schema;
}

void add_route_table_routes(Router& router) {
  router.add({.method = "GET",
              .path = "/api/routes",
              .tag = "deployments",
              .summary = "Where every service address and container port reaches its replicas "
                         "now (switched by migration-planner on every move)",
              .response_schema = {{"type", "object"},
                                  {"properties",
                                   {{"items", {{"type", "array"}, {"items", route_schema()}}}}}},
              .query_parameters = {query_param("deployment_id", "integer",
                                               "only this deployment's routes")},
              .handler = [](Call& call) {
                const auto deployment = call.query_opt_int("deployment_id", 1, INT64_MAX);
                json items;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { items = load_routes(tx, deployment); });
                return Reply{.body = {{"items", std::move(items)}}};
              }});

  router.add(
      {.method = "GET",
       .path = "/api/routes/file",
       .tag = "deployments",
       .summary = "The routes as a file a reverse proxy loads: format=json (the planner's "
                  "route file: {version, routes}), haproxy (backends) or nginx (upstreams); "
                  "one backend or upstream per service address and container port",
       .response_schema = {{"type", "object"},
                           {"properties",
                            {{"version", {{"type", "integer"}}},
                             {"routes", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}},
       .query_parameters = {query_param("format", "string", "json (default), haproxy or nginx")},
       .handler = [](Call& call) {
         const std::string format = call.query("format", 10).value_or("json");
         if (format != "json" && format != "haproxy" && format != "nginx") {
           throw ApiError::bad_request("query parameter 'format' must be json, haproxy or nginx",
                                       "format");
         }
         json routes;
         call.db().transact(
             [&](pqxx::transaction_base& tx) { routes = load_routes(tx, std::nullopt); });
         if (format == "haproxy")
           return Reply{.raw = haproxy_file(routes), .content_type = "text/plain; charset=utf-8"};
         if (format == "nginx")
           return Reply{.raw = nginx_file(routes), .content_type = "text/plain; charset=utf-8"};
         json file = {{"version", 1}, {"routes", json::array()}};
         for (const auto& r : routes) {
           file["routes"].push_back({{"service", r["service"]},
                                     {"replica", r["replica"]},
                                     {"container_port", r["container_port"]},
                                     {"protocol", r["protocol"]},
                                     {"address", r["address"]},
                                     {"host_port", r["host_port"]}});
         }
         return Reply{.body = std::move(file)};
       }});
}

}  // namespace fleet::gateway
