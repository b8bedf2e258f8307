// Type checking against the metric catalogue.
#include <catch2/catch.hpp>

#include "rules/checker.h"
#include "test_catalogue.h"

using namespace fleet::rules;
using Catch::Matchers::Contains;

namespace {

std::string error_of(const std::string& text, CheckOptions options = {}) {
  auto r = compile_condition(text, test::catalogue(), options);
  if (auto* e = std::get_if<ConditionError>(&r)) return e->message;
  return "OK";
}

}  // namespace

TEST_CASE("conditions over known metrics type-check", "[rules][checker]") {
  for (const char* ok :
       {"temperature > 80", "hashrate < 0.8 * hashrate_nominal",
        "avg(chip_temp_max, 10m) >= 85 and fan_rpm_min < 1000", "miner_state == \"failure\"",
        "\"failure\" == miner_state", "miner_state != 'mining' and not (power > 10)",
        "worker_status == 'offline'", "last_seen_age > 300",
        "rate(power, 5m) > 1 or delta(power, 1h) < -5"}) {
    INFO(ok);
    CHECK(error_of(ok) == "OK");
  }
}

TEST_CASE("type errors point at the offending term", "[rules][checker]") {
  struct Case {
    const char* text;
    std::size_t column;
    const char* fragment;
  };
  const Case cases[] = {
      {"temprature > 80", 1, "unknown metric 'temprature' (did you mean 'temperature'?)"},
      {"power > 1 and zzzqqq > 2", 15, "unknown metric 'zzzqqq' (fleetctl metrics list"},
      {"temperature", 1, "must be true or false"},
      {"temperature + 1", 1, "must be true or false"},
      {"temperature and power > 1", 1, "'and' joins conditions, but 'temperature' is a number"},
      {"power > 1 or 5", 14, "'or' joins conditions"},
      {"not power", 5, "'not' needs a condition"},
      {"miner_state > 1", 1, "cannot compare a number with a state"},
      {"miner_state + 1 > 2", 1, "'+' needs numbers on both sides, but 'miner_state' is a state"},
      {"miner_state == 'minig'", 16, "'minig' is not a state of miner_state"},
      {"miner_state == 'minig'", 16, "did you mean 'mining'?"},
      {"miner_state > 'mining'", 1, "only be compared with == or !="},
      {"'a' == 'b'", 1, "comparing two texts"},
      {"avg(miner_state, 5m) > 1", 1, "avg() needs a number metric"},
      {"avg(last_seen_age, 5m) > 1", 1, "computed from the worker"},
      {"avg(power, 2d) > 1", 1, "between 1s and 1d"},
      {"avg(power, 10ms) > 1", 1, "between 1s and 1d"},
      {"(power > 1) > 2", 1, "is already a condition"},
      {"-miner_state == 'x'", 2, "'-' needs a number"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = compile_condition(c.text, test::catalogue());
    REQUIRE(std::holds_alternative<ConditionError>(r));
    const auto& e = std::get<ConditionError>(r);
    CHECK(e.column == c.column);
    CHECK_THAT(e.message, Contains(c.fragment));
  }
}

TEST_CASE("a metric must be reported by the rule's worker kind", "[rules][checker]") {
  CHECK(error_of("chip_temp_max > 90", {.kind = "asic"}) == "OK");
  CHECK_THAT(error_of("chip_temp_max > 90", {.kind = "device"}),
             Contains("metric 'chip_temp_max' is not reported by workers of kind 'device' "
                      "(reported by: asic)"));
  CHECK(error_of("chip_temp_max > 90") == "OK");  // no kind in scope: any metric
}

TEST_CASE("the checker lists what a condition reads and spots seed 001's simple form",
          "[rules][checker]") {
  auto r = compile_condition(
      "avg(power, 5m) > 1 and power < 2 and avg(power, 5m) < 9 and "
      "max(power, 1m) > 0",
      test::catalogue());
  const auto& c = std::get<CheckedCondition>(r);
  CHECK(c.metrics == std::vector<std::string>{"power"});
  REQUIRE(c.windows.size() == 2);
  CHECK(c.windows[0] == WindowRef{"power", std::chrono::minutes(5)});
  CHECK(c.windows[1] == WindowRef{"power", std::chrono::minutes(1)});
  CHECK_FALSE(c.simple);

  auto s = std::get<CheckedCondition>(compile_condition("temperature >= 82.5", test::catalogue()));
  REQUIRE(s.simple);
  CHECK(s.simple->metric == "temperature");
  CHECK(s.simple->op == Op::kGe);
  CHECK(s.simple->threshold == 82.5);
  auto neg = std::get<CheckedCondition>(compile_condition("temperature < -5", test::catalogue()));
  REQUIRE(neg.simple);
  CHECK(neg.simple->threshold == -5);
  CHECK_FALSE(
      std::get<CheckedCondition>(compile_condition("80 < temperature", test::catalogue())).simple);
  CHECK(
      std::get<CheckedCondition>(compile_condition("worker_status == 'offline'", test::catalogue()))
          .reads_worker_status);
}
