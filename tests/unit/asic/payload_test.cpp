// Payload mappers against real Vnish payload shapes (tests/fixtures/vnish/, from
// ../shared/reference/external-apis.md §1): older firmware with deprecated fields only, newer
// firmware, failure states, empty /chains, presets bare and wrapped, and hostile input.
#include <catch2/catch.hpp>

#include "firmware/parse.h"
#include "process.h"

using namespace fleet;
using namespace fleet::firmware;
using Catch::Matchers::Contains;

namespace {

std::string fixture(const std::string& name) {
  std::string path = FLEETTEST_SOURCE_DIR;
  path.append("/tests/fixtures/vnish/").append(name);
  return test::read_file(path);
}

const PayloadLimits kLimits{};

std::string nested(int levels) {
  return std::string(levels, '[') + std::string(levels, ']');
}

}  // namespace

TEST_CASE("info of newer firmware identifies a Vnish miner by its lower-case MAC", "[payload]") {
  auto info = parse_info(fixture("info_1.2.6.json"), kLimits);
  REQUIRE(info.ok());
  CHECK(info->is_vnish());
  CHECK(info->fw_version == "1.2.6");
  CHECK(info->model == "s19");
  CHECK(info->miner == "Antminer S19");
  CHECK(info->hr_measure == "GH/s");
  CHECK(info->mac == "fe:07:26:3c:be:1b");
  CHECK(info->ip == "192.168.1.2");
  CHECK(info->hostname == "antminer");
  CHECK(info->uptime == "0:06");
}

TEST_CASE("info with system null and an upper-case model is tolerated", "[payload]") {
  FieldIssues issues;
  auto info = parse_info(fixture("info_s19jpro_1.2.0-rc5.json"), kLimits, &issues);
  REQUIRE(info.ok());
  CHECK(info->model == "s19jpro");
  CHECK_FALSE(info->mac.has_value());
  CHECK(info->serial == "JYZZ2W2BBAJAE0123");
  CHECK(issues.empty());
}

TEST_CASE("info of other firmware parses but is not Vnish", "[payload]") {
  auto info = parse_info(fixture("info_not_vnish.json"), kLimits);
  REQUIRE(info.ok());
  CHECK_FALSE(info->is_vnish());
}

TEST_CASE("info that is not a Vnish payload fails as data loss", "[payload]") {
  for (const char* body : {"<html><body>Router login</body></html>", "", "{}", "[1,2]",
                           R"({"fw_name": 7})", R"({"fw_name": "Vnish")"}) {
    INFO(body);
    auto info = parse_info(body, kLimits);
    REQUIRE_FALSE(info.ok());
    CHECK(info.error().kind() == ErrorKind::kDataLoss);
  }
  FieldIssues issues;
  auto bad_mac = parse_info(R"({"fw_name":"Vnish","system":{"network_status":{"mac":"zz"}}})",
                            kLimits, &issues);
  REQUIRE(bad_mac.ok());
  CHECK_FALSE(bad_mac->mac.has_value());
  REQUIRE(issues.size() == 1);
  CHECK_THAT(issues[0], Contains("system.network_status.mac"));
}

TEST_CASE("model maps alias, full name and chain geometry", "[payload]") {
  auto model = parse_model(fixture("model_s19.json"), kLimits);
  REQUIRE(model.ok());
  CHECK(model->alias == "s19");
  CHECK(model->full_name == "Antminer S19");
  CHECK(model->chips_per_chain == 76);
  CHECK(model->num_chains == 3);
  CHECK_FALSE(parse_model(R"({"full_name":"x"})", kLimits).ok());
}

