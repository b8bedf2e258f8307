// api-gateway: the HiveOS rigs list and totals (issue 11) over rows as hiveos-sync writes them:
// filters, the latest metrics per rig, removed rigs only on request, stale accounts, and bad
// query parameters refused with the parameter named.
#include <catch2/catch.hpp>

#include "gateway_fixture.h"

using namespace fleet;
using namespace fleet::test;
using nlohmann::json;

namespace {

void seed(TestDatabase& db) {
  db.exec(
      "INSERT INTO hiveos_accounts (id, name, base_url, token_enc, created_by, state) VALUES "
      "(1, 'main', 'http://127.0.0.1:9/api/v2', 'x', 'test', 'ok'), "
      "(2, 'other', 'http://127.0.0.1:9/api/v2', 'x', 'test', 'failing')");
  db.exec(
      "INSERT INTO farms (id, name, hiveos_farm_id, hiveos_account_id) VALUES "
      "(10, 'north', 5001, 1), (11, 'south', 5002, 2)");
  db.exec(
      "INSERT INTO workers (id, kind, name, farm_id, site, status, ip, managed) VALUES "
      "(1, 'rig', 'rig-01', 10, 'north', 'online', '10.1.0.1', true), "
      "(2, 'rig', 'rig-02', 10, 'north', 'offline', NULL, true), "
      "(3, 'asic', 's9-01', 11, 'south', 'online', '10.2.0.1', true), "
      "(4, 'rig', 'rig-gone', 10, 'north', 'removed', NULL, true), "
      "(5, 'asic', 'vnish-miner', NULL, NULL, 'online', '10.9.0.1', true)");
  db.exec(
      "INSERT INTO rigs (worker_id, account_id, hiveos_worker_id, hiveos_farm_id, platform, gpus, "
      "boards, problems, online, stats_time, stale, removed_at) VALUES "
      "(1, 1, 101, 5001, 1, '[{\"bus_number\":1},{\"bus_number\":2},{\"bus_number\":3}]', '[]', "
      "'{overheat}', true, now(), false, NULL), "
      "(2, 1, 102, 5001, 1, '[{\"bus_number\":1}]', '[]', '{}', false, now() - interval '1 hour', "
      "false, NULL), "
      "(3, 2, 201, 5002, 2, '[]', '[{\"chain\":5}]', '{}', true, now(), true, NULL), "
      "(4, 1, 103, 5001, 1, '[]', '[]', '{}', NULL, NULL, false, now())");
  db.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, observed_at) VALUES "
      "(1, 'hashrate', 0.0005, now()), (1, 'temperature', 81, now()), (1, 'power', 900, now()), "
      "(3, 'hashrate', 13.5, now()), (3, 'power', 1300, now()), (5, 'hashrate', 100, now())");
}

std::vector<std::string> names(const json& page) {
  std::vector<std::string> out;
  for (const auto& r : page["items"])
    out.push_back(r["name"].get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("the rigs list: HiveOS workers only, their latest metrics, filters and totals",
          "[gateway][hiveos]") {
  GatewayFixture gw;
  seed(gw.db);

  auto all = gw.as("viewer", "GET", "/api/rigs");
  INFO(all.raw);
  REQUIRE(all.status == 200);
  // The Vnish miner (no rigs row) and the removed rig are not listed.
  CHECK(names(all.body) == std::vector<std::string>{"rig-01", "rig-02", "s9-01"});
  CHECK(all.body["total"] == 3);
  const auto& r1 = all.body["items"][0];
  CHECK(r1["gpus"] == 3);
  CHECK(r1["problems"] == json::array({"overheat"}));
  CHECK(r1["metrics"]["temperature"] == 81);
  CHECK(r1["metrics"]["hashrate"] == 0.0005);
  CHECK(r1["account"]["name"] == "main");
  CHECK(r1["farm"]["name"] == "north");
  CHECK(r1["hiveos_worker_id"] == 101);
  CHECK(r1["ip"] == "10.1.0.1");
  const auto& s9 = all.body["items"][2];
  CHECK(s9["kind"] == "asic");
  CHECK(s9["boards"] == 1);
  CHECK(s9["stale"] == true);
  CHECK(s9["account"]["state"] == "failing");

  CHECK(names(gw.as("viewer", "GET", "/api/rigs?status=removed").body) ==
        std::vector<std::string>{"rig-gone"});
  CHECK(names(gw.as("viewer", "GET", "/api/rigs?account_id=2").body) ==
        std::vector<std::string>{"s9-01"});
  CHECK(names(gw.as("viewer", "GET", "/api/rigs?farm_id=10").body) ==
        std::vector<std::string>{"rig-01", "rig-02"});
  CHECK(names(gw.as("viewer", "GET", "/api/rigs?problem=overheat").body) ==
        std::vector<std::string>{"rig-01"});
  CHECK(names(gw.as("viewer", "GET", "/api/rigs?q=S9").body) == std::vector<std::string>{"s9-01"});
  CHECK(names(gw.as("viewer", "GET", "/api/rigs?q=10.1.").body) ==
        std::vector<std::string>{"rig-01"});
  auto paged = gw.as("viewer", "GET", "/api/rigs?limit=1&offset=1");
  CHECK(names(paged.body) == std::vector<std::string>{"rig-02"});
  CHECK(paged.body["total"] == 3);

  auto stats = gw.as("viewer", "GET", "/api/rigs/stats");
  INFO(stats.raw);
  REQUIRE(stats.status == 200);
  CHECK(stats.body["total"] == 3);
  CHECK(stats.body["by_status"] == json{{"offline", 1}, {"online", 2}});
  CHECK(stats.body["gpus"] == 4);
  CHECK(stats.body["with_problems"] == 1);
  CHECK(stats.body["stale"] == 1);
  // Online rigs only, the Vnish miner not counted: 0.0005 + 13.5 TH/s, 900 + 1300 W.
  CHECK(stats.body["hashrate_ths"].get<double>() == Approx(13.5005));
  CHECK(stats.body["power_w"].get<double>() == Approx(2200));
  CHECK(stats.body["accounts"] == json{{"failing", 1}, {"ok", 1}});

  for (const auto& [query, field] :
       std::vector<std::pair<std::string, std::string>>{{"status=sleeping", "status"},
                                                        {"account_id=0", "account_id"},
                                                        {"farm_id=x", "farm_id"},
                                                        {"limit=5000", "limit"},
                                                        {"offset=-1", "offset"}}) {
    auto bad = gw.as("viewer", "GET", "/api/rigs?" + query);
    INFO(query << " -> " << bad.raw);
    CHECK(bad.status == 400);
    CHECK(bad.body["error"]["field"] == field);
  }
  CHECK(gw.request("GET", "/api/rigs").status == 401);
}
