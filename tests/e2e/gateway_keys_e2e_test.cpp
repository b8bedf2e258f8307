// API keys and roles: lifetimes, no user management with a key, ingest keys, what a viewer sees
// (issues 16.6, 16.7, 16.8).
#include <catch2/catch.hpp>

#include <cctype>

#include "gateway_fixture.h"

using namespace fleet::test;
using nlohmann::json;

namespace {

// Days from now until a key's expiry, as the database has it.
double days_left(GatewayFixture& gw, std::int64_t key_id) {
  return std::stod(
      gw.db.scalar("SELECT extract(epoch FROM expires_at - now()) / 86400 FROM api_keys "
                   "WHERE id = " +
                   std::to_string(key_id)));
}

}  // namespace

TEST_CASE(
    "API keys expire after a default lifetime and never later than the maximum "
    "(issue 16.6)",
    "[gateway][keys][e2e]") {
  GatewayFixture gw(
      {"--set", "gateway.api_key_default_days=30", "--set", "gateway.api_key_max_days=100"});
  ApiAnswer plain = gw.as("operator", "POST", "/api/keys", R"({"name":"script"})");
  REQUIRE(plain.status == 201);
  CHECK_FALSE(plain.body["expires_at"].is_null());
  const double left = days_left(gw, plain.body["id"].get<std::int64_t>());
  CHECK(left > 29.9);
  CHECK(left < 30.1);

  ApiAnswer asked =
      gw.as("operator", "POST", "/api/keys", R"({"name":"short","expires_in_days":3})");
  REQUIRE(asked.status == 201);
  CHECK(days_left(gw, asked.body["id"].get<std::int64_t>()) < 3.1);

  ApiAnswer too_long =
      gw.as("operator", "POST", "/api/keys", R"({"name":"forever","expires_in_days":3650})");
  CHECK(too_long.status == 400);
  CHECK(too_long.body["error"]["field"] == "expires_in_days");

  // fleetctl's keys expire too (90 days unless told otherwise).
  auto made = run(binary("fleetctl"), {"keys", "create", "--user", "viewer", "--name", "cli"},
                  worker_env(gw.db));
  REQUIRE(made.code == 0);
  CHECK(gw.db.count("SELECT 1 FROM api_keys WHERE name = 'cli' AND expires_at > now() + "
                    "interval '89 days' AND expires_at < now() + interval '91 days'") == 1);
}

TEST_CASE(
    "an API key cannot create, change or delete users, an administrator's session can "
    "(issue 16.8)",
    "[gateway][keys][e2e]") {
  GatewayFixture gw;
  ApiAnswer key = gw.as("admin", "POST", "/api/keys", R"({"name":"automation"})");
  REQUIRE(key.status == 201);
  const httplib::Headers with_key{{"X-API-Key", key.body["key"].get<std::string>()}};
  const std::string user =
      R"({"username":"mallory","password":"a long enough password","role":"admin"})";

  ApiAnswer create = gw.request("POST", "/api/users", user, with_key);
  CHECK(create.status == 403);
  CHECK(create.body["error"]["message"].get<std::string>().find("session") != std::string::npos);
  const std::string viewer_id = gw.db.scalar("SELECT id FROM users WHERE username = 'viewer'");
  CHECK(gw.request("PATCH", "/api/users/" + viewer_id, R"({"password":"another long password"})",
                   with_key)
            .status == 403);
  CHECK(gw.request("DELETE", "/api/users/" + viewer_id, "", with_key).status == 403);
  CHECK(gw.db.count("SELECT 1 FROM users WHERE username = 'mallory'") == 0);
  // Reads with the key still work.
  CHECK(gw.request("GET", "/api/users", "", with_key).status == 200);
  // The administrator's session can.
  CHECK(gw.as("admin", "POST", "/api/users", user).status == 201);
}