TEST_CASE("summary of older firmware (deprecated fields only) is normalised", "[payload]") {
  FieldIssues issues;
  auto s =
      parse_summary(fixture("summary_s19_1.2.0-beta10.json"), HashMeasure::kGhs, kLimits, &issues);
  REQUIRE(s.ok());
  CHECK(issues.empty());
  CHECK(s->has_miner);
  CHECK(s->miner_state == "mining");
  CHECK(s->miner_state_time_s == 6412);
  // instant_hashrate / average_hashrate are already TH/s on old firmware.
  CHECK(*s->hashrate_ths == Approx(66.62962));
  CHECK(*s->hashrate_avg_ths == Approx(67.4193));
  // No hr_nominal: the chains' ideal rates (GH/s) add up to it.
  CHECK(*s->hashrate_nominal_ths == Approx(64.39328));
  CHECK(*s->hashrate_ratio() == Approx(66.62962 / 64.39328));
  CHECK(*s->power_w == 3733.0);  // power_usage is watts on old firmware
  CHECK(*s->efficiency_jth == Approx(55.369904));
  CHECK(*s->chip_temp.max == 51);
  CHECK(*s->pcb_temp.max == 39);
  CHECK(s->fan_rpm_min() == 5040);
  CHECK(s->fans.size() == 4);
  CHECK(s->fans[0].status.empty());
  CHECK(s->chips_red() == 1);
  CHECK(s->chips_orange() == 2);
  CHECK(s->chips_grey() == 149);
  REQUIRE(s->chains.size() == 2);
  const auto& c = s->chains[0];
  CHECK(c.voltage_mv == 14000);
  CHECK(*c.hashrate_ths == Approx(31.563244));
  CHECK(*c.power_w == 1242);
  // Per-sensor temperatures only: the range of the measuring sensors (the "error" one is out).
  CHECK(c.pcb_temp.min == 19);
  CHECK(c.pcb_temp.max == 39);
  CHECK(c.chip_temp.max == 47);
  CHECK(s->mac == "4e:9f:85:7b:57:7c");
  REQUIRE(s->active_pool() != nullptr);
  CHECK(s->active_pool()->url == "btc.foundryusapool.com:3333");
  CHECK(s->active_pool()->accepted == 153);
}

TEST_CASE("summary of newer firmware prefers hr_* and power_consumption", "[payload]") {
  FieldIssues issues;
  auto s = parse_summary(fixture("summary_s19_1.2.6.json"), HashMeasure::kGhs, kLimits, &issues);
  REQUIRE(s.ok());
  CHECK(issues.empty());  // future_field and other unknown fields are ignored silently
  CHECK(*s->hashrate_ths == Approx(95.8125));
  CHECK(*s->hashrate_avg_ths == Approx(96.1003));
  CHECK(*s->hashrate_nominal_ths == Approx(96.58992));
  CHECK(*s->hashrate_stock_ths == Approx(95.0));
  CHECK(*s->power_w == 3250);  // not the deprecated power_usage (34)
  CHECK(*s->efficiency_jth == Approx(33.92));
  CHECK(s->fan_rpm_min() == 0);  // the lost fan counts
  CHECK(s->fans[3].status == "lost");
  CHECK(s->fans[3].max_rpm == 6500);
  CHECK(s->fan_duty == 62);
  REQUIRE(s->chains.size() == 3);
  CHECK(s->chains[0].pcb_temp.max == 56);
  CHECK(s->chains[0].description.empty());
  CHECK(s->chips_orange() == 1);
  CHECK(s->chips_red() == 0);
  CHECK(s->active_pool()->status == "working");
}

TEST_CASE("summary of a miner initializing with red chips", "[payload]") {
  auto s = parse_summary(fixture("summary_s19jpro_initializing.json"), HashMeasure::kGhs, kLimits);
  REQUIRE(s.ok());
  CHECK(s->miner_state == "initializing");
  CHECK(s->chips_red() == 126);
  CHECK(*s->hashrate_ths == 0.0);
  CHECK_FALSE(s->hashrate_ratio().has_value());  // nominal 0: no ratio rather than infinity
  CHECK(s->active_pool() == nullptr);
  CHECK(s->chains[0].state == "initializing");
}

TEST_CASE("summary in failure state and with miner null", "[payload]") {
  auto f = parse_summary(fixture("summary_failure.json"), HashMeasure::kGhs, kLimits);
  REQUIRE(f.ok());
  CHECK(f->miner_state == "failure");
  CHECK(f->state_description == "Failed to parse miner configuration");
  CHECK(f->chains.empty());
  CHECK_FALSE(f->fan_rpm_min().has_value());
  CHECK_FALSE(f->chips_red().has_value());
  auto n = parse_summary(fixture("summary_no_miner.json"), HashMeasure::kGhs, kLimits);
  REQUIRE(n.ok());
  CHECK_FALSE(n->has_miner);
  CHECK(n->miner_state.empty());
}

