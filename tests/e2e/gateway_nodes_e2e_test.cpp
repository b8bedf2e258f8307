// api-gateway: the operator's side of container host nodes (issue 13): registration tokens, the
// installer (run for real with bash into a temporary prefix), node lists, drain/undrain, removal,
// credential revocation, stats and status history.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include "gateway_fixture.h"
#include "raw_http.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::string error_field(const ApiAnswer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"]["field"].is_string()
             ? a.body["error"]["field"].get<std::string>()
             : "";
}

std::string error_message(const ApiAnswer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"]["message"].is_string()
             ? a.body["error"]["message"].get<std::string>()
             : "";
}

// A node as registration leaves it, then changed by heartbeats: inserted directly.
struct NodeRow {
  std::int64_t id = 0;
  std::string name;
  std::string status = "online";
  std::string site;  // "" = NULL
  std::string pool = "default";
  std::string addresses = "{}";  // inet[] literal
  int cores = 4;
  long memory_mb = 8000;
  double disk_gb = 100;
  std::optional<double> cpu, memory, disk;  // unset: no heartbeat yet
  std::string container_list = "[]";
};

void insert_node(TestDatabase& db, const NodeRow& n) {
  auto num = [](const std::optional<double>& v) { return v ? std::to_string(*v) : "NULL"; };
  db.exec("INSERT INTO workers (id, kind, name, status, site) VALUES (" + std::to_string(n.id) +
          ", 'node', '" + n.name + "', '" + n.status + "', " +
          (n.site.empty() ? "NULL" : "'" + n.site + "'") + ")");
  db.exec(
      "INSERT INTO nodes (worker_id, hostname, addresses, pool, cpu_cores, memory_mb, disk_gb, "
      "credential_hash, cpu_percent, memory_percent, disk_percent, containers, "
      "containers_running, last_heartbeat_at, container_list, os, engine) VALUES (" +
      std::to_string(n.id) + ", '" + n.name + ".example', '" + n.addresses + "', '" + n.pool +
      "', " + std::to_string(n.cores) + ", " + std::to_string(n.memory_mb) + ", " +
      std::to_string(n.disk_gb) + ", repeat('ab', 32), " + num(n.cpu) + ", " + num(n.memory) +
      ", " + num(n.disk) + ", " + (n.cpu ? "3, 2" : "NULL, NULL") + ", " +
      (n.cpu ? "now() - interval '30 seconds'" : "NULL") + ", '" + n.container_list +
      "'::jsonb, 'Debian 12', 'Docker')");
}

// Seven nodes with known figures (the stats test checks sums and means over them).
void seed_nodes(TestDatabase& db) {
  insert_node(db, {.id = 1,
                   .name = "alpha",
                   .status = "online",
                   .site = "hall-1",
                   .pool = "gpu",
                   .addresses = "{10.0.0.1,192.168.1.1}",
                   .cores = 4,
                   .memory_mb = 8000,
                   .disk_gb = 100,
                   .cpu = 50,
                   .memory = 25,
                   .disk = 10});
  insert_node(db, {.id = 2,
                   .name = "bravo",
                   .status = "unhealthy",
                   .site = "hall-1",
                   .addresses = "{10.0.0.2}",
                   .cores = 8,
                   .memory_mb = 16000,
                   .disk_gb = 200,
                   .cpu = 95,
                   .memory = 50,
                   .disk = 20});
  insert_node(db, {.id = 3,
                   .name = "charlie",
                   .status = "draining",
                   .site = "hall-2",
                   .pool = "gpu",
                   .addresses = "{10.0.0.3}",
                   .cores = 2,
                   .memory_mb = 4000,
                   .disk_gb = 50,
                   .cpu = 10,
                   .memory = 75,
                   .disk = 30});
  insert_node(db, {.id = 4,
                   .name = "delta",
                   .status = "offline",
                   .cores = 16,
                   .memory_mb = 32000,
                   .disk_gb = 500,
                   .cpu = 99,
                   .memory = 99,
                   .disk = 99});
  insert_node(
      db,
      {.id = 5, .name = "echo", .status = "pending", .cores = 1, .memory_mb = 1000, .disk_gb = 10});
  insert_node(db, {.id = 6,
                   .name = "foxtrot",
                   .status = "removed",
                   .cores = 64,
                   .memory_mb = 64000,
                   .disk_gb = 1000,
                   .cpu = 1,
                   .memory = 1,
                   .disk = 1});
  insert_node(
      db,
      {.id = 7, .name = "golf", .status = "online", .cores = 2, .memory_mb = 2000, .disk_gb = 20});
  db.exec("SELECT setval('workers_id_seq', 100)");
}

