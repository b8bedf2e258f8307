// What a HiveOS worker becomes: kind, address, the JSON rows the store batches.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "fakes.h"
#include "worker_rows.h"

using namespace fleet;
using namespace fleet::test;
using json = nlohmann::json;

TEST_CASE("kind: platform 2 is an ASIC, anything else a rig", "[hiveos_sync]") {
  hiveos::Worker w;
  w.platform = 2;
  CHECK(hiveos_sync::kind_of(w) == "asic");
  w.platform = 1;
  CHECK(hiveos_sync::kind_of(w) == "rig");
  w.platform = 3;
  CHECK(hiveos_sync::kind_of(w) == "rig");
}

TEST_CASE("ip: the first entry that parses as an address", "[hiveos_sync]") {
  CHECK(hiveos_sync::first_ip({}).empty());
  CHECK(hiveos_sync::first_ip({"", "lan", "10.0.0.5", "10.0.0.6"}) == "10.0.0.5");
  CHECK(hiveos_sync::first_ip({"fe80::1"}) == "fe80::1");
  CHECK(hiveos_sync::first_ip({"10.0.0.300", "10.0.0.1/24"}).empty());
  CHECK(hiveos_sync::first_ip({"1.2.3.4; DROP TABLE workers"}).empty());
}

TEST_CASE("workers_json: one flat object per worker with the rigs detail", "[hiveos_sync]") {
  auto w = rig(5, 10, std::string(300, 'n'), 1'800'000'000);
  w.versions_json = R"({"hive":"0.6-210"})";
  w.stats.problems = {"overheat"};
  hiveos_sync::WorkerRow row{.worker = w, .kind = "rig", .ip = "", .live = false};
  auto j = json::parse(hiveos_sync::workers_json({row}));
  REQUIRE(j.size() == 1);
  CHECK(j[0]["hid"] == 5);
  CHECK(j[0]["name"].get<std::string>().size() == 200);  // cut to workers.name's limit
  CHECK(j[0]["ip"].is_null());
  CHECK(j[0]["versions"]["hive"] == "0.6-210");
  CHECK(j[0]["problems"] == json::array({"overheat"}));
  CHECK(j[0]["gpus"][0]["model"] == "GeForce GTX 1050 Ti");
  CHECK(j[0]["gpus"][0]["temp"] == 70);
  CHECK(j[0]["hashrates"][0]["algo"] == "ethash");
  CHECK(j[0]["stats_time"] == 1'800'000'000);
  CHECK(j[0]["hardware"]["max_temp"] == 70);
  CHECK(j[0]["units_count"].is_null());
}

TEST_CASE("metrics_json: only live workers, stamped with their stats_time", "[hiveos_sync]") {
  auto rows = hiveos_sync::rows_of(
      {rig(1, 10, "live", 1'800'000'000), rig(2, 10, "stale", 1'700'000'000)}, 1'800'000'010, 300);
  REQUIRE(rows.size() == 2);
  auto j = json::parse(hiveos_sync::metrics_json(rows));
  REQUIRE_FALSE(j.empty());
  CHECK(j.size() == hiveos_sync::metric_count(rows));
  std::set<std::string> names;
  for (const auto& m : j) {
    CHECK(m["hid"] == 1);
    CHECK(m["ts"] == 1'800'000'000);
    CHECK((!m["value"].is_null() || !m["json_value"].is_null()));
    CHECK(names.insert(m["metric"].get<std::string>()).second);  // each name once
  }
}
