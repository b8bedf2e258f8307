// Rules as written by people: JSON form, seed 001's simple form, validation, labels, channels.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "rules/action_ledger.h"
#include "rules/engine.h"
#include "rules/rule.h"
#include "test_catalogue.h"

using namespace fleet::rules;
using Catch::Matchers::Contains;
using std::chrono::minutes;

TEST_CASE("a rule reads from JSON with every field", "[rules][rule]") {
  auto r = rule_from_json(R"({
    "name": "asic-hot", "description": "chips too hot", "condition": "chip_temp_max > 85",
    "clear": "chip_temp_max < 75", "scope": {"kind": "asic", "farm_id": 2, "labels": {"rack": "A", "row": 3}},
    "for": "2m", "keep_firing_for": 300, "stale_after": "10m", "severity": "critical",
    "no_data": "alert", "notify": false, "enabled": false,
    "actions": ["restart_mining", {"action": "reboot", "after": "10m"},
                {"action": "power_cycle", "after": "30m", "params": {"outlet": 4}}]})");
  REQUIRE(r.ok());
  CHECK(r->name == "asic-hot");
  CHECK(r->clear_condition == "chip_temp_max < 75");
  CHECK(r->scope.kind == "asic");
  CHECK(r->scope.farm_id == 2);
  CHECK(r->scope.labels == Labels{{"rack", "\"A\""}, {"row", "3"}});
  CHECK(r->for_duration == minutes(2));
  CHECK(r->keep_firing_for == minutes(5));
  CHECK(r->stale_after == minutes(10));
  CHECK(r->severity == Severity::kCritical);
  CHECK(r->no_data == NoDataPolicy::kAlert);
  CHECK_FALSE(r->notify);
  CHECK_FALSE(r->enabled);
  REQUIRE(r->actions.size() == 3);
  CHECK(r->actions[0].action == "restart_mining");
  CHECK(r->actions[0].after == minutes(0));
  CHECK(r->actions[2].params_json == R"({"outlet":4})");
  CHECK(validate_rule(*r, fleet::rules::test::catalogue()).empty());
  // Round trip.
  auto again = rule_from_json(rule_to_json(*r));
  REQUIRE(again.ok());
  CHECK(rule_to_json(*again) == rule_to_json(*r));
}

TEST_CASE("seed 001's simple form becomes a condition", "[rules][rule]") {
  auto r = rule_from_json(
      R"({"name": "tank", "metric": "temperature", "operator": ">", "threshold": 82})");
  REQUIRE(r.ok());
  CHECK(r->condition == "temperature > 82.0");
  auto neg = rule_from_json(
      R"({"name": "cold", "metric": "temperature", "operator": "<", "threshold": -5.5})");
  CHECK(neg->condition == "temperature < -5.5");
  CHECK(validate_rule(*neg, fleet::rules::test::catalogue()).empty());
  CHECK_THAT(rule_from_json(R"({"name": "x", "metric": "t", "operator": "=>", "threshold": 1})")
                 .error()
                 .message(),
             Contains("operator: must be one of"));
  CHECK_THAT(rule_from_json(R"({"name": "x", "metric": "t", "operator": ">"})").error().message(),
             Contains("threshold: missing"));
  CHECK_THAT(
      rule_from_json(
          R"({"name": "x", "metric": "t", "operator": ">", "threshold": 1, "condition": "t > 1"})")
          .error()
          .message(),
      Contains("not both"));
}

TEST_CASE("bad rule JSON names the field", "[rules][rule]") {
  struct Case {
    const char* json;
    const char* fragment;
  };
  const Case cases[] = {
      {"[]", "rule: must be a JSON object"},
      {"{", "rule: not valid JSON"},
      {R"({"condition": "x > 1"})", "name: missing"},
      {R"({"name": "a"})", "condition: missing"},
      {R"({"name": 3, "condition": "x > 1"})", "name: must be a string"},
      {R"({"name": "a", "condition": "x > 1", "severty": "info"})",
       "severty: unknown field (did you mean 'severity'?)"},
      {R"({"name": "a", "condition": "x > 1", "severity": "loud"})",
       "severity: must be info, warning or critical"},
      {R"({"name": "a", "condition": "x > 1", "for": "5 minutes"})", "for: invalid duration"},
      {R"({"name": "a", "condition": "x > 1", "for": -1})", "for: must be between"},
      {R"({"name": "a", "condition": "x > 1", "no_data": "maybe"})",
       "no_data: must be ignore or alert"},
      {R"({"name": "a", "condition": "x > 1", "scope": {"farm": 1}})", "scope.farm: unknown field"},
      {R"({"name": "a", "condition": "x > 1", "scope": {"farm_id": "1"}})",
       "scope.farm_id: must be an integer id"},
      {R"({"name": "a", "condition": "x > 1", "scope": {"worker_id": 0}})",
       "scope.worker_id: must be a positive id"},
      {R"({"name": "a", "condition": "x > 1", "scope": {"labels": [1]}})",
       "scope.labels: must be a JSON object"},
      {R"({"name": "a", "condition": "x > 1", "actions": {"a": 1}})",
       "actions: must be a JSON array"},
      {R"({"name": "a", "condition": "x > 1", "actions": [{"after": "1m"}]})",
       "actions[0].action: missing"},
      {R"({"name": "a", "condition": "x > 1", "actions": [{"action": "reboot", "when": 1}]})",
       "actions[0].when: unknown field"},
      {R"({"name": "a", "condition": "x > 1", "actions": [3]})",
       "actions[0]: must be an action name"},
      {R"({"name": "a", "condition": "x > 1", "notify": "yes"})", "notify: must be true or false"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    auto r = rule_from_json(c.json);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), Contains(c.fragment));
  }
}

