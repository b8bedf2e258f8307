// The simulator's payloads against the real firmware's schema (vnish-openapi.json) and against
// the real legacy/current/failure examples of external-apis.md §1.4-1.9.
#include <catch2/catch.hpp>

#include <set>

#include "payloads.h"
#include "schema_check.h"
#include "sim_fixtures.h"

using namespace fleet::minersim;
using namespace fleet::minersim::test;
using nlohmann::json;

namespace {

const SchemaCheck& schema() {
  static const SchemaCheck check;
  return check;
}

json get(Miner& m, const std::string& path, Now now = t0()) {
  auto r = call(m, {.path = path, .api_key = kKey}, now);
  REQUIRE(r.status == 200);
  return json_of(r);
}

// Every key path of a document ("miner.chains[].status.state"), to compare shapes.
void key_paths(const json& v, const std::string& prefix, std::set<std::string>& out) {
  if (v.is_object()) {
    for (const auto& [k, item] : v.items()) {
      out.insert(prefix + k);
      key_paths(item, prefix + k + ".", out);
    }
  } else if (v.is_array()) {
    for (const auto& item : v)
      key_paths(item, prefix.substr(0, prefix.size() - 1) + "[].", out);
  }
}

}  // namespace

TEST_CASE("miner-sim: current-firmware payloads validate against the firmware's OpenAPI schemas",
          "[minersim][payload]") {
  const std::string model = GENERATE("s19", "s19jpro", "s21");
  Miner m = keyed_miner({.model = model, .firmware = FirmwareMix::kCurrent});
  CAPTURE(model);
  CHECK(schema().validate(get(m, "/api/v1/info"), "InfoJson") == "");
  CHECK(schema().validate(get(m, "/api/v1/status"), "StatusPane") == "");
  const json summary = get(m, "/api/v1/summary");
  CHECK(schema().validate(summary, "Summary") == "");
  // Summary's `miner` is oneOf null|AntmMinerStats: check the object branch explicitly too.
  CHECK(schema().validate(summary["miner"], "AntmMinerStats") == "");
  CHECK(schema().validate_schema(
            get(m, "/api/v1/chains"),
            json{{"type", "array"},
                 {"items", {{"$ref", "#/components/schemas/AntmChainChips"}}}}) == "");
  CHECK(schema().validate_schema(
            get(m, "/api/v1/autotune/presets"),
            json{{"type", "array"},
                 {"items", {{"$ref", "#/components/schemas/AutotunePresetDto"}}}}) == "");
  CHECK(schema().validate(get(m, "/api/v1/perf-summary"), "PerfSummary") == "");
  CHECK(schema().validate(get(m, "/api/v1/settings"), "ViewConfig") == "");
  CHECK(schema().validate(get(m, "/api/v1/chains/factory-info"), "FactoryInfoReply") == "");
  CHECK(schema().validate(get(m, "/api/v1/chips"), "AntmChainsChipsStats") == "");
}

TEST_CASE("miner-sim: the schema check itself rejects wrong payloads", "[minersim][payload]") {
  // Guards the guard: a checker that accepts everything would make the test above worthless.
  Miner m = keyed_miner();
  json summary = get(m, "/api/v1/summary");
  summary["miner"].erase("hr_nominal");
  summary["miner"]["chains"][0]["status"]["state"] = "exploded";
  summary["miner"]["power_consumption"] = "3000";
  const std::string problems = schema().validate(summary["miner"], "AntmMinerStats");
  CHECK_THAT(problems, Catch::Matchers::Contains("missing required 'hr_nominal'"));
  CHECK_THAT(problems, Catch::Matchers::Contains("\"exploded\" not in enum"));
  CHECK_THAT(problems, Catch::Matchers::Contains("$.power_consumption: type string"));
}

TEST_CASE("miner-sim: chains carry every chip: 76 (S19), 126 (S19j Pro), 108 (S21) on 3 chains",
          "[minersim][payload]") {
  const auto [model, chips] =
      GENERATE(table<std::string, int>({{"s19", 76}, {"s19jpro", 126}, {"s21", 108}}));
  Miner m = keyed_miner({.model = model});
  const json chains = get(m, "/api/v1/chains");
  REQUIRE(chains.size() == 3);
  for (const auto& c : chains)
    CHECK(c["chips"].size() == static_cast<size_t>(chips));
  CHECK(get(m, "/api/v1/model")["chain"]["chips_per_chain"] == chips);
  // chip_statuses in /summary add up to the chips per chain (how some parsers count chips).
  for (const auto& c : get(m, "/api/v1/summary")["miner"]["chains"]) {
    const auto& st = c["chip_statuses"];
    CHECK(st["red"].get<int>() + st["orange"].get<int>() + st["grey"].get<int>() == chips);
  }
}

