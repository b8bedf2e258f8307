// The workers' pure decisions: status metrics and worker status, the poll schedule, chip
// telemetry encoding and anomalies, and discovery's plan.
#include <catch2/catch.hpp>

#include "asic/copy_rows.h"
#include "asic/poll_schedule.h"
#include "chip_encoding.h"
#include "discovery_plan.h"
#include "firmware/parse.h"
#include "process.h"
#include "status_metrics.h"

using namespace fleet;
using std::chrono::system_clock;

namespace {

std::string fixture(const std::string& name) {
  std::string path = FLEETTEST_SOURCE_DIR;
  path.append("/tests/fixtures/vnish/").append(name);
  return test::read_file(path);
}

std::map<std::string, double> numbers(const std::vector<asic::MetricSample>& samples) {
  std::map<std::string, double> out;
  for (const auto& s : samples) {
    if (s.value) out[s.metric] = *s.value;
  }
  return out;
}

}  // namespace

TEST_CASE("status metrics use the catalogue's names and units", "[poller]") {
  auto s =
      firmware::parse_summary(fixture("summary_s19_1.2.6.json"), firmware::HashMeasure::kGhs, {});
  REQUIRE(s.ok());
  const auto at = system_clock::now();
  auto samples = poller::status_metrics(7, at, *s);
  auto m = numbers(samples);
  CHECK(m.at("hashrate") == Approx(95.8125));
  CHECK(m.at("hashrate_nominal") == Approx(96.58992));
  CHECK(m.at("hashrate_ratio") == Approx(95.8125 / 96.58992));
  CHECK(m.at("power") == 3250);
  CHECK(m.at("efficiency") == Approx(33.92));
  CHECK(m.at("chip_temp_max") == 71);
  CHECK(m.at("temperature") == 71);
  CHECK(m.at("pcb_temp_max") == 58);
  CHECK(m.at("fan_rpm_min") == 0);
  CHECK(m.at("chips_red") == 0);
  CHECK(m.at("chips_orange") == 1);
  CHECK(m.at("chains_failed") == 0);
  CHECK(m.at("hw_errors_percent") == Approx(0.01));
  CHECK(m.at("pool_rejected_percent") == Approx(100.0 * 12 / 10226));
  const auto state = std::find_if(samples.begin(), samples.end(),
                                  [](const auto& x) { return x.metric == "miner_state"; });
  REQUIRE(state != samples.end());
  CHECK(state->state == "mining");
  CHECK_FALSE(state->value.has_value());
  for (const auto& x : samples) {
    CHECK(x.worker_id == 7);
    CHECK(x.observed_at == at);
  }
}

TEST_CASE("status metrics leave out what the firmware did not measure", "[poller]") {
  auto f =
      firmware::parse_summary(fixture("summary_failure.json"), firmware::HashMeasure::kGhs, {});
  REQUIRE(f.ok());
  auto m = numbers(poller::status_metrics(1, system_clock::now(), *f));
  CHECK(m.count("chip_temp_max") == 0);  // 0/0 is "not measured", not 0 °C
  CHECK(m.count("efficiency") == 0);     // no hashrate, no efficiency
  CHECK(m.count("hashrate_ratio") == 0);
  CHECK(m.count("fan_rpm_min") == 0);
  CHECK(m.at("hashrate") == 0);
  CHECK(m.at("power") == 0);
  auto none =
      firmware::parse_summary(fixture("summary_no_miner.json"), firmware::HashMeasure::kGhs, {});
  CHECK(poller::status_metrics(1, system_clock::now(), *none).empty());
  auto init = firmware::parse_summary(fixture("summary_s19jpro_initializing.json"),
                                      firmware::HashMeasure::kGhs, {});
  auto mi = numbers(poller::status_metrics(1, system_clock::now(), *init));
  CHECK(mi.at("chips_red") == 126);
  CHECK(mi.count("hashrate_nominal") == 0);
}