TEST_CASE("summary with wrong field types keeps the rest and lists the fields", "[payload]") {
  const std::string body = R"({"miner": {
      "miner_status": {"miner_state": "mining"},
      "hr_realtime": "95812.5", "instant_hashrate": 95.5, "power_consumption": [3250],
      "chip_temp": {"min": 50, "max": "hot"},
      "cooling": {"fans": {"0": {"rpm": 1}}},
      "chains": [{"id": 1, "voltage": "13800", "chip_statuses": {"red": -4}}, 7]}})";
  FieldIssues issues;
  auto s = parse_summary(body, HashMeasure::kGhs, kLimits, &issues);
  REQUIRE(s.ok());
  CHECK(*s->hashrate_ths == Approx(95.5));  // falls back to the deprecated field
  CHECK_FALSE(s->power_w.has_value());
  CHECK(*s->chip_temp.min == 50);
  CHECK_FALSE(s->chip_temp.max.has_value());
  CHECK(s->fans.empty());
  REQUIRE(s->chains.size() == 1);
  CHECK_FALSE(s->chains[0].voltage_mv.has_value());
  CHECK_FALSE(s->chains[0].chips_red.has_value());
  const std::string all = [&] {
    std::string out;
    for (const auto& i : issues)
      out += i + "\n";
    return out;
  }();
  CHECK_THAT(all, Contains("miner.hr_realtime: expected a number"));
  CHECK_THAT(all, Contains("miner.power_consumption"));
  CHECK_THAT(all, Contains("miner.cooling.fans: expected an array"));
  CHECK_THAT(all, Contains("miner.chains[0].voltage"));
  CHECK_THAT(all, Contains("miner.chains[0].chip_statuses.red: out of range"));
  CHECK_THAT(all, Contains("miner.chains[1]: expected an object"));
}

TEST_CASE("summary without what it cannot do without fails", "[payload]") {
  for (const char* body : {R"({"miner": []})", R"({"miner": {"hr_realtime": 1}})",
                           R"({"miner": {"miner_status": {"miner_state": 3}}})", "[]", "null",
                           R"({"miner": {"miner_status": {"miner_state": "mining"})"}) {
    INFO(body);
    auto s = parse_summary(body, HashMeasure::kGhs, kLimits);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind() == ErrorKind::kDataLoss);
  }
}

TEST_CASE("summary hashrates follow hr_measure (MH/s on scrypt miners)", "[payload]") {
  const std::string body =
      R"({"miner": {"miner_status": {"miner_state": "mining"}, "hr_realtime": 9500.0,
          "hr_nominal": 9800.0, "power_consumption": 3425}})";
  auto s = parse_summary(body, HashMeasure::kMhs, kLimits);
  REQUIRE(s.ok());
  CHECK(*s->hashrate_ths == Approx(0.0095));
  CHECK(*s->efficiency_jth == Approx(3425 / 0.0095));
  CHECK(hash_measure_of("MH/s") == HashMeasure::kMhs);
  CHECK(hash_measure_of("GH/s") == HashMeasure::kGhs);
  CHECK(hash_measure_of("") == HashMeasure::kGhs);
}

TEST_CASE("chains maps every chip and the failing chain", "[payload]") {
  FieldIssues issues;
  auto c = parse_chains(fixture("chains_s19jpro.json"), kLimits, &issues);
  REQUIRE(c.ok());
  CHECK(issues.empty());
  REQUIRE(c->chains.size() == 2);
  const auto& a = c->chains[0];
  CHECK(a.id == 1);
  CHECK(a.state == "mining");
  CHECK(a.failure_message.empty());
  CHECK(*a.hr_realtime == 33000.0);
  CHECK(*a.freq_mhz == 520.0);
  REQUIRE(a.chips.size() == 3);
  CHECK(a.chips[0].id == 1);
  CHECK(*a.chips[0].hr == 260.0);
  CHECK(a.chips[0].freq_mhz == 515);
  CHECK(a.chips[0].volt_mv == 1320);
  CHECK(*a.chips[1].temp_c == 63.5);
  CHECK(a.chips[1].errs == 2);
  CHECK(a.chips[1].grade == ChipGrade::kOrange);
  CHECK(a.chips[2].grade == ChipGrade::kRed);
  CHECK(a.chips[2].throttled);
  CHECK_FALSE(a.chips[0].throttled);
  const auto& b = c->chains[1];
  CHECK(b.state == "failure");
  CHECK(b.failure_message == "chain 2: no chips found");
  CHECK(b.chips.empty());
}

