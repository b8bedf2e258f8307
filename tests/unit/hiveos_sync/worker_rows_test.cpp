// What a HiveOS worker becomes: kind, address, the JSON rows the store batches.
#include <catch2/catch.hpp>

#include <set>
#include <vector>

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

TEST_CASE("metric_arrays: only live workers, stamped with their stats_time", "[hiveos_sync]") {
  auto rows = hiveos_sync::rows_of(
      {rig(1, 10, "live", 1'800'000'000), rig(2, 10, "stale", 1'700'000'000)}, 1'800'000'010, 300);
  REQUIRE(rows.size() == 2);
  const auto a = hiveos_sync::metric_arrays(rows);
  REQUIRE(a.count > 0);
  CHECK(a.count == hiveos_sync::metric_count(rows));
  auto elements = [](std::string s) {
    REQUIRE(s.size() >= 2);
    s = s.substr(1, s.size() - 2);
    std::vector<std::string> out;
    std::size_t from = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
      if (i == s.size() || s[i] == ',') {
        out.push_back(s.substr(from, i - from));
        from = i + 1;
      }
    }
    return out;
  };
  const auto hids = elements(a.hids);
  const auto ts = elements(a.ts);
  const auto names = elements(a.names);
  REQUIRE(hids.size() == a.count);
  REQUIRE(ts.size() == a.count);
  REQUIRE(names.size() == a.count);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < a.count; ++i) {
    CHECK(hids[i] == "1");
    CHECK(ts[i] == "1800000000");
    CHECK(seen.insert(names[i]).second);  // each name once
  }
  CHECK(seen.count("\"temperature\"") == 1);
}

TEST_CASE("metric_arrays: elements are quoted and escaped, absent ones NULL", "[hiveos_sync]") {
  std::string out = "{";
  const std::string odd = R"(a"b\c,{d})";
  hiveos_sync::append_array_element(out, &odd);
  hiveos_sync::append_array_element(out, nullptr);
  out += '}';
  CHECK(out == R"({"a\"b\\c,{d}",NULL})");
  hiveos_sync::WorkerRow row{.worker = rig(7, 10, "r", 1'800'000'000), .kind = "rig", .live = true};
  row.metrics = {{.name = "problems", .value = 1, .json_value = R"(["x\"y"])"},
                 {.name = "power", .value = std::nullopt},  // no value, no JSON: left out
                 {.name = "hashrate", .value = 0.25, .metadata_json = R"({"unit":"TH/s"})"}};
  const auto a = hiveos_sync::metric_arrays({row});
  CHECK(a.count == 2);
  CHECK(a.names == R"({"problems","hashrate"})");
  CHECK(a.values == "{1,0.25}");
  CHECK(a.json_values == R"({"[\"x\\\"y\"]",NULL})");
  CHECK(a.metadata == R"({NULL,"{\"unit\":\"TH/s\"}"})");
}
