// HiveOS accounts through the api-gateway and commands through the action-dispatcher's hiveos
// channel, against the real hiveos-sim (issue 11): a token HiveOS rejects stores nothing; a reboot
// queued through the API reaches the simulator and its result is recorded; three rigs of one farm
// go as ONE multi-worker request; exec only once an admin enabled it; no result -> failed after
// the deadline.
#include <catch2/catch.hpp>

#include "dispatch_fixture.h"
#include "gateway_fixture.h"
#include "hiveos_sim.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

constexpr const char* kToken = "sim-token";

std::string error_field(const ApiAnswer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"]["field"].is_string()
             ? a.body["error"]["field"].get<std::string>()
             : "";
}

GatewayFixture hiveos_gateway() {
  return GatewayFixture({"--set", "hiveos.allow_http=true", "--set", "secrets.key=" + kSecretKey,
                         "--set", "hiveos.check_timeout=2s"});
}

json account_body(const HiveosSimProcess& sim, const std::string& name,
                  const std::string& token = kToken) {
  return {{"name", name}, {"base_url", sim.base_url()}, {"token", token}};
}

// A HiveOS worker as hiveos-sync would have written it: a workers row and its rigs row.
std::int64_t add_rig(TestDatabase& db, std::int64_t account, std::int64_t farm,
                     std::int64_t hiveos_worker) {
  const auto id = std::stoll(
      db.scalar("INSERT INTO workers (kind, name, status, managed) VALUES ('rig', 'rig-" +
                std::to_string(hiveos_worker) + "', 'online', true) RETURNING id"));
  db.exec("INSERT INTO rigs (worker_id, account_id, hiveos_worker_id, hiveos_farm_id) VALUES (" +
          std::to_string(id) + ", " + std::to_string(account) + ", " +
          std::to_string(hiveos_worker) + ", " + std::to_string(farm) + ")");
  return id;
}

std::vector<std::string> hiveos_flags(std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--set", "hiveos.poll_every=200ms",
                                   "--set", "hiveos.gather=300ms",
                                   "--set", "dispatch.firmware_threads=0"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

std::int64_t command_via_api(GatewayFixture& gw, std::int64_t worker, const std::string& body) {
  auto a = gw.as("operator", "POST", "/api/workers/" + std::to_string(worker) + "/commands", body);
  INFO(a.raw);
  REQUIRE(a.status == 201);
  CHECK(a.body["channel"] == "hiveos");
  return a.body["id"].get<std::int64_t>();
}

}  // namespace