TEST_CASE("chains [] is a valid empty answer, other shapes are not", "[payload]") {
  auto empty = parse_chains(fixture("chains_empty.json"), kLimits);
  REQUIRE(empty.ok());
  CHECK(empty->chains.empty());
  for (const char* body :
       {"{}", R"({"chains": []})", "null", "", "[{\"id\": 1,", "<html>", "[1, 2] garbage"}) {
    INFO(body);
    auto c = parse_chains(body, kLimits);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().kind() == ErrorKind::kDataLoss);
  }
}

TEST_CASE("chains with wrong chip types keeps the chip and lists the fields", "[payload]") {
  FieldIssues issues;
  auto c = parse_chains(
      R"([{"id": 1, "chips": [{"id": 4, "hr": "260", "freq": 515.5, "volt": 1320, "temp": 61,
           "errs": 0, "grade": "purple", "throttled": "no"}, 5], "sensors": {"x": [1]}}, "x"])",
      kLimits, &issues);
  REQUIRE(c.ok());
  REQUIRE(c->chains.size() == 1);
  REQUIRE(c->chains[0].chips.size() == 1);
  const auto& chip = c->chains[0].chips[0];
  CHECK(chip.id == 4);
  CHECK_FALSE(chip.hr.has_value());
  CHECK_FALSE(chip.freq_mhz.has_value());
  CHECK(chip.volt_mv == 1320);
  CHECK(chip.grade == ChipGrade::kGrey);
  CHECK_FALSE(chip.throttled);
  CHECK(issues.size() >= 5);
}

TEST_CASE("presets are read bare and wrapped in an object", "[payload]") {
  auto bare = parse_presets(fixture("presets_bare.json"), kLimits);
  REQUIRE(bare.ok());
  REQUIRE(bare->size() == 4);
  CHECK((*bare)[0].name == "disabled");
  CHECK_FALSE((*bare)[0].power_w.has_value());
  CHECK((*bare)[1].pretty == "1100 watt ~ 53 TH");
  CHECK(*(*bare)[1].power_w == 1100);
  CHECK(*(*bare)[1].hashrate_ths == 53);
  CHECK((*bare)[2].tuned);
  CHECK_FALSE((*bare)[1].tuned);
  CHECK((*bare)[3].modded_psu_required);
  auto wrapped = parse_presets(fixture("presets_wrapped.json"), kLimits);
  REQUIRE(wrapped.ok());
  REQUIRE(wrapped->size() == 2);
  CHECK((*wrapped)[1].name == "2800");
  CHECK((*wrapped)[1].tuned);
  for (const char* body : {R"({"items": []})", "7", R"({"presets": {}})"}) {
    INFO(body);
    CHECK_FALSE(parse_presets(body, kLimits).ok());
  }
  FieldIssues issues;
  auto partial = parse_presets(R"([{"pretty": "no name"}, {"name": "1500"}])", kLimits, &issues);
  REQUIRE(partial.ok());
  CHECK(partial->size() == 1);
  CHECK(issues.size() == 1);
}

