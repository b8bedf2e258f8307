// The HiveOS mappers against payloads shaped like hiveos-api-v2.yaml / external-apis.md §3.4: a
// GPU rig, an ASIC, missing and null sections, wrong types, unknown fields, caps.
#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "hiveos/metrics.h"
#include "hiveos/parse.h"

using namespace fleet;
using namespace fleet::hiveos;

namespace {

// The worker of external-apis.md §3.4 (a GPU rig), as the workers list carries it.
const char* kRig = R"({
  "id": 123, "farm_id": 55, "platform": 1, "name": "rig01", "active": true, "units_count": 2,
  "ip_addresses": ["192.168.0.105"], "remote_address": {"ip": "1.2.3.4"},
  "versions": {"hive": "0.5-47", "kernel": "4.13", "nvidia_driver": "390.48", "odd": 5},
  "stats": {"online": true, "boot_time": 1524140543, "stats_time": 1577829600,
            "miner_start_time": 1525971728, "gpus_online": 2, "gpus_offline": 0,
            "gpus_overheated": 0, "cpus_offline": 0, "boards_online": 0, "boards_offline": 0,
            "boards_overheated": 0, "power_draw": 304, "overheated": false, "overloaded": false,
            "invalid": false, "low_asr": false, "problems": ["overheat"],
            "avg_hashrates": {"ethash": {"15m": 159785, "1h": 134513}}},
  "miners_summary": {"hashrates": [{"miner": "claymore", "ver": "11.9", "algo": "ethash",
                     "coin": "ETH", "hash": 61431,
                     "shares": {"accepted": 100, "rejected": 1, "invalid": 1, "ratio": 98.04}}]},
  "miners_stats": {"hashrates": [{"miner": "claymore", "algo": "ethash", "hashes": [30722, 30709],
                   "temps": [70, 72], "fans": [40, 42], "invalid_shares": [0, 1],
                   "bus_numbers": [1, 2]}]},
  "gpu_summary": {"gpus": [{"name": "GTX 1050 Ti", "amount": 2}], "max_temp": 77, "max_fan": 98},
  "gpu_stats": [{"bus_number": 1, "temp": 50, "fan": 37, "power": 100, "coreclk": 1582,
                 "memclk": 4455, "memtemp": 50},
                {"bus_number": 2, "temp": 77, "fan": 98, "power": 120}],
  "gpu_info": [{"bus_id": "01:00.0", "bus_number": 1, "brand": "nvidia",
                "model": "GeForce GTX 1050 Ti", "index": 0},
               {"bus_id": "02:00.0", "bus_number": 2, "brand": "nvidia",
                "model": "GeForce GTX 1050 Ti", "index": 1}],
  "hardware_stats": {"df": "2.7G", "cpuavg": [2.01, 2.04, 2.03], "cputemp": [41, 43],
                     "cpu_cores": 2, "memory": {"total": 0, "free": 0}},
  "watchdog": {"enabled": true, "restart_timeout": 5, "reboot_timeout": 10,
               "power_action": "reboot"},
  "something_new": {"nested": [1, 2, 3]}
})";

const char* kAsic = R"({
  "id": 200, "farm_id": 55, "platform": 2, "name": "s9-a",
  "stats": {"online": true, "stats_time": 1577829600, "boards_online": 3, "boards_offline": 0,
            "problems": []},
  "miners_summary": {"hashrates": [{"miner": "asicminer", "algo": "sha256", "coin": "BTC",
                     "hash": 13500000000}]},
  "asic_info": {"model": "Antminer S9", "short_name": "S9", "firmware": "2019-06",
                "hiveon": false, "install_type": "sd"},
  "asic_stats": {"fans": [{"index": 2, "fan": 74, "fan_rpm": 4440},
                          {"index": 3, "fan": 70, "fan_rpm": 4200}],
                 "fans_count": 4,
                 "boards": [{"chain": 5, "acn": 63, "freq": 607.04, "status": [1, 1, 0, 2],
                             "temp": 70, "board_temp": 55, "hw_errors": 3, "power": 472.5}]}
})";

std::string list(const std::string& item) {
  return R"({"data": [)" + item + R"(], "tags": []})";
}

}  // namespace

