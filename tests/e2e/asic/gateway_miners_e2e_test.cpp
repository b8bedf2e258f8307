// Seed 003's API on real data: miner-sim, the three ASIC workers, then the api-gateway's miner,
// model, status and chip routes.
#include <catch2/catch.hpp>

#include "gateway_fixture.h"
#include "pipeline.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// A gateway that can seal unlock passwords, on a fleet of six polled miners.
struct MinerApi {
  MinerApi() : gw({"--set", "secrets.key=" + kSecretKey}) {
    auto r = discover(gw.db, sim);
    INFO(r.err);
    REQUIRE(r.code == 0);
    manage_all(gw.db);
    due_now(gw.db);
    REQUIRE(poll_once(gw.db, sim).code == 0);
    REQUIRE(telemetry_once(gw.db, sim).code == 0);
    due_now(gw.db);
    REQUIRE(poll_once(gw.db, sim).code == 0);  // a second status for the history
  }
  MinerSim sim{{.count = 6, .base_ip = "127.22.9.1"}};
  GatewayFixture gw;
  std::string first_id() { return gw.db.scalar("SELECT min(worker_id) FROM miners"); }
};

}  // namespace

TEST_CASE("miners API: list with latest status, filters, pages, detail", "[gateway][miners][e2e]") {
  MinerApi api;
  auto& gw = api.gw;
  auto all = gw.as("viewer", "GET", "/api/miners");
  REQUIRE(all.status == 200);
  REQUIRE(all.body["items"].size() == 6);
  for (const auto& m : all.body["items"]) {
    CHECK(m["mac"].get<std::string>().size() == 17);
    CHECK_THAT(m["ip"].get<std::string>(), Contains("127.22.9."));
    CHECK(m["managed"] == true);
    CHECK(m["online"] == true);
    CHECK(m["latest"]["hashrate_ths"].get<double>() > 10);
    CHECK(m["latest"]["power_w"].get<double>() > 500);
    CHECK(m["last_seen_at"].is_string());
    CHECK(m.contains("unlock_password") == false);
  }
  // Pages of two: three pages, every miner once.
  std::set<std::int64_t> ids;
  std::string after;
  int pages = 0;
  do {
    auto page =
        gw.as("viewer", "GET", "/api/miners?limit=2" + (after.empty() ? "" : "&after=" + after));
    for (const auto& m : page.body["items"])
      CHECK(ids.insert(m["id"].get<std::int64_t>()).second);
    after = page.body["next"].is_null() ? "" : page.body["next"].get<std::string>();
  } while (!after.empty() && ++pages < 10);
  CHECK(ids.size() == 6);

  const std::string ip = all.body["items"][2]["ip"];
  auto found = gw.as("viewer", "GET", "/api/miners?q=" + ip);
  REQUIRE(found.body["items"].size() == 1);
  CHECK(found.body["items"][0]["ip"] == ip);
  gw.db.exec("UPDATE workers SET ip = NULL, status = 'offline' WHERE id = " + api.first_id());
  gw.db.exec("UPDATE workers SET managed = false WHERE host(ip) = '" + ip + "'");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the list is cached for a second
  CHECK(gw.as("viewer", "GET", "/api/miners?online=false").body["items"].size() == 1);
  CHECK(gw.as("viewer", "GET", "/api/miners?online=false").body["items"][0]["ip"].is_null());
  CHECK(gw.as("viewer", "GET", "/api/miners?managed=false").body["items"].size() == 1);
  CHECK(gw.as("viewer", "GET", "/api/miners?managed=maybe").body["error"]["field"] == "managed");

  auto one = gw.as("viewer", "GET", "/api/miners/" + api.first_id());
  REQUIRE(one.status == 200);
  CHECK(one.body["unlock_password_set"] == false);

  // A page shows each miner exactly as its detail does (the page comes from miner_list's stored
  // objects, the detail from its columns), with a firmware error's secrets redacted in both.
  gw.db.exec(
      "UPDATE miners SET last_poll_error = 'login failed: password=hunter2' WHERE "
      "worker_id = " +
      api.first_id());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto page = gw.as("viewer", "GET", "/api/miners?limit=1000");
  REQUIRE(page.body["items"].size() == 6);
  for (const auto& item : page.body["items"]) {
    auto detail = gw.as("viewer", "GET", "/api/miners/" + std::to_string(item["id"].get<long>()));
    detail.body.erase("relay");
    CHECK(item == detail.body);
  }
  const std::string error = page.body["items"][0]["last_poll_error"];
  CHECK_THAT(error, Contains("login failed"));
  CHECK(error.find("hunter2") == std::string::npos);
  CHECK(gw.as("viewer", "GET", "/api/miners/999999").status == 404);
}

