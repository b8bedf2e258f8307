// The HiveOS payload mappers (hiveos/parse.h) and what a worker contributes to the metrics
// (hiveos/metrics.h) against payloads shaped as hiveos-api-v2.yaml defines them
// (tests/fixtures/hiveos/: Farm, WorkerListItem, Worker, CommandResponse, CommandsResponse,
// WorkerMessageFull): a full GPU rig, an ASIC, null and missing sections, wrong types, unknown
// fields, items without an id, caps and depth, kH/s -> TH/s, and the command bodies.
#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hiveos/metrics.h"
#include "hiveos/parse.h"

namespace {

using namespace fleet::hiveos;
using fleet::ErrorKind;
using json = nlohmann::json;

std::string fixture(const std::string& name) {
  std::string path = FLEETTEST_SOURCE_DIR;
  path.append("/tests/fixtures/hiveos/").append(name);
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Worker& by_id(const std::vector<Worker>& workers, std::int64_t id) {
  for (const auto& w : workers) {
    if (w.id == id) return w;
  }
  FAIL("no worker " << id);
  throw std::logic_error("unreachable");
}

// The metrics by name; a name twice would break the batched metrics_latest upsert.
std::map<std::string, MetricValue> metrics_by_name(const Worker& w, std::int64_t now) {
  std::map<std::string, MetricValue> out;
  for (const auto& m : metrics_of(w, now)) {
    INFO(m.name);
    CHECK(out.count(m.name) == 0);
    out[m.name] = m;
  }
  return out;
}

double metric(const std::map<std::string, MetricValue>& metrics, const std::string& name) {
  auto it = metrics.find(name);
  INFO(name);
  REQUIRE(it != metrics.end());
  REQUIRE(it->second.value.has_value());
  return *it->second.value;
}

// An optional reading as a number: absent is NaN, which equals no Approx.
double v(const std::optional<double>& value) {
  return value.value_or(std::numeric_limits<double>::quiet_NaN());
}

constexpr std::int64_t kStatsTime = 1764000000;  // the rig fixture's stats.stats_time

}  // namespace

TEST_CASE("hiveos mapper: GET /farms keeps the farms with an id and counts the others",
          "[hiveos]") {
  auto farms = parse_farms(fixture("farms.json"));
  REQUIRE(farms.ok());
  REQUIRE(farms->items.size() == 3);
  CHECK(farms->dropped == 4);  // no id, a negative id, an id as a string, not an object
  CHECK(farms->items[0].id == 55);
  CHECK(farms->items[0].name == "Main farm");
  CHECK(farms->items[0].workers_count == 10);
  CHECK(farms->items[1].id == 56);
  CHECK(farms->items[1].name == "ASIC farm");
  CHECK(farms->items[1].workers_count == 3);
  // A null name gets a stable stand-in; a null count is no count, not zero.
  CHECK(farms->items[2].id == 57);
  CHECK(farms->items[2].name == "farm-57");
  CHECK_FALSE(farms->items[2].workers_count.has_value());
}

TEST_CASE("hiveos mapper: a full GPU rig from the workers list", "[hiveos]") {
  auto workers = parse_workers(fixture("workers_gpu_rig.json"), 55);
  REQUIRE(workers.ok());
  REQUIRE(workers->items.size() == 1);
  CHECK(workers->dropped == 0);
  const Worker& w = workers->items[0];
  CHECK(w.id == 1001);
  CHECK(w.farm_id == 55);  // WorkerListItem has no farm_id: the farm asked for
  CHECK(w.platform == 1);
  CHECK(w.name == "rig-01");
  CHECK(w.description == "2x RTX 3070, rack A");
  CHECK(w.active == true);
  CHECK(w.units_count == 2);
  CHECK(w.ip_addresses == std::vector<std::string>{"192.168.0.105", "10.8.0.5"});
  CHECK(w.remote_ip == "1.2.3.4");

  // versions: the string values as given; the null amd_driver left out.
  json versions = json::parse(w.versions_json);
  CHECK(versions == json{{"hive", "0.6-222@230512"},
                         {"kernel", "5.15.0-hiveos"},
                         {"nvidia_driver", "525.105.17"}});

  CHECK(w.stats.online == true);
  CHECK(w.stats.stats_time == kStatsTime);
  CHECK(w.stats.boot_time == 1763990000);
  CHECK(w.stats.miner_start_time == 1763990100);
  CHECK(w.stats.gpus_online == 2);
  CHECK(w.stats.gpus_offline == 0);
  CHECK(w.stats.gpus_overheated == 1);
  CHECK(v(w.stats.power_draw_w) == Approx(412));
  CHECK(w.stats.problems == std::vector<std::string>{"overheat"});

  // miners_summary: kH/s -> TH/s, shares as given; the dual miner's second algorithm after it.
  REQUIRE(w.hashrates.size() == 2);
  CHECK(w.hashrates[1].secondary);
  CHECK(w.hashrates[1].algo == "kheavyhash");
  CHECK(w.hashrates[1].ths == Approx(914928e-9));
  CHECK(w.hashrates[0].miner == "lolminer");
  CHECK(w.hashrates[0].algo == "etchash");
  CHECK(w.hashrates[0].coin == "ETC");
  CHECK(w.hashrates[0].ths == Approx(123456e-9));
  CHECK(w.hashrates[0].accepted == 1500);
  CHECK(w.hashrates[0].rejected == 3);
  CHECK(w.hashrates[0].invalid == 1);

  // gpu_info (listed bus 3 first) and gpu_stats merged by bus_number, in index order, with the
  // per-GPU hashrate from miners_stats by bus number.
  REQUIRE(w.gpus.size() == 2);
  const Gpu& g0 = w.gpus[0];
  CHECK(g0.index == 0);
  CHECK(g0.bus_number == 1);
  CHECK(g0.bus_id == "01:00.0");
  CHECK(g0.brand == "nvidia");
  CHECK(g0.model == "GeForce RTX 3070");
  CHECK(v(g0.temp_c) == Approx(70));
  CHECK(v(g0.mem_temp_c) == Approx(82));
  CHECK(v(g0.fan_percent) == Approx(60));
  CHECK(v(g0.power_w) == Approx(180));
  CHECK(v(g0.core_clock_mhz) == Approx(1500));
  CHECK(v(g0.mem_clock_mhz) == Approx(7000));
  REQUIRE(g0.hashrate_ths.has_value());
  CHECK(*g0.hashrate_ths == Approx(61000e-9));
  const Gpu& g1 = w.gpus[1];
  CHECK(g1.index == 1);
  CHECK(g1.bus_number == 3);
  CHECK(g1.bus_id == "03:00.0");
  CHECK(v(g1.temp_c) == Approx(81));
  CHECK(v(g1.fan_percent) == Approx(85));
  REQUIRE(g1.hashrate_ths.has_value());
  CHECK(*g1.hashrate_ths == Approx(62456e-9));

  CHECK(v(w.max_temp_c) == Approx(81));
  CHECK(v(w.max_fan_percent) == Approx(85));
  CHECK(v(w.cpu_temp_c) == Approx(43));  // the hotter of cputemp [41, 43]
  CHECK(v(w.cpu_load_1m) == Approx(2.01));
  CHECK(w.watchdog.enabled == true);
  CHECK(v(w.watchdog.restart_timeout_min) == Approx(5));
  CHECK(v(w.watchdog.reboot_timeout_min) == Approx(10));
  CHECK(w.watchdog.power_action == "reboot");

  // Nothing ASIC about a rig.
  CHECK(w.boards.empty());
  CHECK(w.asic_model.empty());
  CHECK_FALSE(w.min_fan_rpm.has_value());
}

TEST_CASE("hiveos mapper: the metrics of a GPU rig use the catalogue's names and units",
          "[hiveos]") {
  auto workers = parse_workers(fixture("workers_gpu_rig.json"), 55);
  REQUIRE(workers.ok());
  const auto m = metrics_by_name(workers->items.at(0), kStatsTime + 60);
  CHECK(metric(m, "hashrate") == Approx(123456e-9));
  // The dual miner's second algorithm is in the split, not in the sum.
  CHECK(json::parse(m.at("hashrate").json_value) ==
        json{{"etchash", 123456e-9}, {"kheavyhash", 914928e-9}});
  CHECK(json::parse(m.at("hashrate").metadata_json) == json{{"unit", "TH/s"}});
  CHECK(metric(m, "gpu_temp_max") == Approx(81));
  CHECK(metric(m, "temperature") == Approx(81));
  CHECK(metric(m, "power") == Approx(412));
  CHECK(metric(m, "fan_percent_max") == Approx(85));
  CHECK(metric(m, "gpus_online") == 2);
  CHECK(metric(m, "gpus_offline") == 0);
  CHECK(metric(m, "gpus_overheated") == 1);
  CHECK(metric(m, "problems") == 1);
  CHECK(json::parse(m.at("problems").json_value) == json{"overheat"});
  CHECK(metric(m, "shares_accepted") == 1500);
  CHECK(metric(m, "shares_rejected") == 3);
  CHECK(metric(m, "stats_age") == 60);
  CHECK(m.count("fan_rpm_min") == 0);  // no ASIC fans on a rig
}

TEST_CASE("hiveos mapper: a rig is live only while online and its stats are fresh", "[hiveos]") {
  auto workers = parse_workers(fixture("workers_gpu_rig.json"), 55);
  REQUIRE(workers.ok());
  const Worker& w = workers->items.at(0);
  CHECK(is_live(w, kStatsTime, 300));
  CHECK(is_live(w, kStatsTime + 300, 300));
  CHECK_FALSE(is_live(w, kStatsTime + 301, 300));  // online says true, the stats are old

  auto edge = parse_workers(fixture("workers_edge.json"), 55);
  REQUIRE(edge.ok());
  CHECK_FALSE(is_live(by_id(edge->items, 3006), kStatsTime, 300));  // fresh but online: false
  CHECK_FALSE(is_live(by_id(edge->items, 3001), kStatsTime, 300));  // stats: null
  CHECK_FALSE(is_live(by_id(edge->items, 3002), kStatsTime, 300));  // no stats at all
}

TEST_CASE("hiveos mapper: an ASIC worker has boards and ASIC fans, no GPUs", "[hiveos]") {
  auto workers = parse_workers(fixture("workers_asic.json"), 56);
  REQUIRE(workers.ok());
  REQUIRE(workers->items.size() == 1);
  const Worker& w = workers->items[0];
  CHECK(w.id == 2001);
  CHECK(w.farm_id == 56);
  CHECK(w.platform == 2);
  CHECK(w.name == "s19jpro-a1");
  CHECK(w.asic_model == "Antminer S19j Pro");
  CHECK(w.asic_firmware == "Mon Jan 10 12:00:00 CST 2022");
  // miners_stats lists per-chain hashes with bus numbers; they make no GPUs on an ASIC.
  CHECK(w.gpus.empty());
  REQUIRE(w.hashrates.size() == 1);
  CHECK(w.hashrates[0].algo == "sha256");
  CHECK(w.hashrates[0].ths == Approx(95.0));  // 95,000,000,000 kH/s
  CHECK(w.stats.boards_online == 2);
  CHECK(w.stats.boards_offline == 1);

  REQUIRE(w.boards.size() == 3);
  const Board& b = w.boards[0];
  CHECK(b.chain == 5);
  CHECK(b.chips == 126);
  CHECK(v(b.freq_mhz) == Approx(525.0));
  CHECK(v(b.temp_c) == Approx(78));
  CHECK(v(b.board_temp_c) == Approx(62));
  CHECK(v(b.power_w) == Approx(1080.5));
  CHECK(b.hw_errors == 3);
  CHECK(w.boards[1].chain == 6);
  CHECK(w.boards[2].chips == 0);

  CHECK(v(w.min_fan_rpm) == Approx(4380));
  CHECK(v(w.max_fan_percent) == Approx(76));
  CHECK(v(w.max_temp_c) == Approx(80));  // the hottest board

  const auto m = metrics_by_name(w, 1764000030 + 10);
  CHECK(metric(m, "hashrate") == Approx(95.0));
  CHECK(metric(m, "temperature") == Approx(80));
  CHECK(m.count("gpu_temp_max") == 0);
  CHECK(metric(m, "power") == Approx(3250));
  CHECK(metric(m, "fan_rpm_min") == Approx(4380));
  CHECK(metric(m, "fan_percent_max") == Approx(76));
  CHECK(metric(m, "boards_offline") == 1);
  CHECK(metric(m, "problems") == 0);
  CHECK(json::parse(m.at("problems").json_value) == json::array());
  CHECK(metric(m, "shares_accepted") == 12000);
  CHECK(metric(m, "shares_rejected") == 12);
  CHECK(metric(m, "stats_age") == 10);
}

TEST_CASE("hiveos mapper: null and missing sections leave fields empty, never zero", "[hiveos]") {
  auto workers = parse_workers(fixture("workers_edge.json"), 55);
  REQUIRE(workers.ok());

  for (std::int64_t id : {3001, 3002}) {
    INFO("worker " << id);
    const Worker& w = by_id(workers->items, id);
    CHECK(w.farm_id == 55);
    CHECK(w.platform == 1);
    CHECK(w.description.empty());
    CHECK_FALSE(w.active.has_value());
    CHECK_FALSE(w.units_count.has_value());
    CHECK(w.ip_addresses.empty());
    CHECK(w.remote_ip.empty());
    CHECK(w.versions_json == "{}");
    CHECK_FALSE(w.stats.online.has_value());
    CHECK_FALSE(w.stats.stats_time.has_value());
    CHECK_FALSE(w.stats.gpus_online.has_value());
    CHECK_FALSE(w.stats.power_draw_w.has_value());
    CHECK(w.stats.problems.empty());
    CHECK(w.hashrates.empty());
    CHECK(w.gpus.empty());
    CHECK(w.boards.empty());
    CHECK_FALSE(w.max_temp_c.has_value());
    CHECK_FALSE(w.max_fan_percent.has_value());
    CHECK_FALSE(w.cpu_temp_c.has_value());
    CHECK_FALSE(w.cpu_load_1m.has_value());
    CHECK_FALSE(w.watchdog.enabled.has_value());
    CHECK(w.watchdog.power_action.empty());
    // No data is no metric, not a zero reading.
    CHECK(metrics_of(w, kStatsTime).empty());
  }
  CHECK(by_id(workers->items, 3001).name == "all-null");
  CHECK(by_id(workers->items, 3002).name == "bare");
}

TEST_CASE("hiveos mapper: a field of the wrong type is skipped, the others kept", "[hiveos]") {
  auto workers = parse_workers(fixture("workers_edge.json"), 55);
  REQUIRE(workers.ok());
  const Worker& w = by_id(workers->items, 3003);
  CHECK(w.platform == 1);             // "2" is not a platform number
  CHECK(w.name == "worker-3003");     // 42 is not a name
  CHECK_FALSE(w.active.has_value());  // "yes"
  CHECK_FALSE(w.units_count.has_value());
  CHECK(w.ip_addresses.empty());  // a string, not a list
  CHECK(w.versions_json == "{}");
  CHECK_FALSE(w.stats.online.has_value());  // "true"
  CHECK_FALSE(w.stats.stats_time.has_value());
  CHECK_FALSE(w.stats.gpus_online.has_value());
  CHECK_FALSE(w.stats.power_draw_w.has_value());
  CHECK(w.stats.problems == std::vector<std::string>{"overheat", "low_asr"});
  CHECK(w.hashrates.empty());  // miners_summary.hashrates is an object
  // gpu_info keeps its one object; gpu_stats (an object, not a list) adds nothing.
  REQUIRE(w.gpus.size() == 1);
  CHECK(w.gpus[0].bus_number == 1);
  CHECK(w.gpus[0].model == "Radeon RX 580");
  CHECK(w.gpus[0].brand.empty());
  CHECK_FALSE(w.gpus[0].index.has_value());
  CHECK_FALSE(w.gpus[0].temp_c.has_value());
  CHECK_FALSE(w.gpus[0].hashrate_ths.has_value());
  CHECK_FALSE(w.cpu_temp_c.has_value());
  CHECK_FALSE(w.cpu_load_1m.has_value());
  CHECK_FALSE(w.watchdog.enabled.has_value());
  CHECK_FALSE(w.watchdog.restart_timeout_min.has_value());
  CHECK(w.watchdog.power_action.empty());

  const auto m = metrics_by_name(w, kStatsTime);
  CHECK(metric(m, "problems") == 2);
  CHECK(m.count("hashrate") == 0);
  CHECK(m.count("temperature") == 0);
  CHECK(m.count("stats_age") == 0);
}

TEST_CASE("hiveos mapper: items without a positive integer id are dropped and counted",
          "[hiveos]") {
  auto workers = parse_workers(fixture("workers_edge.json"), 55);
  REQUIRE(workers.ok());
  std::vector<std::int64_t> ids;
  for (const auto& w : workers->items)
    ids.push_back(w.id);
  CHECK(ids == std::vector<std::int64_t>{3001, 3002, 3003, 3006});
  CHECK(workers->dropped == 6);  // no id, 0, -7, "3005", 17, null
  // Names in any script come through as sent.
  CHECK(by_id(workers->items, 3006).name == "Rig \xC3\x9C \xE7\x9F\xBF\xE6\x9C\xBA");
}

TEST_CASE("hiveos mapper: the full Worker object", "[hiveos]") {
  auto parsed = parse_worker(fixture("worker_full.json"), 99);
  REQUIRE(parsed.ok());
  const Worker& w = parsed.value();
  CHECK(w.id == 1001);
  CHECK(w.farm_id == 55);  // the Worker object names its farm
  // Kept as given: choosing the first one that is an address is the caller's business.
  CHECK(w.ip_addresses == std::vector<std::string>{"not-an-ip", "192.168.0.105"});
  CHECK(w.watchdog.power_action == "shutdown");
  CHECK(w.stats.problems == std::vector<std::string>{"missed_unit", "low_asr"});
  // gpu_summary.max_temp is null: the hottest GPU instead.
  CHECK(v(w.max_temp_c) == Approx(70));
  CHECK(v(w.max_fan_percent) == Approx(60));
  REQUIRE(w.gpus.size() == 2);
  // A GPU that reports zeros (fallen off) has zeros, which are data.
  CHECK(v(w.gpus[1].temp_c) == Approx(0));
  CHECK(v(w.gpus[1].power_w) == Approx(0));
  REQUIRE(w.gpus[1].hashrate_ths.has_value());
  CHECK(*w.gpus[1].hashrate_ths == 0);
  CHECK_FALSE(w.gpus[1].core_clock_mhz.has_value());

  const auto m = metrics_by_name(w, kStatsTime);
  CHECK(metric(m, "power") == Approx(180));  // power_draw null: the GPUs' sum
  CHECK(metric(m, "gpus_offline") == 1);
  CHECK(metric(m, "problems") == 2);
  CHECK(metric(m, "stats_age") == 0);
}

TEST_CASE("hiveos mapper: a Worker answer without an id is refused", "[hiveos]") {
  for (const char* body : {R"({"farm_id": 55, "name": "x"})", R"({"id": null})", R"({"id": 0})",
                           R"({"data": [{"id": 1}]})", "[]", "null"}) {
    INFO(body);
    auto w = parse_worker(body, 55);
    REQUIRE_FALSE(w.ok());
    CHECK(w.error().kind() == ErrorKind::kDataLoss);
  }
}

TEST_CASE("hiveos mapper: hashrates go from kH/s to TH/s", "[hiveos]") {
  const std::string body = R"({"data": [
    {"id": 1, "miners_summary": {"hashrates": [
      {"miner": "a", "algo": "sha256", "hash": 1000000000},
      {"miner": "b", "algo": "kheavyhash", "hash": 250000000},
      {"miner": "c", "algo": "etchash", "hash": -5},
      {"miner": "d", "algo": "etchash"}]}}]})";
  auto workers = parse_workers(body, 1);
  REQUIRE(workers.ok());
  const auto& h = workers->items.at(0).hashrates;
  REQUIRE(h.size() == 4);
  CHECK(h[0].ths == Approx(1.0));
  CHECK(h[1].ths == Approx(0.25));
  CHECK(h[2].ths == 0);  // a negative hashrate is no hashrate
  CHECK(h[3].ths == 0);
  const auto m = metrics_by_name(workers->items.at(0), 0);
  CHECK(metric(m, "hashrate") == Approx(1.25));
  CHECK(json::parse(m.at("hashrate").json_value) ==
        json{{"sha256", 1.0}, {"kheavyhash", 0.25}, {"etchash", 0.0}});
}