TEST_CASE("status, perf-summary and the small answers", "[payload]") {
  auto st = parse_status(fixture("status_failure.json"), kLimits);
  REQUIRE(st.ok());
  CHECK(st->miner_state == "failure");
  CHECK(st->failure_code == 1002);
  CHECK(st->description == "Failed to parse miner configuration");
  auto perf = parse_perf_summary(fixture("perf_summary.json"), kLimits);
  REQUIRE(perf.ok());
  REQUIRE(perf->current_preset.has_value());
  CHECK(perf->current_preset->name == "3250");
  CHECK(perf->current_preset->tuned);
  CHECK(perf->switcher_enabled);
  CHECK(perf->switcher_min_preset == "1100");
  auto none = parse_perf_summary(R"({"current_preset": null, "preset_switcher": {}})", kLimits);
  REQUIRE(none.ok());
  CHECK_FALSE(none->current_preset.has_value());

  auto keys = parse_api_keys(
      R"([{"key": "0123456789abcdef0123456789abcdef", "description": "fleetward"}, {"x": 1}])",
      kLimits);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 1);
  CHECK((*keys)[0].description == "fleetward");
  CHECK(parse_api_keys("[]", kLimits)->empty());
  CHECK_FALSE(parse_api_keys("{}", kLimits).ok());

  CHECK(*parse_unlock(R"({"token": "OwpWakIHG7ZE7xg7MGd6uL6UWOMeIzgW"})", kLimits) ==
        "OwpWakIHG7ZE7xg7MGd6uL6UWOMeIzgW");
  CHECK_FALSE(parse_unlock(R"({"token": ""})", kLimits).ok());
  CHECK(*parse_add_key_status(R"({"status": "inserted"})", kLimits) == "inserted");
  CHECK_FALSE(parse_add_key_status(R"({"status": "ok"})", kLimits).ok());
  CHECK(parse_save_config(R"({"restart_required": true, "reboot_required": false})", kLimits)
            ->restart_required);
  CHECK(parse_settings(R"({"miner": {"overclock": {"preset": "3250"}}})", kLimits)->preset ==
        "3250");
  CHECK_FALSE(parse_find_miner("null", kLimits)->has_value());
  CHECK(parse_find_miner(R"({"on": true})", kLimits)->value());
  CHECK(parse_reboot(R"({"after": 3})", kLimits)->value() == 3);
  CHECK(error_text(R"({"err": "CGMiner err: Cgminer error failed-to-activate-pause-mode "})") ==
        "CGMiner err: Cgminer error failed-to-activate-pause-mode");
  CHECK(error_text("<html>").empty());
}

TEST_CASE("oversize and deeply nested bodies are refused before parsing", "[payload][limits]") {
  const PayloadLimits small{.max_bytes = 1000, .max_depth = 8};
  const std::string big = "[" + std::string(2000, ' ') + "]";
  for (auto* parse :
       {+[](std::string_view b, const PayloadLimits&l) { return parse_chains(b, l).ok(); },
        +[](std::string_view b, const PayloadLimits&l) {
          return parse_summary(b, HashMeasure::kGhs, l).ok();
        },
        +[](std::string_view b, const PayloadLimits&l) { return parse_info(b, l).ok(); },
        +[](std::string_view b, const PayloadLimits&l) { return parse_presets(b, l).ok(); }}) {
    CHECK_FALSE(parse(big, small));
    CHECK_FALSE(parse(nested(9), small));
    // 100,000 levels would overflow a recursive parser's stack: refused by the pre-scan.
    CHECK_FALSE(parse(nested(100'000), {.max_bytes = 1 << 20, .max_depth = 16}));
  }
  auto s = check_limits(nested(9), small);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind() == ErrorKind::kDataLoss);
  CHECK_THAT(s.error().message(), Contains("nesting"));
  CHECK_THAT(check_limits(big, small).error().message(), Contains("2002 bytes"));
  // Brackets inside strings do not count, escaped quotes do not end strings.
  CHECK(check_limits(R"(["[[[[[[[[[[", "\"[[[[[[[[[["])", small).ok());
  CHECK(check_limits(nested(8), small).ok());
  // The real chips payload fits the default limits.
  CHECK(check_limits(fixture("model_s19.json"), PayloadLimits{}).ok());
}

TEST_CASE("MAC addresses normalise to lower-case colon form", "[payload]") {
  CHECK(normalize_mac("FE:07:26:3C:BE:1B") == "fe:07:26:3c:be:1b");
  CHECK(normalize_mac(" fe-07-26-3c-be-1b ") == "fe:07:26:3c:be:1b");
  for (const char* bad :
       {"", "fe:07:26:3c:be", "fe:07:26:3c:be:1g", "fe07263cbe1b00000", "fe:07:26:3c:be:1b:00"}) {
    INFO(bad);
    CHECK_FALSE(normalize_mac(bad).has_value());
  }
}