TEST_CASE("miner-sim: the S19 /model matches the real firmware's answer", "[minersim][payload]") {
  Miner m = keyed_miner({.model = "s19"});
  const json model = get(m, "/api/v1/model");
  CHECK(model["full_name"] == "Antminer S19");
  CHECK(model["model"] == "s19");
  CHECK(model["chain"]["topology"]["chips"][0] == json({16, 17, 18, 19, 56, 57, 58, 59}));
  CHECK(model["chain"]["topology"]["chips"][9] == json({-1, -1, 37, 36, 39, 38, -1, -1}));
  CHECK(model["overclock"]["default_voltage"] == 1380);
  CHECK(model["overclock"]["default_freq"] == 675);
  CHECK(model["cooling"]["fan_min_count"] == json({{"min", 1}, {"max", 4}, {"default", 4}}));
}

TEST_CASE("miner-sim: every topology lists each chip id exactly once", "[minersim][payload]") {
  for (const auto& model : model_catalog()) {
    std::vector<int> seen(model.chips_per_chain, 0);
    for (const auto& row : model.topology()) {
      for (int id : row) {
        if (id >= 0) ++seen.at(id);
      }
    }
    CAPTURE(model.alias);
    CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  }
}

TEST_CASE("miner-sim: legacy firmware (1.2.0-beta10) sends the deprecated fields only",
          "[minersim][payload]") {
  Miner m = keyed_miner({.model = "s19", .firmware = FirmwareMix::kLegacy});
  const json s = get(m, "/api/v1/summary");
  const json& miner = s["miner"];
  CHECK(miner["miner_type"] == "Antminer S19 (Vnish 1.2.0-beta10)");
  // Deprecated fields in TH/s and W ...
  CHECK(miner["average_hashrate"].get<double>() == Approx(95.0).margin(6));
  CHECK(miner["instant_hashrate"].is_number_float());
  CHECK(miner["power_usage"].is_number_float());
  CHECK(miner["power_usage"].get<double>() == Approx(3250).margin(150));
  // ... and none of the newer ones.
  for (const char* newer :
       {"hr_stock", "hr_realtime", "hr_nominal", "hr_average", "hr_error", "power_consumption"}) {
    CAPTURE(newer);
    CHECK_FALSE(miner.contains(newer));
  }
  CHECK(s.contains("system"));
  CHECK(s["system"]["network_status"]["ip"] == "127.20.0.1");
  for (const auto& fan : miner["cooling"]["fans"]) {
    CHECK(fan.size() == 2);  // {id, rpm}: no status, no max_rpm
  }
  for (const auto& pool : miner["pools"])
    CHECK_FALSE(pool.contains("ping"));
  const json& chain = miner["chains"][0];
  CHECK(chain.contains("power_usage"));
  CHECK(chain["pcb_temp_sens"].size() == 4);
  CHECK(chain["chip_temp_sens"][0]["status"] == "measure");
  CHECK_FALSE(chain.contains("hr_error"));
  CHECK_FALSE(chain.contains("pcb_temp"));
  CHECK(chain["voltage"].is_number_integer());
  // The key set matches the real beta10 example's (external-apis.md §1.7) for the fields shown.
  std::set<std::string> keys;
  key_paths(s, "", keys);
  for (const char* k : {"system.uptime",
                        "miner.miner_status.miner_state",
                        "miner.hardware_version",
                        "miner.cgminer_version",
                        "miner.compile_time",
                        "miner.pcb_temp.min",
                        "miner.chip_temp.max",
                        "miner.power_efficiency",
                        "miner.hw_errors_percent",
                        "miner.devfee_percent",
                        "miner.pools[].diffa",
                        "miner.pools[].ls_time",
                        "miner.cooling.settings.mode.param",
                        "miner.cooling.fan_duty",
                        "miner.chains[].hashrate_ideal",
                        "miner.chains[].hashrate_percentage",
                        "miner.chains[].chip_statuses.grey",
                        "miner.chains[].status.description",
                        "miner.found_blocks",
                        "miner.best_share"}) {
    CAPTURE(k);
    CHECK(keys.count(k) == 1);
  }
  CHECK(get(m, "/api/v1/info")["serial"] == "N/A");
}