std::vector<std::int64_t> ids_of(const json& page) {
  std::vector<std::int64_t> ids;
  for (const auto& i : page["items"])
    ids.push_back(i["id"].get<std::int64_t>());
  return ids;
}

json create_token(GatewayFixture& gw, const std::string& body = "{}") {
  auto a = gw.as("admin", "POST", "/api/nodes/registration-tokens", body);
  INFO(a.raw);
  REQUIRE(a.status == 201);
  return a.body;
}

// "/api/nodes/install-script?token=..." anonymously.
ApiAnswer fetch(GatewayFixture& gw, const std::string& what, const std::string& token) {
  return gw.request("GET", "/api/nodes/" + what + "?token=" + token);
}

std::string uses_of(GatewayFixture& gw, const json& token) {
  return gw.db.scalar("SELECT uses FROM registration_tokens WHERE id = " +
                      std::to_string(token["id"].get<std::int64_t>()));
}

int mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 07777);
}

}  // namespace

TEST_CASE("registration tokens: made by admins, shown once, stored hashed, listed with their state",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;

  // Validation: a 400 naming the field, nothing stored.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"max_uses": 0})", "max_uses"},
      {R"({"max_uses": 100001})", "max_uses"},
      {R"({"expires_in_hours": 0})", "expires_in_hours"},
      {R"({"expires_in_hours": 721})", "expires_in_hours"},
      {R"({"expires_in_hours": "24"})", "expires_in_hours"},
      {R"({"pool": "Big Pool"})", "pool"},
      {R"({"site": ""})", "site"},
      {R"({"labels": {"rack": 3}})", "labels"},
      {R"({"labels": "rack=3"})", "labels"},
      {R"({"description": ")" + std::string(501, 'x') + R"("})", "description"},
      {R"({"colour": "red"})", "colour"},
  };
  for (const auto& [body, field] : bad) {
    auto a = gw.as("admin", "POST", "/api/nodes/registration-tokens", body);
    INFO(body << " -> " << a.raw);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  CHECK(gw.db.count("registration_tokens") == 0);

  // Only admins make, list and revoke them.
  for (const char* who : {"viewer", "operator"}) {
    CHECK(gw.as(who, "POST", "/api/nodes/registration-tokens", "{}").status == 403);
    CHECK(gw.as(who, "GET", "/api/nodes/registration-tokens").status == 403);
  }
  CHECK(gw.as("", "POST", "/api/nodes/registration-tokens", "{}").status == 401);
  CHECK(gw.db.count("registration_tokens") == 0);

  json t = create_token(gw, R"({"description": "rack 7", "site": "hall-1", "pool": "gpu",
      "labels": {"rack": "7"}, "max_uses": 2, "expires_in_hours": 48})");
  const std::string token = t["token"];
  CHECK(std::regex_match(token, std::regex("^fwr_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$")));
  CHECK(token.substr(4, 12) == t["token_id"].get<std::string>());
  CHECK(t["state"] == "active");
  CHECK(t["uses"] == 0);
  CHECK(t["max_uses"] == 2);
  CHECK(t["site"] == "hall-1");
  CHECK(t["pool"] == "gpu");
  CHECK(t["labels"] == json{{"rack", "7"}});
  CHECK(t["created_by"] == "admin");
  CHECK(gw.db.scalar("SELECT round(extract(epoch FROM expires_at - created_at) / 3600) FROM "
                     "registration_tokens") == "48");
  CHECK(t["install_command"] == "curl -fsSL 'http://127.0.0.1:" + std::to_string(gw.port) +
                                    "/api/nodes/install-script?token=" + token + "' | sudo bash");

  // Stored: its SHA-256 only. Neither the table nor the audit log holds the secret.
  const std::string secret = token.substr(17);
  CHECK(gw.db.scalar("SELECT token_hash FROM registration_tokens") == auth::api_key_hash(token));
  CHECK(gw.db.count("SELECT 1 FROM registration_tokens r WHERE row_to_json(r)::text LIKE '%" +
                    secret + "%'") == 0);
  CHECK(gw.db.count("SELECT 1 FROM audit_log a WHERE row_to_json(a)::text LIKE '%" + secret +
                    "%'") == 0);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/nodes/registration-tokens' "
                    "AND target = 'registration-token:" +
                    t["token_id"].get<std::string>() + "' AND status = 201") == 1);

  // The list never shows the token.
  auto list = gw.as("admin", "GET", "/api/nodes/registration-tokens");
  REQUIRE(list.status == 200);
  CHECK(list.body["total"] == 1);
  CHECK_FALSE(list.body["items"][0].contains("token"));
  CHECK(list.raw.find(secret) == std::string::npos);
  CHECK(list.body["items"][0]["state"] == "active");

  // The states: used up, expired, revoked (which wins over the others).
  json used = create_token(gw);
  json expired = create_token(gw);
  json revoked = create_token(gw);
  gw.db.exec("UPDATE registration_tokens SET uses = max_uses WHERE id = " +
             std::to_string(used["id"].get<std::int64_t>()));
  gw.db.exec(
      "UPDATE registration_tokens SET expires_at = now() - interval '1 minute', "
      "created_at = now() - interval '2 days' WHERE id = " +
      std::to_string(expired["id"].get<std::int64_t>()));
  const std::string revoke_path =
      "/api/nodes/registration-tokens/" + std::to_string(revoked["id"].get<std::int64_t>());
  CHECK(gw.as("operator", "DELETE", revoke_path).status == 403);
  auto r = gw.as("admin", "DELETE", revoke_path);
  REQUIRE(r.status == 200);
  CHECK(r.body["state"] == "revoked");
  CHECK_FALSE(r.body["revoked_at"].is_null());
  CHECK(gw.as("admin", "DELETE", "/api/nodes/registration-tokens/999").status == 404);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'DELETE "
                    "/api/nodes/registration-tokens/{id}' AND status = 200") == 1);

  std::map<std::string, std::string> states;
  auto listed = gw.as("admin", "GET", "/api/nodes/registration-tokens");
  for (const auto& i : listed.body["items"])
    states[i["token_id"].get<std::string>()] = i["state"].get<std::string>();
  CHECK(states[t["token_id"].get<std::string>()] == "active");
  CHECK(states[used["token_id"].get<std::string>()] == "used");
  CHECK(states[expired["token_id"].get<std::string>()] == "expired");
  CHECK(states[revoked["token_id"].get<std::string>()] == "revoked");

  // Filter and pages (newest first).
  auto only = gw.as("admin", "GET", "/api/nodes/registration-tokens?state=expired");
  REQUIRE(only.body["items"].size() == 1);
  CHECK(only.body["items"][0]["id"] == expired["id"]);
  auto page = gw.as("admin", "GET", "/api/nodes/registration-tokens?limit=2&offset=1");
  CHECK(page.body["total"] == 4);
  CHECK(ids_of(page.body) == std::vector<std::int64_t>{expired["id"], used["id"]});
  auto wrong = gw.as("admin", "GET", "/api/nodes/registration-tokens?state=fresh");
  CHECK(wrong.status == 400);
  CHECK(error_field(wrong) == "state");
}