TEST_CASE("miners API: managed flag, unlock password and rescan", "[gateway][miners][e2e]") {
  MinerApi api;
  auto& gw = api.gw;
  const std::string id = api.first_id();
  CHECK(gw.as("viewer", "PATCH", "/api/miners/" + id, R"({"managed": false})").status == 403);
  auto off = gw.as("operator", "PATCH", "/api/miners/" + id, R"({"managed": false})");
  REQUIRE(off.status == 200);
  CHECK(off.body["managed"] == false);
  CHECK(gw.db.scalar("SELECT managed FROM workers WHERE id = " + id) == "f");
  CHECK(gw.as("operator", "PATCH", "/api/miners/" + id, R"({"managed": "no"})")
            .body["error"]["field"] == "managed");

  auto secret =
      gw.as("operator", "PATCH", "/api/miners/" + id, R"({"unlock_password": "hunter2-miner"})");
  REQUIRE(secret.status == 200);
  CHECK(secret.body["unlock_password_set"] == true);
  CHECK(secret.raw.find("hunter2-miner") == std::string::npos);
  const std::string stored =
      gw.db.scalar("SELECT unlock_pass_enc FROM miners WHERE worker_id = " + id);
  CHECK(stored.find("hunter2-miner") == std::string::npos);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE details::text LIKE '%hunter2%'") == 0);
  CHECK(gw.as("operator", "PATCH", "/api/miners/" + id, R"({"unlock_password": null})")
            .body["unlock_password_set"] == false);

  auto rescan = gw.as("operator", "POST", "/api/miners/" + id + "/rescan");
  CHECK(rescan.status == 202);
  CHECK(gw.db.count("SELECT 1 FROM miner_rescan_requests WHERE worker_id = " + id) == 1);
}

TEST_CASE("miners API: status history, fans and chains, chip heat map, anomalies",
          "[gateway][miners][e2e]") {
  MinerApi api;
  auto& gw = api.gw;
  const std::string id = api.first_id();
  auto history = gw.as("viewer", "GET", "/api/miners/" + id + "/statuses?limit=10");
  REQUIRE(history.status == 200);
  REQUIRE(history.body["items"].size() == 2);
  CHECK(history.body["items"][0]["observed_at"] >= history.body["items"][1]["observed_at"]);

  const std::string sid = std::to_string(history.body["items"][0]["id"].get<std::int64_t>());
  auto status = gw.as("viewer", "GET", "/api/statuses/" + sid);
  REQUIRE(status.status == 200);
  CHECK(status.body["fans"].size() >= 2);
  REQUIRE(status.body["chains"].size() == 3);
  CHECK(status.body["chains"][0]["hashrate_ths"].get<double>() > 1);
  CHECK(gw.as("viewer", "GET", "/api/statuses/999999").status == 404);

  auto chips = gw.as("viewer", "GET", "/api/miners/" + id + "/chips");
  REQUIRE(chips.status == 200);
  REQUIRE(chips.body["chains"].size() == 3);
  const auto& chain = chips.body["chains"][0]["chips"];
  CHECK(chain.size() > 50);
  CHECK(chain[0]["temp"].is_number());
  CHECK(
      (chain[0]["grade"] == "grey" || chain[0]["grade"] == "orange" || chain[0]["grade"] == "red"));

  auto anomalies = gw.as("viewer", "GET", "/api/telemetry/anomalies");
  REQUIRE(anomalies.status == 200);
  CHECK(anomalies.body["items"].is_array());
}

TEST_CASE("models API: presets from the firmware, max_preset chosen among them",
          "[gateway][miners][e2e]") {
  MinerApi api;
  auto& gw = api.gw;
  auto models = gw.as("viewer", "GET", "/api/models");
  REQUIRE(models.status == 200);
  REQUIRE(!models.body["items"].empty());
  const auto& model = models.body["items"][0];
  const std::string alias = model["alias"];
  REQUIRE(model["presets"].size() >= 2);
  const std::string preset = model["presets"][1]["name"];
  CHECK(model["miners"].get<int>() >= 1);

  auto bad = gw.as("operator", "PATCH", "/api/models/" + alias, R"({"max_preset": "over9000"})");
  CHECK(bad.status == 400);
  CHECK(bad.body["error"]["field"] == "max_preset");
  CHECK(gw.as("viewer", "PATCH", "/api/models/" + alias, json{{"max_preset", preset}}.dump())
            .status == 403);
  auto set =
      gw.as("operator", "PATCH", "/api/models/" + alias, json{{"max_preset", preset}}.dump());
  REQUIRE(set.status == 200);
  CHECK(gw.db.scalar("SELECT max_preset FROM models WHERE alias = '" + alias + "'") == preset);
  // Clearing it stops polling of the model's miners (seed 003).
  CHECK(gw.as("operator", "PATCH", "/api/models/" + alias, R"({"max_preset": null})").status ==
        200);
  CHECK(gw.db.scalar("SELECT max_preset IS NULL FROM models WHERE alias = '" + alias + "'") == "t");
  CHECK(gw.as("operator", "PATCH", "/api/models/no-such-model", R"({"max_preset": null})").status ==
        404);

  // Aliases may hold spaces and '+': reachable percent-encoded.
  gw.db.exec(
      "INSERT INTO models (alias, full_name, presets) VALUES ('s21 pro+', 'Antminer S21 Pro+', "
      "'[{\"name\": \"3000\"}]')");
  CHECK(
      gw.as("operator", "PATCH", "/api/models/s21%20pro%2B", R"({"max_preset": "3000"})").status ==
      200);
  CHECK(gw.db.scalar("SELECT max_preset FROM models WHERE alias = 's21 pro+'") == "3000");
}