TEST_CASE("validation finds every problem and points into the condition", "[rules][rule]") {
  RuleSpec r;
  r.name = "";
  r.condition = "chip_temp_max > > 85";
  r.clear_condition = "temprature < 70";
  r.scope.kind = "device";
  r.stale_after = std::chrono::milliseconds(10);
  r.actions = {{"reboot", minutes(10)}, {"reboto", minutes(20)}, {"restart_mining", minutes(5)}};
  auto problems = validate_rule(r, fleet::rules::test::catalogue());
  std::vector<std::string> fields;
  for (const auto& p : problems)
    fields.push_back(p.field);
  CHECK(fields == std::vector<std::string>{"name", "condition", "clear", "stale_after",
                                           "actions[0].action", "actions[1].action",
                                           "actions[2].after", "actions[2].action"});
  REQUIRE(problems[1].where);
  CHECK(problems[1].where->column == 17);
  CHECK_THAT(problems[2].message,
             Contains("unknown metric 'temprature' (did you mean 'temperature'?)"));
  CHECK_THAT(problems[4].message, Contains("workers of kind 'device' cannot reboot"));
  CHECK_THAT(problems[5].message, Contains("did you mean 'reboot'?"));
  CHECK_THAT(problems[6].message, Contains("steps must be in order"));
}

TEST_CASE("labels match like jsonb containment", "[rules][rule]") {
  auto labels = labels_from_json(R"({"rack": "A", "row": 3, "hot": true})");
  REQUIRE(labels.ok());
  CHECK(labels_match(*labels, {}));
  CHECK(labels_match(*labels, {{"rack", "\"A\""}}));
  CHECK(labels_match(*labels, {{"hot", "true"}, {"row", "3"}}));
  CHECK_FALSE(labels_match(*labels, {{"rack", "\"B\""}}));
  CHECK_FALSE(labels_match(*labels, {{"row", "\"3\""}}));  // a number is not a string
  CHECK_FALSE(labels_match(*labels, {{"zone", "\"A\""}}));
  CHECK(label_from_assignment("rack=A")->second == "\"A\"");
  CHECK(label_from_assignment("row=3")->second == "3");
  CHECK(label_from_assignment("hot=true")->second == "true");
  CHECK_FALSE(label_from_assignment("=x").ok());
  CHECK_FALSE(label_from_assignment("rack").ok());
}

TEST_CASE("actions reach each kind of worker through its channel", "[rules][rule]") {
  CHECK(channel_for("restart_mining", "asic") == "firmware");
  CHECK(channel_for("reboot", "rig") == "hiveos");
  CHECK(channel_for("reboot", "node") == "agent");
  CHECK(channel_for("power_cycle", "device") == "relay");
  CHECK_FALSE(channel_for("restart_mining", "device"));
  CHECK_FALSE(channel_for("restart_mining", "node"));
  // A HiveOS worker goes through HiveOS whatever its kind; its power through its relay.
  WorkerInfo hiveos_asic{.id = 1, .name = "s19-hive", .kind = "asic", .hiveos = true};
  CHECK(channel_for_worker("reboot", hiveos_asic) == "hiveos");
  CHECK(channel_for_worker("restart_mining", hiveos_asic) == "hiveos");
  CHECK(channel_for_worker("power_cycle", hiveos_asic) == "relay");
  WorkerInfo plain_asic{.id = 2, .name = "s19", .kind = "asic"};
  CHECK(channel_for_worker("reboot", plain_asic) == "firmware");
  CHECK(format_number(82) == "82.0");
  CHECK(format_number(85.2) == "85.2");
  CHECK(format_number(-0.5) == "-0.5");
}

TEST_CASE("the action ledger applies cooldown, daily cap and fleet limit", "[rules][rule]") {
  const Time now = Time(std::chrono::milliseconds(1'700'000'000'000));
  ActionLedger ledger({.worker_cooldown = minutes(10),
                       .worker_daily_cap = 2,
                       .fleet_max_per_window = 3,
                       .fleet_window = minutes(1)},
                      now);
  ledger.add_worker_history(1, 1, now - minutes(3));
  ledger.add_worker_history(2, 2, now - std::chrono::hours(3));
  CHECK_THAT(*ledger.refusal(1), Contains("cooldown: last action on this worker 3m ago"));
  CHECK_THAT(*ledger.refusal(2), Contains("daily cap"));
  CHECK_FALSE(ledger.refusal(3));
  ledger.record(3);
  CHECK_THAT(*ledger.refusal(3), Contains("cooldown"));
  ledger.record(4);
  ledger.record(5);
  CHECK_THAT(*ledger.refusal(6), Contains("fleet-wide rate limit: 3 actions in the last 1m"));
}