TEST_CASE("hiveos mapper: without miners_summary an online rig's hashrate is its GPUs' sum",
          "[hiveos]") {
  const std::string body = R"({"data": [
    {"id": 1, "platform": 1, "stats": {"online": true, "stats_time": 100},
     "gpu_info": [{"bus_number": 1, "index": 0}, {"bus_number": 2, "index": 1}],
     "miners_stats": {"hashrates": [{"hashes": [500000000, 250000000], "bus_numbers": [1, 2]}]}},
    {"id": 2, "platform": 1, "stats": {"online": false, "stats_time": 100},
     "gpu_info": [{"bus_number": 1, "index": 0}],
     "miners_stats": {"hashrates": [{"hashes": [500000000], "bus_numbers": [1]}]}}]})";
  auto workers = parse_workers(body, 1);
  REQUIRE(workers.ok());
  const auto online = metrics_by_name(by_id(workers->items, 1), 100);
  CHECK(metric(online, "hashrate") == Approx(0.75));
  const auto offline = metrics_by_name(by_id(workers->items, 2), 100);
  CHECK(offline.count("hashrate") == 0);
}

TEST_CASE("hiveos mapper: POST command answers give the HiveOS command ids", "[hiveos]") {
  auto one = parse_command_response(fixture("command_response.json"), 1001);
  REQUIRE(one.ok());
  REQUIRE(one->size() == 1);
  CHECK((*one)[0].worker_id == 1001);
  CHECK((*one)[0].command_id == 9001);

  // Only the top-level id (CommandResponse's own "id").
  auto top = parse_command_response(R"({"id": 77})", 5);
  REQUIRE(top.ok());
  CHECK((*top)[0].command_id == 77);

  auto bulk = parse_commands_response(fixture("commands_response.json"));
  REQUIRE(bulk.ok());
  REQUIRE(bulk->size() == 3);  // the item without worker_id is dropped
  CHECK((*bulk)[0].worker_id == 1001);
  CHECK((*bulk)[0].command_id == 9101);
  CHECK((*bulk)[1].worker_id == 1002);
  CHECK((*bulk)[1].command_id == 9102);
  CHECK((*bulk)[2].worker_id == 1003);
  CHECK((*bulk)[2].command_id == 9100);  // no per-worker id: the answer's id

  for (const char* body : {"{}", R"({"commands": []})", R"({"id": "9"})", "not json"}) {
    INFO(body);
    auto r = parse_command_response(body, 1);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::kDataLoss);
  }
  for (const char* body : {"{}", R"({"id": 1, "commands": {}})", "[]"}) {
    INFO(body);
    auto r = parse_commands_response(body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::kDataLoss);
  }
}