TEST_CASE("miner-sim: current firmware reports GH/s in hr_* and TH/s in the deprecated fields",
          "[minersim][payload]") {
  Miner m = keyed_miner({.model = "s21"});
  const json miner = get(m, "/api/v1/summary")["miner"];
  CHECK(miner["hr_stock"].get<double>() == 200000.0);
  CHECK(miner["hr_nominal"].get<double>() == 200000.0);
  CHECK(miner["hr_realtime"].get<double>() == Approx(200000).epsilon(0.08));
  CHECK(miner["instant_hashrate"].get<double>() ==
        Approx(miner["hr_realtime"].get<double>() / 1000).epsilon(1e-4));
  CHECK(miner["power_consumption"].get<int>() == Approx(3500).epsilon(0.05));
  CHECK(miner["power_efficiency"].get<double>() == Approx(17.5).epsilon(0.1));
  double chain_sum = 0;
  for (const auto& c : miner["chains"])
    chain_sum += c["hashrate_rt"].get<double>();
  CHECK(chain_sum == Approx(miner["hr_realtime"].get<double>()).epsilon(1e-3));
  for (const auto& fan : miner["cooling"]["fans"]) {
    CHECK(fan["status"] == "ok");
    CHECK(fan["max_rpm"] == 6600);
    CHECK(fan["rpm"].get<int>() > 1000);
  }
}

TEST_CASE("miner-sim: presets come as a bare array or wrapped in {\"presets\": [...]}",
          "[minersim][payload]") {
  Miner bare = keyed_miner({.model = "s19", .presets = PresetsMix::kBare});
  Miner wrapped = keyed_miner({.model = "s19", .presets = PresetsMix::kWrapped});
  const json a = get(bare, "/api/v1/autotune/presets");
  const json b = get(wrapped, "/api/v1/autotune/presets");
  REQUIRE(a.is_array());
  REQUIRE(b.is_object());
  CHECK(b["presets"] == a);
  // The real S19 list (external-apis.md §1.9).
  CHECK(a.size() == 16);
  CHECK(a[0]["name"] == "disabled");
  CHECK(a[0]["pretty"] == "Disabled");
  CHECK(a[0]["tune_settings"]["volt"] == 13800);
  CHECK(a[0]["tune_settings"]["freq"] == 675);
  CHECK(a[1]["name"] == "1100");
  CHECK(a[1]["pretty"] == "1100 watt ~ 53 TH");
  CHECK(a[15]["pretty"] == "4690 watt ~ 124 TH");
  int tuned = 0;
  for (const auto& p : a) {
    if (p["status"] == "tuned") {
      ++tuned;
      CHECK(p["tune_settings"]["chains"][0]["chips"].size() == 76);
    }
  }
  CHECK(tuned > 0);
}

TEST_CASE("miner-sim: a miner in failure sends the real failure payloads", "[minersim][payload]") {
  Miner m = keyed_miner({.model = "s19"});
  m.add_fault({.kind = FaultKind::kFailure});
  const json status = get(m, "/api/v1/status");
  CHECK(status["miner_state"] == "failure");
  CHECK(status["description"] == "Failed to parse miner configuration");
  CHECK(status["failure_code"] == 1002);
  const json s = get(m, "/api/v1/summary");
  CHECK(schema().validate(s["miner"], "AntmMinerStats") == "");
  CHECK(s["miner"]["chains"] == json::array());
  CHECK(s["miner"]["cooling"]["fans"] == json::array());
  CHECK(s["miner"]["hr_realtime"] == 0.0);
  CHECK(get(m, "/api/v1/chains") == json::array());
}

TEST_CASE("miner-sim: a miner that failed to start mining has no miner data in /summary",
          "[minersim][payload]") {
  Miner m = keyed_miner({.model = "s19"});
  m.add_fault({.kind = FaultKind::kNoMiner});
  const json s = get(m, "/api/v1/summary");
  REQUIRE(s.contains("miner"));
  CHECK(s["miner"].is_null());
  const json status = get(m, "/api/v1/status");
  CHECK(status["miner_state"] == "failure");
  CHECK(status["description"] == "Failed to parse miner configuration");
  CHECK(status["failure_code"] == 1002);
  m.clear_faults();
  CHECK(get(m, "/api/v1/summary")["miner"].is_object());
}