TEST_CASE("an ingest key pushes readings and can do nothing else (issue 16.7)",
          "[gateway][keys][e2e]") {
  GatewayFixture gw;
  gw.db.exec("INSERT INTO workers (kind, name) VALUES ('device', 'sensor-1')");
  const std::string worker = gw.db.scalar("SELECT id FROM workers WHERE name = 'sensor-1'");
  ApiAnswer key = gw.as("operator", "POST", "/api/keys", R"({"name":"sensor","role":"ingest"})");
  REQUIRE(key.status == 201);
  CHECK(key.body["role"] == "ingest");
  const httplib::Headers with_key{{"X-API-Key", key.body["key"].get<std::string>()}};

  const std::string reading =
      R"({"worker_id":)" + worker + R"(,"metric":"temperature","value":21.5})";
  ApiAnswer pushed = gw.request("POST", "/api/readings", reading, with_key);
  CHECK(pushed.status / 100 == 2);
  CHECK(gw.db.count("SELECT 1 FROM readings WHERE worker_id = " + worker) == 1);

  // Nothing else: not even what a viewer may read.
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/summary"},
           {"GET", "/api/workers"},
           {"GET", "/api/miners"},
           {"GET", "/api/workers/" + worker},
           {"POST", "/api/workers/" + worker + "/commands"},
           {"POST", "/api/keys"}}) {
    INFO(method << " " << path);
    CHECK(gw.request(method, path, R"({"action":"reboot","name":"x"})", with_key).status == 403);
  }
  // A viewer cannot mint one (it may not push readings itself), and users cannot be ingest.
  CHECK(gw.as("viewer", "POST", "/api/keys", R"({"name":"s2","role":"ingest"})").status == 403);
  ApiAnswer user =
      gw.as("admin", "POST", "/api/users",
            R"({"username":"dev","password":"a long enough password","role":"ingest"})");
  CHECK(user.status == 400);
  CHECK(user.body["error"]["field"] == "role");
}

TEST_CASE("a viewer sees neither a device's configuration nor a pool's credentials (issue 16.8)",
          "[gateway][keys][e2e]") {
  GatewayFixture gw;
  gw.db.exec("INSERT INTO workers (kind, name) VALUES ('device', 'meter-1')");
  const std::string device = gw.db.scalar("SELECT id FROM workers WHERE name = 'meter-1'");
  gw.db.exec("INSERT INTO devices (worker_id, device_type, config) VALUES (" + device +
             R"(, 'power-meter', '{"endpoint":"http://10.0.0.5","token":"s3cret"}'))");
  ApiAnswer as_viewer = gw.as("viewer", "GET", "/api/workers/" + device);
  REQUIRE(as_viewer.status == 200);
  CHECK(as_viewer.body["device"]["device_type"] == "power-meter");
  CHECK_FALSE(as_viewer.body["device"].contains("config"));
  CHECK(as_viewer.raw.find("s3cret") == std::string::npos);
  ApiAnswer as_operator = gw.as("operator", "GET", "/api/workers/" + device);
  CHECK(as_operator.body["device"]["config"]["token"] == "s3cret");

  gw.db.exec("INSERT INTO workers (kind, name) VALUES ('asic', 'miner-1')");
  const std::string miner = gw.db.scalar("SELECT id FROM workers WHERE name = 'miner-1'");
  gw.db.exec("SELECT fleet_create_daily_partitions('statuses', 1, 1)");
  gw.db.exec("INSERT INTO statuses (worker_id, observed_at, pool_url, pool_user) VALUES (" + miner +
             ", now(), 'stratum+tcp://acct:pw@pool.example:3333', 'acct.rig7')");
  const std::string status = gw.db.scalar("SELECT id FROM statuses WHERE worker_id = " + miner);
  ApiAnswer viewer_status = gw.as("viewer", "GET", "/api/statuses/" + status);
  REQUIRE(viewer_status.status == 200);
  CHECK(viewer_status.body["pool_user"] == "***");
  CHECK(viewer_status.body["pool_url"] == "stratum+tcp://pool.example:3333");
  ApiAnswer operator_status = gw.as("operator", "GET", "/api/statuses/" + status);
  CHECK(operator_status.body["pool_user"] == "acct.rig7");
}

TEST_CASE("a change is committed with its audit row or not at all (issue 16.8)",
          "[gateway][audit][e2e]") {
  GatewayFixture gw;
  gw.db.exec("INSERT INTO workers (kind, name) VALUES ('device', 'pump-1')");
  const std::string id = gw.db.scalar("SELECT id FROM workers WHERE name = 'pump-1'");

  // Audited with the change: target and details are completed after the handler.
  CHECK(gw.as("operator", "PATCH", "/api/workers/" + id, R"({"name":"pump-2"})").status == 200);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'PATCH /api/workers/{id}' AND "
                    "status = 200 AND actor = 'operator'") == 1);

  // The audit log refuses rows (a full disk, a revoked grant...): the change must not happen.
  gw.db.exec(
      "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "RAISE EXCEPTION 'audit log unavailable'; END $$");
  gw.db.exec(
      "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION "
      "refuse_audit()");
  ApiAnswer refused = gw.as("operator", "PATCH", "/api/workers/" + id, R"({"name":"pump-3"})");
  CHECK(refused.status >= 500);
  CHECK(gw.db.scalar("SELECT name FROM workers WHERE id = " + id) == "pump-2");
}