TEST_CASE("hiveos mapper: worker messages carry the command results", "[hiveos]") {
  auto messages = parse_messages(fixture("messages.json"));
  REQUIRE(messages.ok());
  REQUIRE(messages->items.size() == 5);
  CHECK(messages->dropped == 1);
  const Message& reboot = messages->items[0];
  CHECK(reboot.id == 501);
  CHECK(reboot.cmd_id == 9001);
  CHECK(reboot.type == "success");
  CHECK(reboot.title == "Rebooting");
  CHECK(reboot.command == "reboot");
  CHECK(reboot.command_result == 0);
  CHECK(reboot.time == 1764000100);
  CHECK(reboot.payload.empty());
  const Message& exec = messages->items[1];
  CHECK(exec.type == "info");
  CHECK_FALSE(exec.command_result.has_value());  // an object, as the spec types it
  CHECK(exec.payload.rfind(" 12:00:01 up 3 days", 0) == 0);
  CHECK(messages->items[2].type == "danger");
  CHECK(messages->items[2].command_result == 1);
  CHECK_FALSE(messages->items[3].cmd_id.has_value());  // null: not about a command
  CHECK(messages->items[4].type == "file");
  CHECK(messages->items[4].payload == "aGVsbG8K");

  ParseLimits limits;
  limits.max_payload_bytes = 10;
  auto capped = parse_messages(fixture("messages.json"), limits);
  REQUIRE(capped.ok());
  CHECK(capped->items[1].payload.size() <= 10);
  CHECK(capped->items[1].payload.rfind(" 12:00:01", 0) == 0);
}