TEST_CASE("a GPU rig maps with its GPUs merged by bus number and hashrates in TH/s", "[hiveos]") {
  auto r = parse_workers(list(kRig), 55);
  REQUIRE(r.ok());
  REQUIRE(r.value().items.size() == 1);
  const Worker& w = r.value().items[0];
  CHECK(w.id == 123);
  CHECK(w.farm_id == 55);
  CHECK(w.platform == 1);
  CHECK(w.name == "rig01");
  CHECK(w.ip_addresses == std::vector<std::string>{"192.168.0.105"});
  CHECK(w.remote_ip == "1.2.3.4");
  // Only string versions are kept.
  CHECK(w.versions_json == R"({"hive":"0.5-47","kernel":"4.13","nvidia_driver":"390.48"})");
  CHECK(w.stats.online == true);
  CHECK(w.stats.stats_time == 1577829600);
  CHECK(w.stats.power_draw_w == 304);
  CHECK(w.stats.problems == std::vector<std::string>{"overheat"});
  REQUIRE(w.hashrates.size() == 1);
  CHECK(w.hashrates[0].algo == "ethash");
  CHECK(w.hashrates[0].ths == Approx(61431 / 1e9));
  CHECK(w.hashrates[0].accepted == 100);
  CHECK(w.hashrates[0].rejected == 1);
  REQUIRE(w.gpus.size() == 2);
  CHECK(w.gpus[0].bus_id == "01:00.0");
  CHECK(w.gpus[0].model == "GeForce GTX 1050 Ti");
  CHECK(w.gpus[0].temp_c == 50);
  CHECK(w.gpus[0].core_clock_mhz == 1582);
  CHECK(w.gpus[0].hashrate_ths.value() == Approx(30722 / 1e9));
  CHECK(w.gpus[1].temp_c == 77);
  CHECK(w.gpus[1].fan_percent == 98);
  CHECK_FALSE(w.gpus[1].mem_temp_c.has_value());
  CHECK(w.max_temp_c == 77);
  CHECK(w.max_fan_percent == 98);
  CHECK(w.cpu_temp_c == 43);
  CHECK(w.watchdog.enabled == true);
  CHECK(w.watchdog.power_action == "reboot");
}

TEST_CASE("a HiveOS ASIC maps its boards and fans", "[hiveos]") {
  auto r = parse_workers(list(kAsic), 55);
  REQUIRE(r.ok());
  const Worker& w = r.value().items.at(0);
  CHECK(w.platform == 2);
  CHECK(w.asic_model == "Antminer S9");
  REQUIRE(w.boards.size() == 1);
  CHECK(w.boards[0].chain == 5);
  CHECK(w.boards[0].chips == 63);
  CHECK(w.boards[0].hw_errors == 3);
  CHECK(w.min_fan_rpm == 4200);
  CHECK(w.max_fan_percent == 74);
  CHECK(w.max_temp_c == 70);
  CHECK(w.hashrates.at(0).ths == Approx(13.5));
  CHECK(w.gpus.empty());
}

TEST_CASE("missing, null and wrongly typed sections leave fields empty, never zero", "[hiveos]") {
  auto r = parse_workers(
      list(R"({"id": 7, "name": null, "stats": null, "gpu_stats": "oops", "gpu_info": null,
               "miners_summary": {"hashrates": null}, "watchdog": [], "ip_addresses": [1, "10.0.0.9"],
               "versions": null})"),
      9);
  REQUIRE(r.ok());
  const Worker& w = r.value().items.at(0);
  CHECK(w.id == 7);
  CHECK(w.farm_id == 9);  // from the farm asked for
  CHECK(w.name == "worker-7");
  CHECK_FALSE(w.stats.online.has_value());
  CHECK_FALSE(w.stats.stats_time.has_value());
  CHECK(w.gpus.empty());
  CHECK(w.hashrates.empty());
  CHECK(w.ip_addresses == std::vector<std::string>{"10.0.0.9"});
  CHECK(w.versions_json == "{}");
  CHECK_FALSE(w.max_temp_c.has_value());
  // Nothing HiveOS did not say becomes a metric.
  CHECK(metrics_of(w, 1577829600).empty());
}

TEST_CASE("items without an id are dropped and counted, the others are kept", "[hiveos]") {
  auto r =
      parse_workers(R"({"data": [{"name": "no id"}, {"id": -3}, {"id": "12"}, {"id": 12}, 5]})", 1);
  REQUIRE(r.ok());
  CHECK(r.value().items.size() == 1);
  CHECK(r.value().dropped == 4);
  auto f =
      parse_farms(R"({"data": [{"id": 55, "name": "main", "workers_count": 4}, {"name": "x"}]})");
  REQUIRE(f.ok());
  REQUIRE(f.value().items.size() == 1);
  CHECK(f.value().items[0].name == "main");
  CHECK(f.value().items[0].workers_count == 4);
  CHECK(f.value().dropped == 1);
}