TEST_CASE("HiveOS accounts: the token is checked with HiveOS, sealed and never shown",
          "[hiveos][gateway][e2e]") {
  HiveosSimProcess sim({"--farms", "1", "--workers-per-farm", "2"});
  REQUIRE(sim.ready());
  auto gw = hiveos_gateway();

  // Validation names the field; nothing is stored and HiveOS is not asked.
  const auto before = sim.requests().size();
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"base_url", sim.base_url()}, {"token", kToken}}, "name"},
      {{{"name", "bad/name"}, {"base_url", sim.base_url()}, {"token", kToken}}, "name"},
      {{{"name", "a"}, {"base_url", "ftp://127.0.0.1/api/v2"}, {"token", kToken}}, "base_url"},
      {{{"name", "a"}, {"base_url", "http://user@127.0.0.1/api/v2"}, {"token", kToken}},
       "base_url"},
      {{{"name", "a"}, {"base_url", sim.base_url() + "?x=1"}, {"token", kToken}}, "base_url"},
      {{{"name", "a"}, {"base_url", sim.base_url()}}, "token"},
      {{{"name", "a"}, {"base_url", sim.base_url()}, {"token", "sim token with spaces"}}, "token"},
      {{{"name", "a"}, {"base_url", sim.base_url()}, {"token", kToken}, {"burst", 0}}, "burst"},
      {{{"name", "a"}, {"base_url", sim.base_url()}, {"token", kToken}, {"exec_enabled", true}},
       "exec_enabled"},
  };
  for (const auto& [body, field] : bad) {
    auto a = gw.as("operator", "POST", "/api/hiveos/accounts", body.dump());
    INFO(body.dump() << " -> " << a.raw);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  CHECK(sim.requests().size() == before);

  // A token HiveOS rejects: 400 naming the token, nothing stored.
  auto rejected = gw.as("operator", "POST", "/api/hiveos/accounts",
                        account_body(sim, "main", "wrong-token").dump());
  CHECK(rejected.status == 400);
  CHECK(error_field(rejected) == "token");
  CHECK_THAT(rejected.raw, Contains("HiveOS rejected the token (401)"));
  CHECK(gw.db.count("hiveos_accounts") == 0);
  // HiveOS unreachable: 502 with the reason, nothing stored.
  json unreachable = account_body(sim, "main");
  unreachable["base_url"] = "http://127.0.0.1:" + std::to_string(free_port()) + "/api/v2";
  auto down = gw.as("operator", "POST", "/api/hiveos/accounts", unreachable.dump());
  CHECK(down.status == 502);
  CHECK(gw.db.count("hiveos_accounts") == 0);
  // Viewers read only.
  CHECK(gw.as("viewer", "POST", "/api/hiveos/accounts", account_body(sim, "main").dump()).status ==
        403);

  auto created =
      gw.as("operator", "POST", "/api/hiveos/accounts", account_body(sim, "main").dump());
  REQUIRE(created.status == 201);
  const auto id = created.body["id"].get<std::int64_t>();
  CHECK(created.body["token_hint"] == "oken");
  CHECK(created.body["state"] == "pending");
  CHECK(created.body["exec_enabled"] == false);
  CHECK_FALSE(created.body.contains("token"));
  CHECK(created.raw.find(kToken) == std::string::npos);
  const std::string sealed =
      gw.db.scalar("SELECT token_enc FROM hiveos_accounts WHERE id = " + std::to_string(id));
  CHECK(sealed.rfind("v2:", 0) == 0);
  CHECK(sealed.find(kToken) == std::string::npos);
  auto list = gw.as("viewer", "GET", "/api/hiveos/accounts");
  REQUIRE(list.status == 200);
  REQUIRE(list.body["items"].size() == 1);
  CHECK(list.raw.find(kToken) == std::string::npos);
  CHECK(
      gw.as("operator", "POST", "/api/hiveos/accounts", account_body(sim, "main").dump()).status ==
      409);
  // Neither the audit log nor anything else holds the token.
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE details::text LIKE '%sim-token%'") == 0);

  // exec is an admin's decision.
  const std::string path = "/api/hiveos/accounts/" + std::to_string(id);
  CHECK(gw.as("operator", "PATCH", path, R"({"exec_enabled": true})").status == 403);
  auto exec = gw.as("admin", "PATCH", path, R"({"exec_enabled": true})");
  REQUIRE(exec.status == 200);
  CHECK(exec.body["exec_enabled"] == true);
  // A new token is checked too; a rejected one changes nothing.
  auto bad_token = gw.as("operator", "PATCH", path, R"({"token": "revoked-token"})");
  CHECK(bad_token.status == 400);
  CHECK(error_field(bad_token) == "token");
  CHECK(gw.db.scalar("SELECT token_enc FROM hiveos_accounts WHERE id = " + std::to_string(id)) ==
        sealed);
  auto renamed = gw.as("operator", "PATCH", path, R"({"name": "farm-a", "burst": 3})");
  REQUIRE(renamed.status == 200);
  CHECK(renamed.body["name"] == "farm-a");
  CHECK(renamed.body["burst"] == 3);

  // Deleting: admins only; its workers stay, as removed, and lose their HiveOS detail.
  const auto rig = add_rig(gw.db, id, 101, 1001);
  auto detail = gw.as("viewer", "GET", "/api/workers/" + std::to_string(rig));
  REQUIRE(detail.status == 200);
  CHECK(detail.body["rig"]["hiveos_worker_id"] == 1001);
  CHECK(detail.body["rig"]["account"]["name"] == "farm-a");
  CHECK(gw.as("operator", "DELETE", path).status == 403);
  auto deleted = gw.as("admin", "DELETE", path);
  REQUIRE(deleted.status == 200);
  CHECK(deleted.body["workers_removed"] == 1);
  CHECK(gw.db.scalar("SELECT status FROM workers WHERE id = " + std::to_string(rig)) == "removed");
  CHECK(gw.db.count("rigs") == 0);
  CHECK(gw.db.count("hiveos_accounts") == 0);
}