TEST_CASE("hiveos mapper: answers that are not the documented shape are refused", "[hiveos]") {
  const auto body =
      GENERATE(as<std::string>{}, "", "not json", "[]", "null", "{}", R"({"data": {}})",
               R"({"data": null})", R"({"data": "x"})", R"({"items": []})", R"({"data": [)");
  INFO(body);
  auto farms = parse_farms(body);
  REQUIRE_FALSE(farms.ok());
  CHECK(farms.error().kind() == ErrorKind::kDataLoss);
  auto workers = parse_workers(body, 1);
  REQUIRE_FALSE(workers.ok());
  CHECK(workers.error().kind() == ErrorKind::kDataLoss);
  auto messages = parse_messages(body);
  REQUIRE_FALSE(messages.ok());
  CHECK(messages.error().kind() == ErrorKind::kDataLoss);
}

TEST_CASE("hiveos mapper: an empty list is a valid answer", "[hiveos]") {
  auto farms = parse_farms(R"({"data": [], "tags": []})");
  REQUIRE(farms.ok());
  CHECK(farms->items.empty());
  CHECK(farms->dropped == 0);
  auto workers = parse_workers(R"({"data": []})", 1);
  REQUIRE(workers.ok());
  CHECK(workers->items.empty());
}

TEST_CASE("hiveos mapper: size, depth and item caps refuse the whole answer", "[hiveos]") {
  SECTION("a body over the byte cap is refused before it is parsed") {
    // Valid JSON just over the default 16 MiB: refused for its size, not its content.
    std::string body = R"({"data": [], "pad": ")";
    body.append((16u << 20) + 1 - body.size(), 'x');
    body += "\"}";
    REQUIRE(body.size() > (16u << 20));
    auto farms = parse_farms(body);
    REQUIRE_FALSE(farms.ok());
    CHECK(farms.error().kind() == ErrorKind::kDataLoss);
    CHECK_THAT(farms.error().message(), Catch::Contains("cap"));

    ParseLimits small;
    small.max_body_bytes = 100;
    const std::string ok_body = fixture("command_response.json");
    REQUIRE(ok_body.size() < 100);
    CHECK(parse_command_response(ok_body, 1, small).ok());
    auto big = parse_workers(fixture("workers_asic.json"), 1, small);
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().kind() == ErrorKind::kDataLoss);
  }
  SECTION("nesting deeper than max_depth is refused; max_depth itself is fine") {
    auto nested = [](int depth) {  // {"data":[{"x": [[...]]}]} nesting `depth` levels
      std::string open = R"({"data":[{"id":1,"x":)";
      std::string close = "}]}";
      for (int i = 3; i < depth; ++i) {
        open += "[";
        close.insert(0, "]");
      }
      return open + "1" + close;
    };
    auto at_cap = parse_workers(nested(16), 1);
    REQUIRE(at_cap.ok());
    CHECK(at_cap->items.size() == 1);
    auto over = parse_workers(nested(17), 1);
    REQUIRE_FALSE(over.ok());
    CHECK(over.error().kind() == ErrorKind::kDataLoss);
    CHECK_THAT(over.error().message(), Catch::Contains("deeper"));
    std::string very_deep(100000, '[');
    auto deep = parse_farms(very_deep);
    REQUIRE_FALSE(deep.ok());
    CHECK(deep.error().kind() == ErrorKind::kDataLoss);
  }
  SECTION("more items than max_items: the answer is refused, not cut") {
    ParseLimits limits;
    limits.max_items = 3;
    const std::string three = R"({"data": [{"id": 1}, {"id": 2}, {"id": 3}]})";
    const std::string four = R"({"data": [{"id": 1}, {"id": 2}, {"id": 3}, {"id": 4}]})";
    CHECK(parse_farms(three, limits).ok());
    CHECK(parse_workers(three, 1, limits).ok());
    CHECK(parse_messages(three, limits).ok());
    for (auto r : {parse_farms(four, limits).ok(), parse_workers(four, 1, limits).ok(),
                   parse_messages(four, limits).ok()})
      CHECK_FALSE(r);
    const std::string cmds =
        R"({"id": 1, "commands": [{"worker_id": 1}, {"worker_id": 2}, {"worker_id": 3},
                                  {"worker_id": 4}]})";
    CHECK_FALSE(parse_commands_response(cmds, limits).ok());
  }
}

