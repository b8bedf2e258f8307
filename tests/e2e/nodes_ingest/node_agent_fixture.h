// Helpers for the tests of what node agents call on the api-gateway (issue 13): registration
// tokens inserted straight into the database (the admin API is another area's), registration,
// and requests with a node credential.
#pragma once

#include <string>

#include "auth/node_credentials.h"
#include "gateway_fixture.h"

namespace fleet::test {

// Inserts a registration token; returns the token text. `extra_sql` sets columns, e.g.
// "max_uses = 2", applied by an UPDATE after the insert.
inline std::string insert_registration_token(TestDatabase& db, const std::string& extra_sql = "",
                                             const std::string& expires =
                                                 "now() + interval '1 "
                                                 "day'") {
  const auto t = auth::generate_registration_token();
  db.exec(
      "INSERT INTO registration_tokens (token_id, token_hash, expires_at, created_by, site, "
      "labels) VALUES ('" +
      t.token_id + "', '" + t.hash + "', " + expires + ", 'test', 'site-a', '{\"rack\": \"r1\"}')");
  if (!extra_sql.empty())
    db.exec("UPDATE registration_tokens SET " + extra_sql + " WHERE token_id = '" + t.token_id +
            "'");
  return t.token;
}

inline nlohmann::json registration_body(const std::string& token,
                                        const std::string& hostname = "host-a",
                                        const std::string& machine_id = "") {
  nlohmann::json b = {{"token", token},
                      {"hostname", hostname},
                      {"addresses", {"127.0.0.1", "::1"}},
                      {"capacity", {{"cpu_cores", 4}, {"memory_mb", 8192}, {"disk_gb", 100.5}}},
                      {"os", "Debian 12"},
                      {"kernel", "6.1.0"},
                      {"engine", "Docker"},
                      {"engine_version", "24.0"},
                      {"agent_version", "0.1.0"}};
  if (!machine_id.empty()) b["machine_id"] = machine_id;
  return b;
}

inline ApiAnswer as_node(GatewayFixture& gw, const std::string& credential,
                         const std::string& method, const std::string& path,
                         const std::string& body = "") {
  return gw.request(method, path, body, {{"Authorization", "Bearer " + credential}});
}

struct RegisteredNode {
  std::int64_t id = 0;
  std::string credential;
};

inline RegisteredNode register_node(GatewayFixture& gw, const std::string& hostname,
                                    const std::string& machine_id = "") {
  const std::string token = insert_registration_token(gw.db);
  ApiAnswer a = gw.request("POST", "/api/nodes/register",
                           registration_body(token, hostname, machine_id).dump());
  if (a.status != 201) throw std::runtime_error("registration failed: " + a.raw);
  return {a.body["node_id"].get<std::int64_t>(), a.body["credential"].get<std::string>()};
}

inline nlohmann::json heartbeat_body(double cpu = 12.5, std::int64_t seq = 1) {
  return {{"seq", seq},
          {"sent_at", "2026-01-01T00:00:00Z"},
          {"cpu_percent", cpu},
          {"memory_percent", 40},
          {"disk_percent", 55.5},
          {"containers", 3},
          {"containers_running", 2},
          {"container_list",
           {{{"id", "abc123"},
             {"name", "web"},
             {"image", "nginx:1.25"},
             {"state", "running"},
             {"status", "Up 2 hours"},
             {"labels", {{"fleetward.managed", "true"}}}}}}};
}

inline std::string path_of(std::int64_t node, const std::string& rest) {
  return "/api/nodes/" + std::to_string(node) + rest;
}

}  // namespace fleet::test