TEST_CASE("the install script and agent download check the token without spending a use",
          "[gateway][nodes][e2e]") {
  const std::string dir = make_temp_dir("nodes-agent");
  write_file(dir + "/node-agent", "#!/bin/sh\necho fake agent\n");
  GatewayFixture gw({"--set", "nodes.agent_binary=" + dir + "/node-agent"});
  json t = create_token(gw, R"({"max_uses": 1})");
  const std::string token = t["token"];

  auto script = fetch(gw, "install-script", token);
  REQUIRE(script.status == 200);
  CHECK(script.headers.find("Content-Type")->second.rfind("text/x-shellscript", 0) == 0);
  CHECK(script.raw.rfind("#!/usr/bin/env bash\n", 0) == 0);
  CHECK_THAT(script.raw, Contains("set -euo pipefail"));
  CHECK_THAT(script.raw, Contains("TOKEN='" + token + "'"));
  CHECK_THAT(script.raw, Contains("GATEWAY='http://127.0.0.1:" + std::to_string(gw.port) + "'"));
  auto agent = fetch(gw, "agent-binary", token);
  REQUIRE(agent.status == 200);
  CHECK(agent.raw == "#!/bin/sh\necho fake agent\n");
  CHECK(agent.headers.find("Content-Type")->second == "application/octet-stream");
  CHECK(uses_of(gw, t) == "0");

  // Refusals: 401 with the reason, and still no use spent.
  const std::string unknown = "fwr_AAAAAAAAAAAA_" + std::string(43, 'b');
  CHECK(fetch(gw, "install-script", unknown).status == 401);
  CHECK_THAT(error_message(fetch(gw, "install-script", unknown)), Contains("unknown"));
  CHECK(fetch(gw, "install-script", "fwr_bad").status == 401);
  CHECK(fetch(gw, "agent-binary", unknown).status == 401);
  auto missing = gw.request("GET", "/api/nodes/install-script");
  CHECK(missing.status == 400);
  CHECK(error_field(missing) == "token");

  const std::string id = std::to_string(t["id"].get<std::int64_t>());
  gw.db.exec(
      "UPDATE registration_tokens SET expires_at = now() - interval '1 second', "
      "created_at = now() - interval '1 day' WHERE id = " +
      id);
  CHECK_THAT(error_message(fetch(gw, "install-script", token)), Contains("expired"));
  CHECK(fetch(gw, "agent-binary", token).status == 401);
  gw.db.exec(
      "UPDATE registration_tokens SET expires_at = now() + interval '1 hour', uses = 1 "
      "WHERE id = " +
      id);
  auto used = fetch(gw, "install-script", token);
  CHECK(used.status == 401);
  CHECK_THAT(error_message(used), Contains("used up (1 of 1 uses)"));
  gw.db.exec("UPDATE registration_tokens SET uses = 0 WHERE id = " + id);
  REQUIRE(fetch(gw, "install-script", token).status == 200);
  REQUIRE(gw.as("admin", "DELETE", "/api/nodes/registration-tokens/" + id).status == 200);
  auto revoked = fetch(gw, "install-script", token);
  CHECK(revoked.status == 401);
  CHECK_THAT(error_message(revoked), Contains("revoked"));
  CHECK(revoked.raw.find(token) == std::string::npos);
  CHECK(uses_of(gw, t) == "0");

  // A Host header that is not a host is refused, not embedded in a script.
  json t2 = create_token(gw);
  const std::string token2 = t2["token"];
  auto hostile = raw_exchange("127.0.0.1", gw.port,
                              "GET /api/nodes/install-script?token=" + token2 +
                                  " HTTP/1.1\r\nHost: x';touch /tmp/pwned;'\r\n"
                                  "Connection: close\r\n\r\n");
  REQUIRE(hostile.ok());
  CHECK(hostile.status == 400);
  CHECK(hostile.json()["error"]["field"] == "Host");

  // No agent file to serve: 404 JSON.
  std::filesystem::remove(dir + "/node-agent");
  auto absent = fetch(gw, "agent-binary", token2);
  CHECK(absent.status == 404);
  CHECK(absent.body["error"]["code"] == "not_found");
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "the install script, run by bash into a prefix, installs the agent, registers and "
    "writes the unit",
    "[gateway][nodes][e2e]") {
  const std::string dir = make_temp_dir("nodes-install");
  // A fake node-agent: records its arguments, writes a config where it was told to.
  const std::string fake =
      "#!/bin/sh\n"
      "printf '%s\\n' \"$@\" > \"$FAKE_AGENT_LOG\"\n"
      "while [ $# -gt 0 ]; do\n"
      "  if [ \"$1\" = --config ]; then echo '{}' > \"$2\"; fi\n"
      "  shift\n"
      "done\n";
  write_file(dir + "/node-agent", fake);
  GatewayFixture gw({"--set", "nodes.agent_binary=" + dir + "/node-agent"});
  json t = create_token(gw);
  const std::string token = t["token"];
  const std::string url = "http://127.0.0.1:" + std::to_string(gw.port);

  auto script = fetch(gw, "install-script", token);
  REQUIRE(script.status == 200);
  write_file(dir + "/install.sh", script.raw);
  const std::string root = dir + "/root";
  Process::Options o;
  o.env = {
      {"FLEET_PREFIX", root}, {"FLEET_NO_SYSTEMD", "1"}, {"FAKE_AGENT_LOG", dir + "/agent-args"}};
  auto ran = run("/bin/bash", {dir + "/install.sh"}, o);
  INFO(ran.out << ran.err);
  REQUIRE(ran.code == 0);

  const std::string agent = root + "/usr/local/bin/node-agent";
  CHECK(read_file(agent) == fake);
  CHECK(mode_of(agent) == 0755);
  const std::string config = root + "/etc/fleetward/node-agent.json";
  CHECK(read_file(dir + "/agent-args") ==
        "register\n--gateway\n" + url + "\n--token\n" + token + "\n--config\n" + config + "\n");
  CHECK(mode_of(config) == 0600);
  CHECK(mode_of(root + "/etc/fleetward") == 0700);
  const std::string unit = read_file(root + "/etc/systemd/system/fleetward-node-agent.service");
  CHECK_THAT(unit, Contains("ExecStart=" + agent + " --config " + config + "\n"));
  CHECK_THAT(unit, Contains("Restart=always\n"));
  CHECK_THAT(unit, Contains("NoNewPrivileges=yes\n"));
  CHECK_THAT(unit, Contains("WantedBy=multi-user.target\n"));
  CHECK(ran.out.find(token) == std::string::npos);  // the token is not echoed
  CHECK(uses_of(gw, t) == "0");                     // the fake agent registers nothing

  // FLEET_SYSTEMD_DIR moves the unit.
  o.env["FLEET_SYSTEMD_DIR"] = dir + "/units";
  REQUIRE(run("/bin/bash", {dir + "/install.sh"}, o).code == 0);
  CHECK_THAT(read_file(dir + "/units/fleetward-node-agent.service"), Contains("ExecStart="));

  // With the token revoked, the download fails and nothing is installed or registered.
  REQUIRE(gw.as("admin", "DELETE",
                "/api/nodes/registration-tokens/" + std::to_string(t["id"].get<std::int64_t>()))
              .status == 200);
  o.env["FLEET_PREFIX"] = dir + "/root2";
  std::filesystem::remove(dir + "/agent-args");
  auto refused = run("/bin/bash", {dir + "/install.sh"}, o);
  CHECK(refused.code != 0);
  CHECK_THAT(refused.err, Contains("could not download the node-agent"));
  CHECK_FALSE(std::filesystem::exists(dir + "/root2/usr/local/bin/node-agent"));
  CHECK_FALSE(std::filesystem::exists(dir + "/agent-args"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a nodes.public_url that could break out of the script's quotes stops the gateway",
          "[gateway][nodes][e2e]") {
  TestDatabase db;
  auto r = run(binary("api-gateway"),
               {"--config-check", "--set", "nodes.public_url=http://h/'$(touch /tmp/pwned)'"},
               worker_env(db));
  CHECK(r.code == 2);
  CHECK_THAT(r.err + r.out, Contains("nodes.public_url"));
}

TEST_CASE("nodes: list with filters and pages, detail, and stats computed over known nodes",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  seed_nodes(gw.db);

  auto all = gw.as("viewer", "GET", "/api/nodes");
  REQUIRE(all.status == 200);
  CHECK(all.body["total"] == 6);  // removed nodes only when asked for
  CHECK(ids_of(all.body) == std::vector<std::int64_t>{1, 2, 3, 4, 5, 7});
  CHECK(all.body["limit"] == 100);
  CHECK(all.body["offset"] == 0);
  const json& alpha = all.body["items"][0];
  CHECK(alpha["name"] == "alpha");
  CHECK(alpha["hostname"] == "alpha.example");
  CHECK(alpha["addresses"] == json::array({"10.0.0.1", "192.168.1.1"}));
  CHECK(alpha["capacity"] == json{{"cpu_cores", 4}, {"memory_mb", 8000}, {"disk_gb", 100.0}});
  CHECK(alpha["load"]["cpu_percent"] == 50.0);
  CHECK(alpha["load"]["average"].get<double>() == Approx((50 + 25 + 10) / 3.0));
  CHECK(alpha["containers"] == 3);
  CHECK(alpha["containers_running"] == 2);
  CHECK(alpha["heartbeat_age_s"].get<std::int64_t>() >= 30);
  CHECK(alpha["draining"] == false);
  CHECK(alpha["credential_revoked"] == false);
  const json& echo = all.body["items"][4];
  CHECK(echo["last_heartbeat_at"].is_null());
  CHECK(echo["heartbeat_age_s"].is_null());
  CHECK(echo["load"]["average"].is_null());
  CHECK(all.body["items"][2]["draining"] == true);

  auto ids = [&](const std::string& query) {
    auto a = gw.as("viewer", "GET", "/api/nodes?" + query);
    INFO(query << " -> " << a.raw);
    REQUIRE(a.status == 200);
    return ids_of(a.body);
  };
  CHECK(ids("status=removed") == std::vector<std::int64_t>{6});
  CHECK(ids("status=online") == std::vector<std::int64_t>{1, 7});
  CHECK(ids("site=hall-1") == std::vector<std::int64_t>{1, 2});
  CHECK(ids("pool=gpu") == std::vector<std::int64_t>{1, 3});
  CHECK(ids("pool=gpu&site=hall-2") == std::vector<std::int64_t>{3});
  CHECK(ids("q=ARLI") == std::vector<std::int64_t>{3});
  CHECK(ids("q=192.168.1") == std::vector<std::int64_t>{1});
  CHECK(ids("q=100%25") == std::vector<std::int64_t>{});  // % is literal
  CHECK(ids("limit=2&offset=2") == std::vector<std::int64_t>{3, 4});
  auto paged = gw.as("viewer", "GET", "/api/nodes?limit=2&offset=4");
  CHECK(paged.body["total"] == 6);
  CHECK(paged.body["offset"] == 4);
  for (const auto& [query, field] :
       std::vector<std::pair<std::string, std::string>>{{"status=sleeping", "status"},
                                                        {"limit=0", "limit"},
                                                        {"limit=1001", "limit"},
                                                        {"offset=-1", "offset"},
                                                        {"limit=x", "limit"}}) {
    auto a = gw.as("viewer", "GET", "/api/nodes?" + query);
    INFO(query << " -> " << a.raw);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }

  auto detail = gw.as("viewer", "GET", "/api/nodes/1");
  REQUIRE(detail.status == 200);
  CHECK(detail.body["os"] == "Debian 12");
  CHECK(detail.body["engine"] == "Docker");
  CHECK(detail.body["machine_id"].is_null());
  CHECK(detail.body["over_limit"] == json::array());
  CHECK(detail.body["container_list"] == json::array());
  CHECK(detail.body["credential_revoked_at"].is_null());
  CHECK(detail.body["registered_at"].is_string());
  CHECK(gw.as("viewer", "GET", "/api/nodes/999").status == 404);
  // A worker that is not a node is not found here.
  gw.db.exec("INSERT INTO workers (id, kind, name) VALUES (50, 'asic', 'miner')");
  CHECK(gw.as("viewer", "GET", "/api/nodes/50").status == 404);

  auto stats = gw.as("viewer", "GET", "/api/nodes/stats");
  REQUIRE(stats.status == 200);
  const json& s = stats.body;
  CHECK(s["total"] == 6);
  CHECK(s["by_status"] == json{{"pending", 1},
                               {"online", 2},
                               {"unhealthy", 1},
                               {"draining", 1},
                               {"offline", 1},
                               {"unreachable", 0}});
  CHECK(s["capacity"]["cpu_cores"] == 4 + 8 + 2 + 16 + 1 + 2);
  CHECK(s["capacity"]["memory_mb"] == 8000 + 16000 + 4000 + 32000 + 1000 + 2000);
  CHECK(s["capacity"]["disk_gb"].get<double>() == Approx(100 + 200 + 50 + 500 + 10 + 20));
  // Used and averages: online, unhealthy and draining nodes with a heartbeat (1, 2, 3).
  CHECK(s["used"]["cpu_cores"].get<double>() == Approx(4 * 0.5 + 8 * 0.95 + 2 * 0.1));
  CHECK(s["used"]["memory_mb"].get<double>() == Approx(8000 * 0.25 + 16000 * 0.5 + 4000 * 0.75));
  CHECK(s["used"]["disk_gb"].get<double>() == Approx(100 * 0.1 + 200 * 0.2 + 50 * 0.3));
  const double cpu = (50 + 95 + 10) / 3.0, memory = (25 + 50 + 75) / 3.0,
               disk = (10 + 20 + 30) / 3.0;
  CHECK(s["average_load"]["cpu_percent"].get<double>() == Approx(cpu));
  CHECK(s["average_load"]["memory_percent"].get<double>() == Approx(memory));
  CHECK(s["average_load"]["disk_percent"].get<double>() == Approx(disk));
  CHECK(s["average_load"]["overall"].get<double>() == Approx((cpu + memory + disk) / 3));
}

TEST_CASE("nodes: operators drain and undrain, with the reason in the status history",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  seed_nodes(gw.db);

  CHECK(gw.as("viewer", "POST", "/api/nodes/1/drain").status == 403);
  CHECK(gw.as("operator", "POST", "/api/nodes/999/drain").status == 404);
  auto bad = gw.as("operator", "POST", "/api/nodes/1/drain", R"({"why": "x"})");
  CHECK(bad.status == 400);
  CHECK(error_field(bad) == "why");
  bad = gw.as("operator", "POST", "/api/nodes/1/drain",
              R"({"reason": ")" + std::string(501, 'r') + R"("})");
  CHECK(bad.status == 400);
  CHECK(error_field(bad) == "reason");
  CHECK(gw.db.scalar("SELECT status FROM workers WHERE id = 1") == "online");

  auto drained = gw.as("operator", "POST", "/api/nodes/1/drain", R"({"reason": "kernel 6.1"})");
  REQUIRE(drained.status == 200);
  CHECK(drained.body["status"] == "draining");
  CHECK(drained.body["status_reason"] == "drained by operator: kernel 6.1");
  CHECK(drained.body["draining"] == true);
  CHECK(drained.body["drain_requested_by"] == "operator");
  CHECK(gw.db.scalar("SELECT from_status || '>' || to_status || ' ' || reason || ' ' || "
                     "changed_by FROM worker_status_history WHERE worker_id = 1") ==
        "online>draining drained by operator: kernel 6.1 api-gateway");
  CHECK(gw.as("operator", "POST", "/api/nodes/1/drain").status == 409);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/nodes/{id}/drain' AND "
                    "target = 'node:1' AND status = 200 AND actor = 'operator'") == 1);

  CHECK(gw.as("viewer", "POST", "/api/nodes/1/undrain").status == 403);
  auto undrained = gw.as("operator", "POST", "/api/nodes/1/undrain");
  REQUIRE(undrained.status == 200);
  CHECK(undrained.body["status"] == "pending");
  CHECK(undrained.body["status_reason"] == "undrained by operator");
  CHECK(undrained.body["drain_requested_at"].is_null());
  auto again = gw.as("operator", "POST", "/api/nodes/1/undrain");
  CHECK(again.status == 409);
  CHECK(error_field(again) == "status");

  auto history = gw.as("viewer", "GET", "/api/workers/1/status-history");
  REQUIRE(history.status == 200);
  REQUIRE(history.body["items"].size() == 2);
  CHECK(history.body["items"][0]["from"] == "draining");
  CHECK(history.body["items"][0]["to"] == "pending");
  CHECK(history.body["items"][0]["reason"] == "undrained by operator");
  CHECK(history.body["items"][0]["changed_by"] == "api-gateway");
  CHECK(history.body["items"][1]["to"] == "draining");
  CHECK(gw.as("viewer", "GET", "/api/workers/1/status-history?limit=1").body["items"].size() == 1);
  CHECK(gw.as("viewer", "GET", "/api/workers/999/status-history").status == 404);
  auto bad_limit = gw.as("viewer", "GET", "/api/workers/1/status-history?limit=0");
  CHECK(bad_limit.status == 400);
  CHECK(error_field(bad_limit) == "limit");

  // A removed node cannot be drained.
  CHECK(gw.as("operator", "POST", "/api/nodes/6/drain").status == 409);
}