TEST_CASE("hiveos mapper: per-worker lists and strings are capped", "[hiveos]") {
  json w = {{"id", 1}, {"platform", 1}};
  json gpu_info = json::array();
  for (int i = 0; i < 10; ++i)
    gpu_info.push_back({{"bus_number", i + 1}, {"index", i}, {"model", "GPU"}});
  w["gpu_info"] = gpu_info;
  json problems = json::array();
  for (int i = 0; i < 100; ++i)
    problems.push_back("overheat");
  w["stats"] = {{"problems", problems}};
  // 199 ASCII bytes then a two-byte character: the 200-byte cut falls inside it.
  w["name"] = std::string(199, 'a') + "\xC3\x9C" + std::string(100, 'b');
  w["description"] = std::string(5000, 'd');
  const std::string body = json{{"data", json::array({w})}}.dump();

  ParseLimits limits;
  limits.max_gpus = 4;
  auto workers = parse_workers(body, 1, limits);
  REQUIRE(workers.ok());
  const Worker& out = workers->items.at(0);
  CHECK(out.gpus.size() == 4);
  CHECK(out.stats.problems.size() == 32);
  CHECK(out.name == std::string(199, 'a'));  // no half character left at the end
  CHECK(out.description.size() == limits.max_string_bytes);
}

