// Evaluation: every operator, three-valued logic with no data, staleness and window functions.
#include <catch2/catch.hpp>

#include "rules/evaluator.h"
#include "test_catalogue.h"

using namespace fleet::rules;

namespace {

constexpr std::int64_t kNow = 1'700'000'000'000;

// One condition bound to a private slot map, with one worker's values.
class Probe {
 public:
  explicit Probe(const std::string& text) {
    auto r = compile_condition(text, test::catalogue());
    REQUIRE(std::holds_alternative<CheckedCondition>(r));
    condition_ = std::get<CheckedCondition>(r).condition;
    bind(condition_, slots_);
    latest_.resize(slots_.metrics().size());
    windows_.resize(slots_.windows().size());
  }

  Probe& set(const std::string& metric, double value, std::int64_t age_ms = 0) {
    Sample& s = latest_[static_cast<std::size_t>(slots_.metric_slot(metric))];
    s.number = value;
    s.observed_ms = kNow - age_ms;
    return *this;
  }
  Probe& state(const std::string& metric, const std::string& word, std::int64_t age_ms = 0) {
    Sample& s = latest_[static_cast<std::size_t>(slots_.metric_slot(metric))];
    s.state = slots_.words().intern(word);
    s.observed_ms = kNow - age_ms;
    return *this;
  }
  Probe& window(const std::string& metric, std::chrono::milliseconds w, WindowStats stats) {
    windows_[static_cast<std::size_t>(slots_.window_slot({metric, w}))] = stats;
    return *this;
  }

  Truth eval(std::int64_t stale_after_ms = 300'000, std::vector<Term>* capture = nullptr) const {
    EvalContext ctx{.now_ms = kNow,
                    .stale_after_ms = stale_after_ms,
                    .words = &slots_.words(),
                    .capture = capture};
    return evaluate(condition_, {latest_.data(), windows_.data()}, ctx);
  }

 private:
  SlotMap slots_;
  Condition condition_;
  std::vector<Sample> latest_;
  std::vector<WindowStats> windows_;
};

Truth with_temperature(const std::string& text, double value) {
  return Probe(text).set("temperature", value).eval();
}

}  // namespace

TEST_CASE("every comparison operator", "[rules][eval]") {
  struct Case {
    const char* text;
    double value;
    Truth expected;
  };
  const Case cases[] = {
      {"temperature > 80", 85.2, Truth::kTrue},  {"temperature > 80", 80, Truth::kFalse},
      {"temperature < 80", 79.9, Truth::kTrue},  {"temperature < 80", 80, Truth::kFalse},
      {"temperature >= 80", 80, Truth::kTrue},   {"temperature >= 80", 79.99, Truth::kFalse},
      {"temperature <= 80", 80, Truth::kTrue},   {"temperature <= 80", 80.01, Truth::kFalse},
      {"temperature == 80", 80, Truth::kTrue},   {"temperature == 80", 80.5, Truth::kFalse},
      {"temperature != 80", 80.5, Truth::kTrue}, {"temperature != 80", 80, Truth::kFalse},
  };
  for (const auto& c : cases) {
    INFO(c.text << " with " << c.value);
    CHECK(with_temperature(c.text, c.value) == c.expected);
  }
}

TEST_CASE("arithmetic", "[rules][eval]") {
  CHECK(with_temperature("temperature + 5 == 15", 10) == Truth::kTrue);
  CHECK(with_temperature("temperature - 5 == 5", 10) == Truth::kTrue);
  CHECK(with_temperature("temperature * 3 == 30", 10) == Truth::kTrue);
  CHECK(with_temperature("temperature / 4 == 2.5", 10) == Truth::kTrue);
  CHECK(with_temperature("-temperature == -10", 10) == Truth::kTrue);
  CHECK(with_temperature("2 + 3 * temperature == 32", 10) == Truth::kTrue);
  CHECK(with_temperature("(2 + 3) * temperature == 50", 10) == Truth::kTrue);
  // Division by zero is no data, never a breach.
  CHECK(with_temperature("100 / temperature > 1", 0) == Truth::kNoData);
  CHECK(Probe("hashrate < 0.8 * hashrate_nominal")
            .set("hashrate", 70)
            .set("hashrate_nominal", 100)
            .eval() == Truth::kTrue);
  CHECK(Probe("hashrate < 0.8 * hashrate_nominal")
            .set("hashrate", 90)
            .set("hashrate_nominal", 100)
            .eval() == Truth::kFalse);
}