namespace {

// Concrete URL for an OpenAPI path: ids and names that do not exist.
std::string concrete_path(std::string path) {
  for (std::size_t open; (open = path.find('{')) != std::string::npos;) {
    const std::size_t close = path.find('}', open);
    const std::string param = path.substr(open + 1, close - open - 1);
    const bool numeric = param.size() >= 2 && param.compare(param.size() - 2, 2, "id") == 0;
    path.replace(open, close - open + 1, numeric ? "999999" : "nosuch");
  }
  return path;
}

}  // namespace

TEST_CASE(
    "every route but POST /api/readings refuses an ingest key, also one whose owner was "
    "demoted (issue 16.7)",
    "[gateway][keys][e2e]") {
  GatewayFixture gw;
  gw.db.exec("INSERT INTO workers (id, kind, name) VALUES (5, 'device', 'tank')");
  ApiAnswer made = gw.as("operator", "POST", "/api/keys", R"({"name":"sensor","role":"ingest"})");
  REQUIRE(made.status == 201);
  CHECK(made.body["role"] == "ingest");
  CHECK(made.body["devices"].is_null());
  const httplib::Headers with_key{{"X-API-Key", made.body["key"].get<std::string>()}};

  CHECK(gw.request("POST", "/api/readings", R"({"worker_id":5,"metric":"temperature","value":21})",
                   with_key)
            .status == 202);
  CHECK(gw.db.count("SELECT 1 FROM readings WHERE worker_id = 5") == 1);

  // Every other route, reads included, answers 403.
  ApiAnswer doc = gw.as("viewer", "GET", "/api/openapi.json");
  REQUIRE(doc.status == 200);
  int refused = 0;
  for (const auto& [path, operations] : doc.body["paths"].items()) {
    for (const auto& [method_lower, op] : operations.items()) {
      if (op["security"].empty()) continue;  // public
      std::string method = method_lower;
      for (char& c : method)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      if (method == "POST" && path == "/api/readings") {
        CHECK(op.value("x-required-role", "") == "ingest");
        continue;
      }
      INFO(method << " " << path);
      const std::string body = method == "GET" || method == "DELETE" ? "" : "{}";
      ApiAnswer a = gw.request(method, concrete_path(path), body, with_key);
      CHECK(a.status == 403);
      CHECK(a.body["error"]["message"].get<std::string>().find("ingest") != std::string::npos);
      ++refused;
    }
  }
  CHECK(refused > 20);

  // A viewer may not mint one (pushing readings is an operator's right), nor is it a user's role.
  CHECK(gw.as("viewer", "POST", "/api/keys", R"({"name":"s","role":"ingest"})").status == 403);
  ApiAnswer user =
      gw.as("admin", "POST", "/api/users",
            R"({"username":"dev","password":"a long enough password","role":"ingest"})");
  CHECK(user.status == 400);
  CHECK(user.body["error"]["field"] == "role");
  const std::string viewer_id = gw.db.scalar("SELECT id FROM users WHERE username = 'viewer'");
  CHECK(gw.as("admin", "PATCH", "/api/users/" + viewer_id, R"({"role":"ingest"})").status == 400);
  CHECK(gw.db.count("SELECT 1 FROM users WHERE role NOT IN ('admin', 'operator', 'viewer')") == 0);
  auto bad_user =
      run(binary("fleetctl"), {"users", "add", "dev2", "--role", "ingest", "--generate-password"},
          worker_env(gw.db));
  CHECK(bad_user.code != 0);

  // An ingest key whose owner was demoted to viewer is refused, not lowered to reading the fleet.
  auto cli = run(binary("fleetctl"),
                 {"keys", "create", "--user", "operator", "--name", "probe", "--role", "ingest"},
                 worker_env(gw.db));
  REQUIRE(cli.code == 0);
  CHECK(gw.db.count("SELECT 1 FROM api_keys WHERE name = 'probe' AND role = 'ingest'") == 1);
  gw.db.exec("UPDATE users SET role = 'viewer' WHERE username = 'operator'");
  std::string cli_key = cli.out;
  while (!cli_key.empty() && std::isspace(static_cast<unsigned char>(cli_key.back())))
    cli_key.pop_back();
  const httplib::Headers demoted{{"X-API-Key", cli_key}};
  CHECK(gw.request("GET", "/api/summary", "", demoted).status == 401);
  CHECK(gw.request("POST", "/api/readings", R"({"worker_id":5,"metric":"t","value":1})", demoted)
            .status == 401);
}