TEST_CASE("a reboot queued through the API reaches hiveos-sim and its result is recorded",
          "[hiveos][dispatch][e2e]") {
  HiveosSimProcess sim({"--farms", "1", "--workers-per-farm", "4", "--command-delay-ms", "300"});
  REQUIRE(sim.ready());
  auto gw = hiveos_gateway();
  auto created =
      gw.as("operator", "POST", "/api/hiveos/accounts", account_body(sim, "main").dump());
  REQUIRE(created.status == 201);
  const auto account = created.body["id"].get<std::int64_t>();
  const auto rig1 = add_rig(gw.db, account, 101, 1001);

  SECTION("one reboot") {
    const auto id = command_via_api(gw, rig1, R"({"action": "reboot", "confirm": true})");
    auto r = dispatch_once(gw.db, hiveos_flags());
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::string where = " FROM commands WHERE id = " + std::to_string(id);
    CHECK(gw.db.scalar("SELECT state" + where) == "succeeded");
    json result = json::parse(gw.db.scalar("SELECT result::text" + where));
    CHECK(result["hiveos_command_id"].is_number_integer());
    CHECK(result["message"]["type"] == "success");
    auto received = sim.commands();
    REQUIRE(received.size() == 1);
    CHECK(received[0]["command"] == "reboot");
    CHECK(received[0]["worker_ids"] == json::array({1001}));
    CHECK(received[0]["cmd_ids"][0] == result["hiveos_command_id"]);
  }

  SECTION("three rigs of one farm: one multi-worker request") {
    const auto rig2 = add_rig(gw.db, account, 101, 1002);
    const auto rig3 = add_rig(gw.db, account, 101, 1003);
    std::vector<std::int64_t> ids;
    for (auto w : {rig1, rig2, rig3})
      ids.push_back(command_via_api(gw, w, R"({"action": "restart_mining"})"));
    auto r = dispatch_once(gw.db, hiveos_flags());
    INFO(r.err);
    REQUIRE(r.code == 0);
    auto received = sim.commands();
    REQUIRE(received.size() == 1);
    CHECK(received[0]["bulk"] == true);
    CHECK(received[0]["command"] == "miner");
    CHECK(received[0]["data"]["action"] == "restart");
    auto workers = received[0]["worker_ids"].get<std::vector<std::int64_t>>();
    std::sort(workers.begin(), workers.end());
    CHECK(workers == std::vector<std::int64_t>{1001, 1002, 1003});
    CHECK(gw.db.count("SELECT 1 FROM commands WHERE state = 'succeeded'") == 3);
    // One request for the send; the rest are result polls, none per worker for the send.
    std::size_t posts = 0;
    for (const auto& q : sim.requests())
      posts += q["method"] == "POST" ? 1 : 0;
    CHECK(posts == 1);
  }

  SECTION("exec is refused unless an admin enabled it for the account") {
    const std::string exec = R"({"action": "exec", "confirm": true, "params": {"cmd": "uptime"}})";
    auto refused =
        gw.as("operator", "POST", "/api/workers/" + std::to_string(rig1) + "/commands", exec);
    CHECK(refused.status == 403);
    CHECK(gw.db.count("commands") == 0);
    REQUIRE(gw.as("admin", "PATCH", "/api/hiveos/accounts/" + std::to_string(account),
                  R"({"exec_enabled": true})")
                .status == 200);
    const auto id = command_via_api(gw, rig1, exec);
    auto r = dispatch_once(gw.db, hiveos_flags());
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(gw.db.scalar("SELECT state FROM commands WHERE id = " + std::to_string(id)) ==
          "succeeded");
    auto received = sim.commands();
    REQUIRE(received.size() == 1);
    CHECK(received[0]["command"] == "exec");
    CHECK(received[0]["data"]["cmd"] == "uptime");
  }

  SECTION("no result within the deadline: failed") {
    // A worker that is off never pulls its commands: no message arrives.
    REQUIRE(sim.post("/control/workers/1001", {{"online", false}}) == 200);
    const auto id = command_via_api(gw, rig1, R"({"action": "restart_mining"})");
    auto r = dispatch_once(gw.db, hiveos_flags({"--set", "hiveos.result_timeout=1500ms"}));
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::string where = " FROM commands WHERE id = " + std::to_string(id);
    CHECK(gw.db.scalar("SELECT state" + where) == "failed");
    CHECK_THAT(gw.db.scalar("SELECT last_error" + where),
               Contains("no result from HiveOS within 1.5 s"));
    CHECK(sim.commands().size() == 1);  // it was sent
  }
}