TEST_CASE("miner-sim: a failing chain is red, in failure and not hashing, the others mine on",
          "[minersim][payload]") {
  Miner m = keyed_miner({.model = "s19jpro"});
  const double before = get(m, "/api/v1/summary")["miner"]["hr_realtime"];
  m.add_fault({.kind = FaultKind::kFailingChain, .arg = 2});
  const json miner = get(m, "/api/v1/summary")["miner"];
  const json& bad = miner["chains"][1];
  CHECK(bad["status"]["state"] == "failure");
  CHECK(bad["chip_statuses"]["red"] == 126);
  CHECK(bad["hashrate_rt"] == 0.0);
  CHECK(miner["chains"][0]["status"]["state"] == "mining");
  CHECK(miner["hr_realtime"].get<double>() == Approx(before * 2 / 3).epsilon(0.05));
  const json chains = get(m, "/api/v1/chains");
  CHECK(chains[1]["status"]["state"] == "failure");
  CHECK(chains[1]["status"]["failure_message"].is_string());
  for (const auto& chip : chains[1]["chips"]) {
    CHECK(chip["grade"] == "red");
    CHECK(chip["hr"] == 0.0);
  }
  CHECK(chains[0]["status"]["failure_message"].is_null());
}

TEST_CASE("miner-sim: a lost fan reads 0 rpm with status lost", "[minersim][payload]") {
  Miner m = keyed_miner();
  m.add_fault({.kind = FaultKind::kFanLost, .arg = 2});
  const json fans = get(m, "/api/v1/summary")["miner"]["cooling"]["fans"];
  CHECK(fans[2]["rpm"] == 0);
  CHECK(fans[2]["status"] == "lost");
  CHECK(fans[1]["status"] == "ok");
}

TEST_CASE("miner-sim: values drift over time but stay realistic", "[minersim][payload]") {
  Miner m = keyed_miner({.model = "s19jpro"});
  std::set<double> hashrates;
  for (int i = 0; i < 200; ++i) {
    const Now now = t0().plus(std::chrono::seconds(30 * i));
    const json miner = get(m, "/api/v1/summary", now)["miner"];
    const double hr = miner["hr_realtime"];
    hashrates.insert(hr);
    CHECK(hr > 104000 * 0.9);
    CHECK(hr < 104000 * 1.1);
    CHECK(miner["chip_temp"]["max"].get<int>() < 90);
    CHECK(miner["chip_temp"]["min"].get<int>() > 35);
    CHECK(miner["pcb_temp"]["max"].get<int>() < miner["chip_temp"]["max"].get<int>());
  }
  CHECK(hashrates.size() > 150);  // it moves
}

TEST_CASE("miner-sim: two miners built from the same seed answer identically",
          "[minersim][payload]") {
  Miner a = keyed_miner({.index = 7});
  Miner b = keyed_miner({.index = 7});
  CHECK(get(a, "/api/v1/summary") == get(b, "/api/v1/summary"));
  CHECK(get(a, "/api/v1/chains") == get(b, "/api/v1/chains"));
  Miner c = keyed_miner({.index = 7, .seed = 43});
  CHECK(get(a, "/api/v1/chains") != get(c, "/api/v1/chains"));
}

TEST_CASE("miner-sim: after a restart the miner initializes: chains red, no hashrate, then mines",
          "[minersim][payload]") {
  Miner m = keyed_miner({.model = "s19jpro"});
  REQUIRE_FALSE(m.mining_restart(t0()).has_value());
  const json restarting = get(m, "/api/v1/summary", t0().plus(std::chrono::milliseconds(500)));
  CHECK(restarting["miner"]["miner_status"]["miner_state"] == "restarting");
  const json init = get(m, "/api/v1/summary", t0().plus(std::chrono::seconds(3)));
  CHECK(init["miner"]["miner_status"]["miner_state"] == "initializing");
  for (const auto& c : init["miner"]["chains"]) {
    CHECK(c["status"]["state"] == "initializing");
    CHECK(c["chip_statuses"]["red"] == 126);  // the real S19j Pro initializing example
    CHECK(c["hashrate_rt"] == 0.0);
  }
  const json mining = get(m, "/api/v1/summary", t0().plus(std::chrono::seconds(8)));
  CHECK(mining["miner"]["miner_status"]["miner_state"] == "mining");
  CHECK(mining["miner"]["hr_realtime"].get<double>() > 90000);
}

TEST_CASE("miner-sim: uptime is printed like the firmware prints it", "[minersim][payload]") {
  CHECK(format_uptime(6 * 60) == "0:06");
  CHECK(format_uptime(9 * 86400 + 3 * 3600 + 58 * 60) == "9 days,  3:58");
  CHECK(format_uptime(86400 + 12 * 3600) == "1 day, 12:00");
}

TEST_CASE("miner-sim: the web page identifies the firmware as AnthillOS", "[minersim][payload]") {
  Miner m = make_miner();
  auto r = call(m, {.path = "/"});
  CHECK(r.status == 200);
  CHECK_THAT(body_of(r), Catch::Matchers::Contains("AnthillOS"));
}