TEST_CASE("nodes: admins revoke credentials and remove nodes, not while deployments remain",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  seed_nodes(gw.db);
  // Node 2 runs a container of a fleetward deployment and one that is not ours.
  gw.db.exec(R"(UPDATE nodes SET container_list = '[
      {"id": "a1", "name": "web-1", "image": "nginx", "state": "running", "status": "Up",
       "labels": {"fleetward.managed": "true", "fleetward.deployment": "12"}},
      {"id": "b2", "name": "other", "image": "redis", "state": "running", "status": "Up",
       "labels": {}}]'::jsonb WHERE worker_id = 2)");

  CHECK(gw.as("operator", "POST", "/api/nodes/1/credential/revoke").status == 403);
  auto revoked = gw.as("admin", "POST", "/api/nodes/1/credential/revoke");
  REQUIRE(revoked.status == 200);
  CHECK(revoked.body["credential_revoked"] == true);
  CHECK(revoked.body["status"] == "online");  // revoking alone does not change the status
  const std::string at =
      gw.db.scalar("SELECT credential_revoked_at FROM nodes WHERE worker_id = 1");
  CHECK_FALSE(at.empty());
  REQUIRE(gw.as("admin", "POST", "/api/nodes/1/credential/revoke").status == 200);
  CHECK(gw.db.scalar("SELECT credential_revoked_at FROM nodes WHERE worker_id = 1") == at);
  CHECK(gw.as("admin", "POST", "/api/nodes/999/credential/revoke").status == 404);

  CHECK(gw.as("operator", "DELETE", "/api/nodes/2").status == 403);
  auto refused = gw.as("admin", "DELETE", "/api/nodes/2");
  CHECK(refused.status == 409);
  CHECK(error_field(refused) == "force");
  CHECK_THAT(error_message(refused), Contains("1 container"));
  CHECK(gw.db.scalar("SELECT status FROM workers WHERE id = 2") == "unhealthy");
  CHECK(gw.db.scalar("SELECT credential_revoked_at IS NULL FROM nodes WHERE worker_id = 2") == "t");
  auto bad = gw.as("admin", "DELETE", "/api/nodes/2?force=maybe");
  CHECK(bad.status == 400);
  CHECK(error_field(bad) == "force");

  auto forced = gw.as("admin", "DELETE", "/api/nodes/2?force=true");
  REQUIRE(forced.status == 200);
  CHECK(forced.body["status"] == "removed");
  CHECK(forced.body["credential_revoked"] == true);
  CHECK_THAT(forced.body["status_reason"].get<std::string>(), Contains("removed by admin"));
  CHECK_THAT(forced.body["status_reason"].get<std::string>(), Contains("forced"));
  CHECK(gw.db.scalar("SELECT to_status FROM worker_status_history WHERE worker_id = 2") ==
        "removed");
  CHECK(gw.as("admin", "DELETE", "/api/nodes/2").status == 409);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'DELETE /api/nodes/{id}' AND "
                    "target = 'node:2' AND status = 200 AND details->>'force' = 'true'") == 1);

  // Without deployment containers no force is needed.
  auto removed = gw.as("admin", "DELETE", "/api/nodes/5");
  REQUIRE(removed.status == 200);
  CHECK(removed.body["status"] == "removed");
  CHECK(gw.as("viewer", "GET", "/api/nodes/stats").body["total"] == 4);
}