TEST_CASE("hiveos mapper: command bodies are the document's CommandRequest", "[hiveos]") {
  CHECK(json::parse(command_body({"reboot", "{}"})) == json{{"command", "reboot"}});
  CHECK(json::parse(command_body({"shutdown", R"({"wakealarm": true})"})) ==
        json{{"command", "shutdown"}, {"data", {{"wakealarm", true}}}});
  CHECK(json::parse(command_body({"miner", R"({"action": "restart"})"})) ==
        json{{"command", "miner"}, {"data", {{"action", "restart"}}}});
  CHECK(json::parse(command_body({"exec", R"({"cmd": "uptime; echo \"x\""})"})) ==
        json{{"command", "exec"}, {"data", {{"cmd", "uptime; echo \"x\""}}}});
  // data that is not a JSON object is left out rather than sent broken.
  CHECK(json::parse(command_body({"reboot", "not json"})) == json{{"command", "reboot"}});
  CHECK(json::parse(command_body({"reboot", "[1]"})) == json{{"command", "reboot"}});

  CHECK(json::parse(bulk_command_body({1001, 1002}, {"reboot", "{}"})) ==
        json{{"worker_ids", {1001, 1002}}, {"data", {{"command", "reboot"}}}});
  CHECK(
      json::parse(bulk_command_body({7}, {"miner", R"({"action": "stop"})"})) ==
      json{{"worker_ids", {7}}, {"data", {{"command", "miner"}, {"data", {{"action", "stop"}}}}}});
}