TEST_CASE("missing and stale metrics are no data, never a breach", "[rules][eval]") {
  CHECK(Probe("temperature > 80").eval() == Truth::kNoData);  // never reported
  CHECK(Probe("temperature > 80").set("temperature", 99, 299'000).eval() == Truth::kTrue);
  CHECK(Probe("temperature > 80").set("temperature", 99, 301'000).eval() == Truth::kNoData);
  CHECK(Probe("temperature > 80").set("temperature", 99, 301'000).eval(600'000) == Truth::kTrue);
  // Negation does not turn missing data into a breach.
  CHECK(Probe("not temperature > 80").eval() == Truth::kNoData);
  CHECK(Probe("temperature < 80").eval() == Truth::kNoData);
}

TEST_CASE("and / or / not with no data (three-valued)", "[rules][eval]") {
  const std::string both = "temperature > 80 and power > 100";
  const std::string either = "temperature > 80 or power > 100";
  CHECK(Probe(both).set("temperature", 90).set("power", 200).eval() == Truth::kTrue);
  CHECK(Probe(both).set("temperature", 90).set("power", 50).eval() == Truth::kFalse);
  CHECK(Probe(both).set("temperature", 70).eval() == Truth::kFalse);   // false and no data
  CHECK(Probe(both).set("temperature", 90).eval() == Truth::kNoData);  // true and no data
  CHECK(Probe(either).set("temperature", 70).set("power", 50).eval() == Truth::kFalse);
  CHECK(Probe(either).set("temperature", 70).set("power", 500).eval() == Truth::kTrue);
  CHECK(Probe(either).set("power", 500).eval() == Truth::kTrue);   // no data or true
  CHECK(Probe(either).set("power", 50).eval() == Truth::kNoData);  // no data or false
  CHECK(Probe("not temperature > 80").set("temperature", 70).eval() == Truth::kTrue);
  CHECK(Probe("not temperature > 80").set("temperature", 90).eval() == Truth::kFalse);
}

TEST_CASE("state metrics compare with their words", "[rules][eval]") {
  CHECK(Probe("miner_state == 'failure'").state("miner_state", "failure").eval() == Truth::kTrue);
  CHECK(Probe("miner_state == 'failure'").state("miner_state", "mining").eval() == Truth::kFalse);
  CHECK(Probe("miner_state != 'mining'").state("miner_state", "stopped").eval() == Truth::kTrue);
  CHECK(Probe("miner_state != 'mining'").eval() == Truth::kNoData);
  CHECK(Probe("miner_state == 'failure'").state("miner_state", "failure", 400'000).eval() ==
        Truth::kNoData);
  // A word the firmware invented after the catalogue was written is simply not equal.
  CHECK(Probe("miner_state == 'failure'").state("miner_state", "exploded").eval() == Truth::kFalse);
}

TEST_CASE("window functions", "[rules][eval]") {
  using std::chrono::minutes;
  // Readings 10, 20, 60 over 10 minutes: first at -10m, last at -1m.
  const WindowStats w{.count = 3,
                      .sum = 90,
                      .min = 10,
                      .max = 60,
                      .first = 10,
                      .last = 60,
                      .first_ms = kNow - 600'000,
                      .last_ms = kNow - 60'000};
  auto with = [&](const std::string& text, WindowStats stats) {
    return Probe(text).window("power", minutes(10), stats).eval();
  };
  CHECK(with("avg(power, 10m) == 30", w) == Truth::kTrue);
  CHECK(with("min(power, 10m) == 10", w) == Truth::kTrue);
  CHECK(with("max(power, 10m) == 60", w) == Truth::kTrue);
  CHECK(with("last(power, 10m) == 60", w) == Truth::kTrue);
  CHECK(with("delta(power, 10m) == 50", w) == Truth::kTrue);
  CHECK(with("rate(power, 10m) > 0.0925 and rate(power, 10m) < 0.0926", w) ==
        Truth::kTrue);  // 50/540s
  const WindowStats empty{};
  for (const char* fn : {"avg", "min", "max", "last", "delta", "rate"}) {
    INFO(fn);
    CHECK(with(std::string(fn) + "(power, 10m) > -1000", empty) == Truth::kNoData);
  }
  const WindowStats one{.count = 1,
                        .sum = 5,
                        .min = 5,
                        .max = 5,
                        .first = 5,
                        .last = 5,
                        .first_ms = kNow - 1000,
                        .last_ms = kNow - 1000};
  CHECK(with("avg(power, 10m) == 5", one) == Truth::kTrue);
  CHECK(with("delta(power, 10m) == 0", one) == Truth::kNoData);  // needs two readings
  CHECK(with("rate(power, 10m) == 0", one) == Truth::kNoData);
  // Windows and latest values of the same metric are independent.
  CHECK(Probe("power > 100 and avg(power, 10m) < 50")
            .set("power", 200)
            .window("power", minutes(10), w)
            .eval() == Truth::kTrue);
}

TEST_CASE("capture records each term once with its value", "[rules][eval]") {
  std::vector<Term> terms;
  Probe p("temperature > 80 and temperature < 100 and miner_state == 'mining' and power > 1");
  p.set("temperature", 85.5).state("miner_state", "mining");
  CHECK(p.eval(300'000, &terms) == Truth::kNoData);
  REQUIRE(terms.size() == 3);
  CHECK(terms[0].expression == "temperature");
  CHECK(terms[0].number == 85.5);
  CHECK(terms[1].expression == "miner_state");
  CHECK(terms[1].state == "mining");
  CHECK(terms[2].expression == "power");
  CHECK_FALSE(terms[2].number);
  CHECK_FALSE(terms[2].state);
}
