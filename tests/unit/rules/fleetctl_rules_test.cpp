// fleetctl's rule flags turned into a rule (no database involved).
#include <catch2/catch.hpp>

#include "rules_commands.h"
#include "test_catalogue.h"

using namespace fleet;
using namespace fleet::cli;
using Catch::Matchers::Contains;
using std::chrono::minutes;

TEST_CASE("escalation steps read as ACTION[@AFTER]", "[rules][fleetctl]") {
  CHECK(step_from_text("reboot@10m")->after == minutes(10));
  CHECK(step_from_text("reboot@10m")->action == "reboot");
  CHECK(step_from_text("notify")->after == minutes(0));
  CHECK(step_from_text("notify @ 90")->after == std::chrono::seconds(90));
  CHECK_THAT(step_from_text("reboot@soon").error().message(), Contains("--action 'reboot@soon'"));
  CHECK_FALSE(step_from_text("@5m").ok());
}

TEST_CASE("rule flags build a rule, seed 001's form becomes a condition", "[rules][fleetctl]") {
  RuleAddOptions o;
  o.name = "tank";
  o.metric = "temperature";
  o.op = ">=";
  o.threshold = "-2.5";
  o.for_duration = "90";
  o.severity = "critical";
  o.no_data = "alert";
  o.no_notify = true;
  o.actions = {"power_cycle", "notify@30m"};
  o.scope.kind = "device";
  auto r = rule_from_options(o, "");
  REQUIRE(r.ok());
  CHECK(r->condition == "temperature >= -2.5");
  CHECK(r->for_duration == std::chrono::seconds(90));
  CHECK(r->severity == rules::Severity::kCritical);
  CHECK(r->no_data == rules::NoDataPolicy::kAlert);
  CHECK_FALSE(r->notify);
  CHECK(r->scope.kind == "device");
  REQUIRE(r->actions.size() == 2);
  CHECK(r->actions[1].after == minutes(30));
  CHECK(rules::validate_rule(*r, rules::test::catalogue()).empty());
}

TEST_CASE("bad rule flags name the flag", "[rules][fleetctl]") {
  RuleAddOptions o;
  o.name = "x";
  CHECK_THAT(rule_from_options(o, "").error().message(), Contains("--condition: missing"));
  o.condition = "temperature > 1";
  o.metric = "temperature";
  CHECK_THAT(rule_from_options(o, "").error().message(), Contains("either --condition or"));
  o.condition.clear();
  CHECK_THAT(rule_from_options(o, "").error().message(), Contains("go together"));
  o.op = ">";
  o.threshold = "hot";
  CHECK_THAT(rule_from_options(o, "").error().message(),
             Contains("--threshold: 'hot' is not a number"));
  o = {};
  o.name = "x";
  o.condition = "temperature > 1";
  o.severity = "loud";
  CHECK_THAT(rule_from_options(o, "").error().message(), Contains("--severity"));
  o.severity.clear();
  o.keep_firing_for = "5 minutes";
  CHECK_THAT(rule_from_options(o, "").error().message(), Contains("--keep-firing-for"));
  CHECK_THAT(rule_from_options({}, R"({"name": 1})").error().message(), Contains("--file: name"));
}

TEST_CASE("flags override the fields of a rule file", "[rules][fleetctl]") {
  RuleAddOptions o;
  o.severity = "info";
  o.actions = {"reboot"};
  auto r = rule_from_options(o, R"({"name": "f", "condition": "power > 1", "severity": "critical",
                                    "actions": ["restart_mining", "power_cycle"]})");
  REQUIRE(r.ok());
  CHECK(r->name == "f");
  CHECK(r->severity == rules::Severity::kInfo);
  REQUIRE(r->actions.size() == 1);
  CHECK(r->actions[0].action == "reboot");
}

TEST_CASE("problems print with a caret under the condition", "[rules][fleetctl]") {
  rules::RuleSpec rule;
  rule.name = "x";
  rule.condition = "power > > 1";
  rule.clear_condition = "powr < 1";
  auto problems = rules::validate_rule(rule, rules::test::catalogue());
  CHECK(describe_problems(rule, problems) ==
        "  condition: column 9: expected a number, a metric name, a function or '(' but found '>'\n"
        "    power > > 1\n"
        "            ^\n"
        "  clear: column 1: unknown metric 'powr' (did you mean 'power'?)\n"
        "    powr < 1\n"
        "    ^^^^\n");
}