TEST_CASE("bodies that are not JSON, not the right shape, too large or too deep are refused",
          "[hiveos]") {
  CHECK(parse_farms("<html>").error().kind() == ErrorKind::kDataLoss);
  CHECK(parse_farms(R"({"farms": []})").error().kind() == ErrorKind::kDataLoss);
  CHECK(parse_farms(R"([])").error().kind() == ErrorKind::kDataLoss);
  ParseLimits small;
  small.max_body_bytes = 100;
  auto big = parse_farms(list(std::string(200, ' ')), small);
  REQUIRE_FALSE(big.ok());
  CHECK_THAT(big.error().message(), Catch::Contains("over the cap"));
  std::string deep = R"({"data": [)" + std::string(100, '[') + std::string(100, ']') + "]}";
  auto d = parse_farms(deep);
  REQUIRE_FALSE(d.ok());
  CHECK_THAT(d.error().message(), Catch::Contains("deeper"));
  ParseLimits few;
  few.max_items = 2;
  CHECK_FALSE(parse_farms(R"({"data": [{"id":1},{"id":2},{"id":3}]})", few).ok());
}

TEST_CASE("long strings are cut at the cap without splitting a UTF-8 character", "[hiveos]") {
  ParseLimits limits;
  limits.max_string_bytes = 5;
  auto r = parse_workers(list(R"({"id": 1, "description": "abcdé€xyz"})"), 1, limits);
  REQUIRE(r.ok());
  CHECK(r.value().items[0].description == "abcd");
}

TEST_CASE("command answers give the HiveOS command id per worker", "[hiveos]") {
  auto one = parse_command_response(
      R"({"id": 501, "commands": [{"command": "reboot", "id": 501, "data": {}}]})", 123);
  REQUIRE(one.ok());
  REQUIRE(one.value().size() == 1);
  CHECK(one.value()[0].worker_id == 123);
  CHECK(one.value()[0].command_id == 501);
  auto top_only = parse_command_response(R"({"id": 77})", 9);
  REQUIRE(top_only.ok());
  CHECK(top_only.value()[0].command_id == 77);
  CHECK_FALSE(parse_command_response(R"({"commands": []})", 9).ok());
  auto bulk = parse_commands_response(
      R"({"id": 900, "commands": [{"worker_id": 1, "command": "reboot", "id": 901},
                                  {"worker_id": 2, "command": "reboot", "id": 902},
                                  {"command": "reboot", "id": 903}]})");
  REQUIRE(bulk.ok());
  REQUIRE(bulk.value().size() == 2);
  CHECK(bulk.value()[1].worker_id == 2);
  CHECK(bulk.value()[1].command_id == 902);
}

TEST_CASE("worker messages carry the command id, type and payload (capped)", "[hiveos]") {
  ParseLimits limits;
  limits.max_payload_bytes = 4;
  auto r = parse_messages(
      R"({"data": [{"id": 3, "title": "Rebooting", "type": "success", "time": 1525899600,
                    "cmd_id": 501, "command": "reboot", "command_result": 0, "payload": "uptime 5 days"},
                   {"id": 4, "title": "Config applied", "type": "info"}],
          "pagination": {"total": 2}})",
      limits);
  REQUIRE(r.ok());
  REQUIRE(r.value().items.size() == 2);
  CHECK(r.value().items[0].cmd_id == 501);
  CHECK(r.value().items[0].type == "success");
  CHECK(r.value().items[0].command_result == 0);
  CHECK(r.value().items[0].payload == "upti");
  CHECK_FALSE(r.value().items[1].cmd_id.has_value());
}

TEST_CASE("command bodies are CommandRequest and the multi-worker request", "[hiveos]") {
  CHECK(command_body({"reboot", "{}"}) == R"({"command":"reboot"})");
  CHECK(command_body({"miner", R"({"action":"restart"})"}) ==
        R"({"command":"miner","data":{"action":"restart"}})");
  CHECK(bulk_command_body({1, 2}, {"shutdown", "{}"}) ==
        R"({"data":{"command":"shutdown"},"worker_ids":[1,2]})");
}

TEST_CASE("a rig's metrics use the catalogue's names and units", "[hiveos]") {
  auto r = parse_workers(list(kRig), 55);
  REQUIRE(r.ok());
  auto ms = metrics_of(r.value().items[0], 1577829630);
  std::map<std::string, MetricValue> by;
  for (const auto& m : ms)
    by[m.name] = m;
  CHECK(by.at("hashrate").value.value() == Approx(61431 / 1e9));
  CHECK(by.at("hashrate").json_value == R"({"ethash":6.1431e-05})");
  CHECK(by.at("gpu_temp_max").value == 77);
  CHECK(by.at("temperature").value == 77);
  CHECK(by.at("power").value == 304);
  CHECK(by.at("fan_percent_max").value == 98);
  CHECK(by.at("gpus_online").value == 2);
  CHECK(by.at("gpus_offline").value == 0);
  CHECK(by.at("problems").value == 1);
  CHECK(by.at("problems").json_value == R"(["overheat"])");
  CHECK(by.at("shares_accepted").value == 100);
  CHECK(by.at("shares_rejected").value == 1);
  CHECK(by.at("stats_age").value == 30);
  CHECK(by.count("fan_rpm_min") == 0);
  auto asic = parse_workers(list(kAsic), 55);
  std::map<std::string, MetricValue> a;
  for (const auto& m : metrics_of(asic.value().items[0], 1577829600))
    a[m.name] = m;
  CHECK(a.at("hashrate").value.value() == Approx(13.5));
  CHECK(a.at("fan_rpm_min").value == 4200);
  CHECK(a.at("temperature").value == 70);
  CHECK(a.count("gpu_temp_max") == 0);
}