TEST_CASE("a summary without miner data takes its failure from /status", "[poller]") {
  auto none =
      firmware::parse_summary(fixture("summary_no_miner.json"), firmware::HashMeasure::kGhs, {});
  REQUIRE(none.ok());
  REQUIRE_FALSE(none->has_miner);
  auto pane = firmware::parse_status(fixture("status_failure.json"), {});
  REQUIRE(pane.ok());
  poller::adopt_status_pane(*none, *pane);
  CHECK(none->miner_state == "failure");
  CHECK(none->state_description == "Failed to parse miner configuration");
  CHECK(none->failure_code == 1002);
  const auto samples = poller::status_metrics(3, system_clock::now(), *none);
  CHECK(numbers(samples).at("miner_failure_code") == 1002);
  bool state_failure = false;
  for (const auto& x : samples) {
    if (x.metric == "miner_state") state_failure = x.state == std::optional<std::string>("failure");
  }
  CHECK(state_failure);
  CHECK(poller::worker_status_after(true, none->miner_state, std::nullopt, 0, 3, false) ==
        "unhealthy");
  // A miner that mines reports code 0, so a rule on the code clears.
  auto mining =
      firmware::parse_summary(fixture("summary_s19_1.2.6.json"), firmware::HashMeasure::kGhs, {});
  REQUIRE(mining.ok());
  CHECK(numbers(poller::status_metrics(3, system_clock::now(), *mining)).at("miner_failure_code") ==
        0);
}

TEST_CASE("chains in failure or disconnected count as failed", "[poller]") {
  firmware::SummaryPayload s;
  s.has_miner = true;
  for (const char* state : {"mining", "failure", "disconnected", "initializing"}) {
    firmware::ChainSummary c;
    c.state = state;
    s.chains.push_back(c);
  }
  CHECK(poller::chains_failed(s) == 2);
}

TEST_CASE("worker status after a poll damps flapping and suspects partitions", "[poller]") {
  using poller::worker_status_after;
  CHECK(worker_status_after(true, "mining", std::nullopt, 0, 3, false) == "online");
  CHECK(worker_status_after(true, "failure", std::nullopt, 0, 3, false) == "unhealthy");
  CHECK_FALSE(
      worker_status_after(false, "", ErrorKind::kDeadlineExceeded, 2, 3, false).has_value());
  CHECK(worker_status_after(false, "", ErrorKind::kDeadlineExceeded, 3, 3, false) == "offline");
  CHECK(worker_status_after(false, "", ErrorKind::kUnavailable, 5, 3, true) == "unreachable");
  CHECK(worker_status_after(false, "", ErrorKind::kDataLoss, 3, 3, false) == "unhealthy");
  CHECK(worker_status_after(false, "", ErrorKind::kUnauthenticated, 3, 3, true) == "unhealthy");
  CHECK_FALSE(poller::suspect_partition(2, 2, 0.5));  // too few to tell
  CHECK(poller::suspect_partition(6, 10, 0.5));
  CHECK_FALSE(poller::suspect_partition(5, 10, 0.5));
  CHECK_FALSE(poller::suspect_partition(3, 100, 0.5));
}