TEST_CASE("an ingest key limited to devices writes only their readings (issue 16.7)",
          "[gateway][keys][e2e]") {
  GatewayFixture gw;
  gw.db.exec(
      "INSERT INTO workers (id, kind, name) VALUES (5, 'device', 'pump-7'), "
      "(6, 'device', 'greenhouse-north'), (7, 'device', 'boiler')");
  ApiAnswer made =
      gw.as("operator", "POST", "/api/keys",
            R"({"name":"greenhouse","role":"ingest","devices":["pump-7","greenhouse-*"]})");
  REQUIRE(made.status == 201);
  CHECK(made.body["devices"] == json::array({"pump-7", "greenhouse-*"}));
  const httplib::Headers with_key{{"X-API-Key", made.body["key"].get<std::string>()}};

  CHECK(
      gw.request("POST", "/api/readings", R"({"worker_id":5,"metric":"flow","value":3})", with_key)
          .status == 202);
  CHECK(gw.request("POST", "/api/readings", R"({"worker_id":6,"metric":"humidity","value":60})",
                   with_key)
            .status == 202);
  ApiAnswer other = gw.request("POST", "/api/readings",
                               R"({"worker_id":7,"metric":"temperature","value":80})", with_key);
  CHECK(other.status == 403);
  CHECK(other.body["error"]["message"].get<std::string>().find("'boiler'") != std::string::npos);
  CHECK(other.body["error"]["field"] == "worker_id");
  // One reading out of scope refuses the whole batch.
  ApiAnswer batch = gw.request(
      "POST", "/api/readings",
      R"({"readings":[{"worker_id":5,"metric":"flow","value":4},{"worker_id":7,"metric":"t","value":1}]})",
      with_key);
  CHECK(batch.status == 403);
  CHECK(batch.body["error"]["field"] == "readings[1].worker_id");
  CHECK(gw.db.count("readings") == 2);
  // The operator's own session is not limited.
  CHECK(gw.as("operator", "POST", "/api/readings", R"({"worker_id":7,"metric":"t","value":1})")
            .status == 202);

  // Listed with the key; only ingest keys take a scope, and a bad entry is named.
  ApiAnswer listed = gw.as("operator", "GET", "/api/keys");
  REQUIRE(listed.status == 200);
  CHECK(listed.body["items"][0]["devices"] == json::array({"pump-7", "greenhouse-*"}));
  ApiAnswer wrong_role = gw.as("operator", "POST", "/api/keys",
                               R"({"name":"x","role":"operator","devices":["pump-7"]})");
  CHECK(wrong_role.status == 400);
  CHECK(wrong_role.body["error"]["field"] == "devices");
  ApiAnswer bad_entry =
      gw.as("operator", "POST", "/api/keys", R"({"name":"x","role":"ingest","devices":["a*b"]})");
  CHECK(bad_entry.status == 400);
  CHECK(bad_entry.body["error"]["message"].get<std::string>().find("devices[0]") !=
        std::string::npos);

  auto cli = run(binary("fleetctl"),
                 {"keys", "create", "--user", "operator", "--name", "tank-probe", "--role",
                  "ingest", "--device", "pump-7", "--device", "tank-*"},
                 worker_env(gw.db));
  REQUIRE(cli.code == 0);
  CHECK(gw.db.count("SELECT 1 FROM api_keys WHERE name = 'tank-probe' AND "
                    "devices = ARRAY['pump-7', 'tank-*']") == 1);
  auto refused = run(binary("fleetctl"),
                     {"keys", "create", "--user", "operator", "--name", "n", "--device", "pump-7"},
                     worker_env(gw.db));
  CHECK(refused.code != 0);
}