TEST_CASE("a worker is live only when online and its stats are fresh", "[hiveos]") {
  Worker w;
  CHECK_FALSE(is_live(w, 1000, 300));
  w.stats.online = true;
  CHECK_FALSE(is_live(w, 1000, 300));  // no stats_time
  w.stats.stats_time = 800;
  CHECK(is_live(w, 1000, 300));
  CHECK_FALSE(is_live(w, 1101, 300));  // stale although online says true
  w.stats.online = false;
  CHECK_FALSE(is_live(w, 1000, 300));
}

TEST_CASE("absurd numbers are no data, so sums stay finite", "[hiveos]") {
  auto r = parse_workers(
      list(R"({"id": 1, "stats": {"online": true, "stats_time": 1e300, "power_draw": 1e300},
               "gpu_stats": [{"bus_number": 1, "temp": 1e308, "power": 1e308},
                             {"bus_number": 2, "temp": 60, "power": 1e308}]})"),
      1);
  REQUIRE(r.ok());
  const Worker& w = r.value().items[0];
  CHECK_FALSE(w.stats.stats_time.has_value());
  CHECK_FALSE(w.stats.power_draw_w.has_value());
  CHECK_FALSE(w.gpus[0].temp_c.has_value());
  CHECK(w.gpus[1].temp_c == 60);
  for (const auto& m : metrics_of(w, 0))
    CHECK(m.name != "power");
}

TEST_CASE("a dual miner's second algorithm is listed, but not added to the hashrate", "[hiveos]") {
  auto r = parse_workers(list(R"({"id": 1, "stats": {"online": true, "stats_time": 100},
               "miners_summary": {"hashrates": [{"miner": "lolminer", "algo": "etchash",
                 "coin": "ETC", "hash": 90000, "dalgo": "kheavyhash", "dcoin": "KAS",
                 "dhash": 900000, "shares": {"accepted": 5}}]}})"),
                         1);
  REQUIRE(r.ok());
  const auto& hs = r.value().items[0].hashrates;
  REQUIRE(hs.size() == 2);
  CHECK_FALSE(hs[0].secondary);
  CHECK(hs[1].secondary);
  CHECK(hs[1].algo == "kheavyhash");
  CHECK(hs[1].coin == "KAS");
  CHECK(hs[1].ths == Approx(900000 / 1e9));
  std::map<std::string, MetricValue> by;
  for (const auto& m : metrics_of(r.value().items[0], 100))
    by[m.name] = m;
  CHECK(by.at("hashrate").value.value() == Approx(90000 / 1e9));
  CHECK(by.at("hashrate").json_value == R"({"etchash":9e-05,"kheavyhash":0.0009})");
  CHECK(by.at("shares_accepted").value == 5);
}

TEST_CASE("bus numbers out of range are skipped, GPUs sort by index then bus", "[hiveos]") {
  auto r =
      parse_workers(list(R"({"id": 1, "gpu_info": [{"bus_number": 3}, {"bus_number": 2, "index": 1},
                                     {"bus_number": 1}, {"bus_number": 4, "index": 0}],
               "miners_stats": {"hashrates": [{"hashes": [10, 20, 30], "bus_numbers": [1e300, -5, 3]}]}})"),
                    1);
  REQUIRE(r.ok());
  const auto& g = r.value().items[0].gpus;
  REQUIRE(g.size() == 4);
  CHECK(g[0].bus_number == 4);
  CHECK(g[1].bus_number == 2);
  CHECK(g[2].bus_number == 1);
  CHECK(g[3].bus_number == 3);
  CHECK(g[3].hashrate_ths.value() == Approx(30 / 1e9));
  CHECK_FALSE(g[2].hashrate_ths.has_value());
}

TEST_CASE("a command body never throws on text that is not UTF-8", "[hiveos]") {
  CHECK_NOTHROW(
      command_body({"re\xff"
                    "boot",
                    "{}"}));
}