TEST_CASE("the poll schedule keeps successes on the interval and backs failures off",
          "[schedule]") {
  const asic::PollSchedule s{.interval = std::chrono::seconds(15),
                             .max_backoff = std::chrono::minutes(10)};
  const auto claimed = system_clock::now();
  const auto now = claimed + std::chrono::seconds(2);
  CHECK(asic::next_due(s, true, 0, claimed, now, 0.5) ==
        claimed + std::chrono::milliseconds(13'500));
  auto after = [&](int failures, double r) {
    return asic::next_due(s, false, failures, claimed, now, r) - now;
  };
  CHECK(after(1, 0.0) == std::chrono::seconds(15));
  CHECK(after(2, 0.0) == std::chrono::seconds(30));
  CHECK(after(3, 0.0) == std::chrono::seconds(60));
  CHECK(after(20, 0.0) == std::chrono::minutes(10));  // capped
  CHECK(after(3, 0.99) < after(3, 0.0));              // jitter only shortens
  CHECK(after(3, 0.99) >= std::chrono::seconds(45));
}

TEST_CASE("a poll's deadline follows the miner's own answer times", "[schedule]") {
  using std::chrono::milliseconds;
  const asic::AdaptiveTimeout p{
      .max = milliseconds(3000), .floor = milliseconds(1000), .multiplier = 4};
  CHECK(asic::poll_timeout(p, std::nullopt, 0) == milliseconds(3000));  // never answered yet
  CHECK(asic::poll_timeout(p, 40, 0) == milliseconds(1000));            // fast: the floor
  CHECK(asic::poll_timeout(p, 400, 0) == milliseconds(1600));
  CHECK(asic::poll_timeout(p, 2000, 0) == milliseconds(3000));       // never beyond the maximum
  CHECK(asic::poll_timeout(p, 40, 1) == milliseconds(3000));         // failed last time: all of it
  CHECK(asic::poll_timeout(p, 40, 0, 500.0) == milliseconds(2000));  // every answer is slow now
  CHECK(asic::poll_timeout(p, 400, 0, 10.0) == milliseconds(1600));
  asic::AdaptiveTimeout off = p;
  off.floor = milliseconds(0);
  CHECK(asic::poll_timeout(off, 40, 0) == milliseconds(3000));
  asic::AdaptiveTimeout low_max = p;
  low_max.max = milliseconds(500);  // a maximum under the floor wins
  CHECK(asic::poll_timeout(low_max, 40, 0) == milliseconds(500));
}

TEST_CASE("readings take a miner's metrics once per window, the fleet's spread over it",
          "[schedule]") {
  using std::chrono::milliseconds;
  using std::chrono::seconds;
  const auto t0 = system_clock::time_point(seconds(1'800'000'000));
  CHECK(asic::readings_due(7, std::nullopt, t0, seconds(60)));    // the first poll
  CHECK(asic::readings_due(7, t0, t0 + seconds(1), seconds(0)));  // 0: every poll
  // 1,000 miners polled in step every 15 s for 10 minutes, from a first poll that wrote all.
  std::vector<std::optional<system_clock::time_point>> last(1000, t0);
  std::vector<int> written(1000, 0);
  int most_in_one_poll = 0;
  for (int poll = 1; poll <= 40; ++poll) {
    const auto now = t0 + seconds(15 * poll);
    int in_this_poll = 0;
    for (int id = 0; id < 1000; ++id) {
      if (!asic::readings_due(id, last[id], now, seconds(60))) continue;
      CHECK(now - *last[id] >= seconds(15));
      last[id] = now;
      ++written[id];
      ++in_this_poll;
    }
    most_in_one_poll = std::max(most_in_one_poll, in_this_poll);
  }
  for (int id = 0; id < 1000; ++id) {
    INFO(id);
    CHECK(written[id] == 10);  // one per minute
  }
  CHECK(most_in_one_poll < 350);  // about a quarter of the fleet per poll, not all of it
}

TEST_CASE("the latency estimate rises at once and falls slowly", "[schedule]") {
  CHECK(asic::next_latency_estimate(std::nullopt, 120) == 120);
  CHECK(asic::next_latency_estimate(100, 300) == 300);
  CHECK(asic::next_latency_estimate(100, 20) == 80);  // a quarter of the way down
  CHECK(asic::next_latency_estimate(100, 99) == 99);
  CHECK(asic::next_latency_estimate(100, 100) == 100);
  CHECK(asic::next_latency_estimate(50, -5) == 37);  // a negative reading counts as 0
  int estimate = 1000;
  for (int i = 0; i < 30; ++i)
    estimate = asic::next_latency_estimate(estimate, 10);
  CHECK(estimate == 10);  // reaches a lasting improvement
}

TEST_CASE("packed vectors round-trip with the smallest width", "[telemetry]") {
  using telemetry::pack_values;
  using telemetry::unpack_values;
  using telemetry::Values;
  int clamped = 0;
  const Values uniform(126, std::int64_t{675});
  const std::string u = pack_values(uniform, clamped);
  CHECK(u.size() == 5);  // one value for the whole chain
  CHECK(*unpack_values(u, 126) == uniform);

  Values narrow;
  for (int i = 0; i < 126; ++i)
    narrow.push_back(410 + (i * 7) % 40);
  narrow[5].reset();
  const std::string n = pack_values(narrow, clamped);
  CHECK(n.size() == 5 + 126);
  CHECK(*unpack_values(n, 126) == narrow);

  const Values wide = {std::int64_t{0}, std::int64_t{10'393}, std::nullopt, std::int64_t{-7}};
  const std::string w = pack_values(wide, clamped);
  CHECK(w.size() == 5 + 4 * 2);
  CHECK(*unpack_values(w, 4) == wide);

  const Values huge = {std::int64_t{-3'000'000'000}, std::int64_t{1}, std::int64_t{3'000'000'000}};
  const std::string h = pack_values(huge, clamped);
  CHECK(clamped == 2);
  CHECK(h.size() == 5 + 3 * 4);
  CHECK((*unpack_values(h, 3))[1] == 1);

  const Values missing(3, std::nullopt);
  CHECK(*unpack_values(pack_values(missing, clamped), 3) == missing);
  CHECK(pack_values({}, clamped).empty());
  CHECK_FALSE(unpack_values(n, 125).has_value());
  CHECK_FALSE(unpack_values(std::string("\x03\0\0\0\0", 5) + "x", 1).has_value());
}

TEST_CASE("a chain encodes to packed values and sparse positions", "[telemetry]") {
  auto chains = firmware::parse_chains(fixture("chains_s19jpro.json"), {});
  REQUIRE(chains.ok());
  auto e = telemetry::encode_chain(chains->chains[0]);
  CHECK(e.chip_count == 3);
  CHECK(e.chip_id_first == 1);
  CHECK(e.chip_ids.empty());
  using V = telemetry::Values;
  CHECK(*telemetry::unpack_values(e.hr, 3) == V{260, 256, 0});  // 255.5 rounds half away
  CHECK(*telemetry::unpack_values(e.temp_dc, 3) == V{610, 635, 880});
  CHECK(e.freq_mhz.size() == 5);  // all 515
  CHECK(*telemetry::unpack_values(e.errs, 3) == V{0, 2, 951});
  CHECK(e.red_pos == telemetry::Positions{3});
  CHECK(e.orange_pos == telemetry::Positions{2});
  CHECK(e.throttled_pos == telemetry::Positions{3});
  auto failed = telemetry::encode_chain(chains->chains[1]);
  CHECK(failed.chip_count == 0);
  CHECK(failed.hr.empty());
  CHECK(failed.state == "failure");

  firmware::ChainChips odd;
  for (int id : {4, 9, 2}) {
    firmware::ChipSample c;
    c.id = id;
    odd.chips.push_back(c);
  }
  auto o = telemetry::encode_chain(odd);
  CHECK_FALSE(o.chip_id_first.has_value());
  CHECK(o.chip_ids == telemetry::Positions{4, 9, 2});
}

TEST_CASE("telemetry anomalies: dead and missing chains, grades, throttling", "[telemetry]") {
  auto chains = firmware::parse_chains(fixture("chains_s19jpro.json"), {});
  auto a = telemetry::anomalies_of(*chains, 3);
  CHECK(a.chains_dead == 2);  // chain 2 in failure, chain 3 missing
  CHECK(a.chips_red == 1);
  CHECK(a.chips_orange == 1);
  CHECK(a.chips_throttled == 1);
  CHECK(*a.chip_temp_max == 88.0);
  auto empty = firmware::parse_chains("[]", {});
  CHECK(telemetry::anomalies_of(*empty, 3).chains_dead == 3);
  CHECK(telemetry::anomalies_of(*empty, std::nullopt).chains_dead == 0);
  firmware::ChainsPayload zero;
  zero.chains.push_back({.id = 1, .state = "mining", .hr_realtime = 0.0});
  CHECK(telemetry::anomalies_of(zero, 1).chains_dead == 1);
  auto metrics = telemetry::telemetry_metrics(5, system_clock::now(), a);
  auto m = numbers(metrics);
  CHECK(m.at("chains_dead") == 2);
  CHECK(m.at("chips_red_telemetry") == 1);
  CHECK(m.at("chips_orange_telemetry") == 1);
  CHECK(m.at("chips_throttled") == 1);
  CHECK(m.at("chip_temp_max_telemetry") == 88);
}

namespace {

discovery::IdentifiedMiner found(const std::string& mac, const std::string& model) {
  discovery::IdentifiedMiner m;
  m.ip = "10.0.0.1";
  m.info.fw_name = "Vnish";
  m.info.model = model;
  m.info.mac = mac;
  return m;
}

}  // namespace

TEST_CASE("discovery plans keys for new and keyless miners, models once each", "[discovery]") {
  const auto now = system_clock::now();
  std::vector<discovery::IdentifiedMiner> miners = {
      found("aa:00:00:00:00:01", "s19"),       // new
      found("aa:00:00:00:00:02", "s19"),       // known, active key
      found("aa:00:00:00:00:03", "s21"),       // known, rejected, backoff passed
      found("aa:00:00:00:00:04", "s21"),       // known, missing, backoff running
      found("aa:00:00:00:00:05", "s19jpro")};  // known with key; model fresh
  std::map<std::string, discovery::KnownMiner> known;
  known["aa:00:00:00:00:02"] = {.worker_id = 2, .api_key_state = "active", .api_key_enc = "v1:x"};
  known["aa:00:00:00:00:03"] = {.worker_id = 3, .api_key_state = "rejected", .api_key_enc = "v1:y"};
  known["aa:00:00:00:00:04"] = {.worker_id = 4, .api_key_state = "missing", .may_provision = false};
  known["aa:00:00:00:00:05"] = {.worker_id = 5, .api_key_state = "active", .api_key_enc = "v1:z"};
  std::map<std::string, discovery::KnownModel> models;
  models["s19jpro"] = {"s19jpro", now - std::chrono::hours(1), true};
  models["s21"] = {"s21", now - std::chrono::hours(30), true};  // stale

  auto plan =
      discovery::plan_enrichment({.found = miners, .known = known, .models = models, .now = now});
  CHECK(plan.provision == std::vector<std::size_t>{0, 2});
  CHECK(plan.verify.empty());
  CHECK(plan.provision_deferred == 1);
  std::sort(plan.model_from.begin(), plan.model_from.end());
  CHECK(plan.model_from == std::vector<std::size_t>{0, 2});  // s19 (unknown) and s21 (stale)

  SECTION("a rescan of one miner verifies its key and refreshes its model") {
    auto forced = discovery::plan_enrichment({.found = miners,
                                              .known = known,
                                              .models = models,
                                              .now = now,
                                              .forced_macs = {"aa:00:00:00:00:05"}});
    CHECK(forced.verify == std::vector<std::size_t>{4});
    CHECK(std::count(forced.model_from.begin(), forced.model_from.end(), 4) == 1);
  }
  SECTION("a forced rescan provisions despite the backoff; the cap defers the rest") {
    auto all = discovery::plan_enrichment({.found = miners,
                                           .known = known,
                                           .models = models,
                                           .now = now,
                                           .force_all = true,
                                           .max_provisions = 2});
    CHECK(all.provision.size() == 2);
    CHECK(all.provision_deferred == 1);
    CHECK(all.verify.size() == 2);
    CHECK(all.model_from.size() == 3);
  }
  SECTION("provisioning off") {
    auto off = discovery::plan_enrichment(
        {.found = miners, .known = known, .models = models, .now = now, .provision = false});
    CHECK(off.provision.empty());
    CHECK(off.verify.empty());
  }
}

TEST_CASE("new miners are named after model and MAC", "[discovery]") {
  firmware::InfoPayload info;
  info.model = "s19jpro";
  info.mac = "fe:07:26:3c:be:1b";
  CHECK(discovery::worker_name(info) == "s19jpro-3cbe1b");
  info.model.clear();
  CHECK(discovery::worker_name(info) == "miner-3cbe1b");
}

TEST_CASE("COPY fields format PostgreSQL input text", "[copy]") {
  CHECK(asic::field(std::int64_t{-5}).text == "-5");
  CHECK(asic::field(2.5).text == "2.5");
  CHECK(asic::field(std::nan("")).null);
  CHECK(asic::field(std::optional<int>()).null);
  CHECK(asic::int_array(std::vector<std::optional<std::int64_t>>{1, std::nullopt, 3}).text ==
        "{1,NULL,3}");
  CHECK(asic::int_array(std::vector<std::int64_t>{}, true).null);
  CHECK(asic::int_array(std::vector<std::int64_t>{}).text == "{}");
  const auto t = system_clock::time_point(std::chrono::microseconds(1'700'000'000'123'456));
  CHECK(asic::timestamp_text(t) == "2023-11-14 22:13:20.123456+00");
}
