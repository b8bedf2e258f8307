// The fleet evaluation: episodes with their events, notifications and escalation steps, exactly
// once; silences and dependencies; cooldown, daily cap and fleet rate limit; bad rules.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "world.h"

using namespace fleet::rules;
using namespace fleet::rules::test;
using Catch::Matchers::Contains;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

std::vector<EscalationStep> ladder() {
  return {{"restart_mining", minutes(0)},
          {"reboot", minutes(10)},
          {"power_cycle", minutes(30)},
          {"notify", minutes(40)}};
}

int count_step(const World& w, int step, bool skipped = false) {
  int n = 0;
  for (const auto& c : w.commands)
    n += c.step == step && c.skip_reason.has_value() == skipped;
  return n;
}

int count_notifications(const World& w, const std::string& event) {
  int n = 0;
  for (const auto& x : w.notifications)
    n += x.event == event;
  return n;
}

}  // namespace

TEST_CASE("an episode fires, escalates each step once, and resolves once", "[rules][engine]") {
  World w;
  RuleSpec r = rule("temperature > 80");
  r.actions = ladder();
  const auto rule_id = w.add_rule(r);
  const auto worker = w.add_worker();
  w.set(worker, "temperature", 85.2);

  Evaluation first = w.cycle(t0);
  CHECK(first.stats.triggered == 1);
  CHECK(first.stats.total_alerts == 1);
  CHECK(first.stats.evaluated == 1);
  REQUIRE(first.notes.size() >= 2);
  CHECK(first.notes[0].message == "Alert 1 triggered: Threshold exceeded: 85.2 > 80.0");
  REQUIRE(first.events.size() == 1);
  CHECK(first.events[0].event == "triggered");
  CHECK(first.events[0].current_value == 85.2);
  CHECK(first.events[0].simple->threshold == 80);
  CHECK(first.writes.size() == 1);  // one row carries the episode, its notification and step 0

  // Every 30 seconds for an hour.
  for (int i = 1; i <= 120; ++i)
    w.cycle(t0 + seconds(30 * i));
  CHECK(count_step(w, 0) == 1);
  CHECK(count_step(w, 1) == 1);
  CHECK(count_step(w, 2) == 1);
  CHECK(w.commands.size() == 3);  // notify is a notification, not a command
  CHECK(count_notifications(w, "alert.firing") == 1);
  CHECK(count_notifications(w, "alert.escalation") == 1);
  CHECK(w.events.size() == 1);
  const Episode* e = w.episode(rule_id, worker);
  REQUIRE(e);
  CHECK(e->next_step == 4);
  CHECK(w.commands[1].action == "reboot");
  CHECK(w.commands[1].channel == "firmware");
  CHECK(w.commands[2].channel == "relay");

  w.set(worker, "temperature", 70);
  Evaluation end = w.cycle(t0 + minutes(61));
  CHECK(end.stats.resolved == 1);
  CHECK(end.notes[0].message ==
        "Alert 1 resolved: Threshold no longer exceeded: 70.0 > 80.0 is false, device w1");
  for (int i = 0; i < 10; ++i)
    CHECK(w.cycle(t0 + minutes(62 + i)).writes.empty());
  CHECK(w.events.size() == 2);
  CHECK(w.events[1].event == "resolved");
  CHECK(w.events[1].current_value == 70);
  CHECK(count_notifications(w, "alert.resolved") == 1);
  CHECK(w.open.empty());
  REQUIRE(w.closed.size() == 1);
  CHECK(w.closed[0].resolution == Resolution::kCleared);
}

TEST_CASE("a ladder of hardware steps that runs out says so once and a recovery stops it",
          "[rules][engine]") {
  World w;
  w.limits.escalation_exhausted_after = minutes(10);
  RuleSpec r = rule("temperature > 80");
  r.actions = {
      {"restart_mining", minutes(0)}, {"reboot", minutes(5)}, {"power_cycle", minutes(15)}};
  const auto rule_id = w.add_rule(r);
  const auto hot = w.add_worker();
  const auto recovers = w.add_worker();
  w.set(hot, "temperature", 90);
  w.set(recovers, "temperature", 90);
  for (int i = 0; i <= 12; ++i)
    w.cycle(t0 + minutes(i));          // restart, then reboot at 5m
  w.set(recovers, "temperature", 60);  // recovers after the reboot
  for (int i = 13; i <= 60; ++i)
    w.cycle(t0 + minutes(i));
  CHECK(count_step(w, 2) == 1);  // only the hot one reached the power cycle
  int exhausted = 0;
  for (const auto& n : w.notifications) {
    if (n.event != "alert.escalation_exhausted") continue;
    ++exhausted;
    CHECK(n.worker_id == hot);
  }
  CHECK(exhausted == 1);
  // Not before the last step had its time (10 minutes after the power cycle at 15m).
  World early;
  early.limits.escalation_exhausted_after = minutes(10);
  early.add_rule(r);
  const auto w1 = early.add_worker();
  early.set(w1, "temperature", 90);
  for (int i = 0; i <= 24; ++i)
    early.cycle(t0 + minutes(i));
  CHECK(count_notifications(early, "alert.escalation_exhausted") == 0);
  early.cycle(t0 + minutes(25));
  CHECK(count_notifications(early, "alert.escalation_exhausted") == 1);
  const Episode* e = w.episode(rule_id, hot);
  REQUIRE(e);
  CHECK(e->next_step == 4);
}

TEST_CASE("nothing is written for pairs that did not change", "[rules][engine]") {
  World w;
  w.add_rule(rule("temperature > 80"));
  for (int i = 0; i < 50; ++i)
    w.set(w.add_worker(), "temperature", 20);
  auto out = w.cycle(t0);
  CHECK(out.writes.empty());
  CHECK(out.notes.empty());
  CHECK(out.stats.total_alerts == 50);
  CHECK(out.stats.evaluated == 50);
}

TEST_CASE("silences mute notifications and actions but the episode is recorded",
          "[rules][engine]") {
  World w;
  RuleSpec r = rule("temperature > 80");
  r.actions = ladder();
  const auto rule_id = w.add_rule(r);
  const auto other_rule = w.add_rule(rule("power > 1000"));
  const auto worker = w.add_worker("asic", "online", 7, {{"rack", "\"A\""}});
  w.set(worker, "temperature", 90);
  w.set(worker, "power", 2000);

  SilenceInfo s{
      .id = 3, .starts_at = t0 - minutes(1), .ends_at = t0 + minutes(20), .reason = "fan swap"};
  SECTION("by worker") {
    s.worker_id = worker;
  }
  SECTION("by farm") {
    s.farm_id = 7;
  }
  SECTION("by label") {
    s.labels = {{"rack", "\"A\""}};
  }
  SECTION("by rule") {
    s.rule_id = rule_id;
  }
  w.silences.push_back(s);

  Evaluation out = w.cycle(t0);
  const Episode* e = w.episode(rule_id, worker);
  REQUIRE(e);
  CHECK(e->state == EpisodeState::kFiring);
  CHECK(e->suppressed_by == "silence 3: fan swap");
  CHECK(out.events.size() == (s.rule_id ? 2u : 2u));  // both episodes are logged
  CHECK(count_step(w, 0) == 0);
  for (const auto& n : w.notifications)
    CHECK(n.rule_id != rule_id);
  CHECK(out.stats.suppressed >= 1);
  // The other rule is muted too unless the silence names only the first rule.
  CHECK(static_cast<bool>(w.episode(other_rule, worker)->suppressed_by) == !s.rule_id);

  // The silence ends: the firing notification and the first step follow, once.
  for (int i = 1; i <= 70; ++i)
    w.cycle(t0 + seconds(30 * i));
  CHECK_FALSE(w.episode(rule_id, worker)->suppressed_by);
  CHECK(count_notifications(w, "alert.firing") == 2);
  CHECK(count_step(w, 0) == 1);
  CHECK(count_step(w, 1) == 1);  // re-spaced: 10 minutes after step 0, not at once
  int step0_at = -1, step1_at = -1;
  for (std::size_t i = 0; i < w.commands.size(); ++i) {
    if (w.commands[i].step == 0) step0_at = static_cast<int>(i);
    if (w.commands[i].step == 1) step1_at = static_cast<int>(i);
  }
  CHECK(step0_at < step1_at);
}

TEST_CASE("an offline worker's rules do not notify or act, except rules about its status",
          "[rules][engine]") {
  World w;
  RuleSpec hot = rule("temperature > 80");
  hot.actions = {{"reboot", minutes(0)}};
  const auto hot_id = w.add_rule(hot);
  const auto down_id = w.add_rule(rule("worker_status == 'offline'"));
  const auto worker = w.add_worker("asic", "offline");
  w.set(worker, "temperature", 95);
  Evaluation out = w.cycle(t0);
  CHECK(w.episode(hot_id, worker)->suppressed_by == "worker offline");
  CHECK_FALSE(w.episode(down_id, worker)->suppressed_by);
  CHECK(w.commands.empty());
  REQUIRE(w.notifications.size() == 1);
  CHECK(w.notifications[0].rule_id == down_id);
  CHECK(out.stats.triggered == 2);
}

TEST_CASE("per-worker cooldown skips a second action and records why", "[rules][engine]") {
  World w;
  w.limits.worker_cooldown = minutes(15);
  RuleSpec a = rule("temperature > 80");
  a.actions = {{"restart_mining", minutes(0)}};
  RuleSpec b = rule("power > 1000");
  b.actions = {{"reboot", minutes(0)}};
  w.add_rule(a);
  w.add_rule(b);
  const auto worker = w.add_worker();
  w.set(worker, "temperature", 90);
  w.set(worker, "power", 2000);
  Evaluation out = w.cycle(t0);
  REQUIRE(w.commands.size() == 2);
  CHECK_FALSE(w.commands[0].skip_reason);
  REQUIRE(w.commands[1].skip_reason);
  CHECK_THAT(*w.commands[1].skip_reason, Contains("cooldown"));
  CHECK(out.stats.commands == 1);
  CHECK(out.stats.actions_skipped == 1);
  // The skipped step is recorded once; it is not retried every cycle.
  for (int i = 1; i < 20; ++i)
    w.cycle(t0 + minutes(i));
  CHECK(w.commands.size() == 2);
}

TEST_CASE("per-worker daily cap", "[rules][engine]") {
  World w;
  w.limits.worker_daily_cap = 3;
  RuleSpec r = rule("temperature > 80");
  r.actions = {{"reboot", minutes(0)}};
  w.add_rule(r);
  const auto capped = w.add_worker();
  const auto fresh = w.add_worker();
  for (int i = 1; i <= 3; ++i)
    w.actions.emplace_back(capped, t0 - std::chrono::hours(i * 2));
  w.actions.emplace_back(fresh, t0 - std::chrono::hours(30));  // outside the day
  w.set(capped, "temperature", 90);
  w.set(fresh, "temperature", 90);
  w.cycle(t0);
  REQUIRE(w.commands.size() == 2);
  for (const auto& c : w.commands) {
    if (c.worker_id == capped) {
      REQUIRE(c.skip_reason);
      CHECK_THAT(*c.skip_reason, Contains("daily cap: 3 actions"));
    } else {
      CHECK_FALSE(c.skip_reason);
    }
  }
}

TEST_CASE("fleet-wide rate limit", "[rules][engine]") {
  World w;
  w.limits.fleet_max_per_window = 20;
  RuleSpec r = rule("temperature > 80");
  r.actions = {{"restart_mining", minutes(0)}};
  w.add_rule(r);
  for (int i = 0; i < 30; ++i)
    w.set(w.add_worker(), "temperature", 99);
  Evaluation out = w.cycle(t0);
  CHECK(out.stats.commands == 20);
  CHECK(out.stats.actions_skipped == 10);
  CHECK(out.stats.triggered == 30);
  for (const auto& c : w.commands) {
    if (c.skip_reason) CHECK_THAT(*c.skip_reason, Contains("fleet-wide rate limit: 20 actions"));
  }
}

TEST_CASE("an action a worker kind cannot do is skipped with the reason", "[rules][engine]") {
  World w;
  RuleSpec r = rule("temperature > 80");
  r.actions = {{"restart_mining", minutes(0)}};
  w.add_rule(r);
  const auto device = w.add_worker("device");
  w.set(device, "temperature", 90);
  w.cycle(t0);
  REQUIRE(w.commands.size() == 1);
  CHECK(w.commands[0].skip_reason == "workers of kind device cannot restart_mining");
  CHECK_FALSE(w.commands[0].channel);
}

TEST_CASE("disabling a rule or leaving its scope resolves open episodes", "[rules][engine]") {
  World w;
  RuleSpec r = rule("temperature > 80");
  r.scope.labels = {{"rack", "\"A\""}};
  const auto id = w.add_rule(r);
  const auto other = w.add_rule(rule("power > 5"));
  const auto a = w.add_worker("asic", "online", std::nullopt, {{"rack", "\"A\""}});
  const auto b = w.add_worker("asic", "online", std::nullopt, {{"rack", "\"A\""}});
  w.set(a, "temperature", 90);
  w.set(b, "temperature", 90);
  w.set(a, "power", 10);
  CHECK(w.cycle(t0).stats.triggered == 3);
  w.workers[1].labels = {{"rack", "\"B\""}};
  Evaluation out = w.cycle(t0 + minutes(1));
  CHECK(out.stats.resolved == 1);
  CHECK_FALSE(w.episode(id, b));
  CHECK(w.closed.back().resolution == Resolution::kOutOfScope);
  w.disabled.push_back(other);
  out = w.cycle(t0 + minutes(2));
  CHECK(out.stats.resolved == 1);
  CHECK(w.closed.back().resolution == Resolution::kRuleDisabled);
  CHECK(w.episode(id, a));
}

TEST_CASE("a bad rule is skipped and counted, the others run and its episodes stay",
          "[rules][engine]") {
  World w;
  const auto good = w.add_rule(rule("temperature > 80"));
  const auto bad = w.add_rule(rule("power > 1"));
  const auto worker = w.add_worker();
  w.set(worker, "temperature", 90);
  w.set(worker, "power", 5);
  w.cycle(t0);
  REQUIRE(w.episode(bad, worker));
  w.rules[1].spec.condition = "powr > 1";  // edited into something broken
  Evaluation out = w.cycle(t0 + minutes(1));
  CHECK(out.stats.errors == 1);
  CHECK(w.episode(bad, worker));  // not resolved: it cannot be judged
  CHECK(w.episode(good, worker));
  RuleSet set = RuleSet::compile(w.rules, w.catalogue);
  REQUIRE(set.failures().size() == 1);
  CHECK(set.failures()[0].rule_id == bad);
  CHECK_THAT(set.failures()[0].message, Contains("condition: column 1: unknown metric 'powr'"));
}

TEST_CASE("no data opens a no-data episode only when asked, and only for workers that are up",
          "[rules][engine]") {
  World w;
  RuleSpec r = rule("temperature > 80");
  r.no_data = NoDataPolicy::kAlert;
  const auto id = w.add_rule(r);
  const auto quiet = w.add_worker();
  const auto gone = w.add_worker("asic", "offline");
  const auto ignored_rule = w.add_rule(rule("power > 1"));
  Evaluation out = w.cycle(t0);
  CHECK(out.stats.skipped == 4);
  CHECK(out.stats.no_data == 1);
  const Episode* e = w.episode(id, quiet);
  REQUIRE(e);
  CHECK(e->kind == EpisodeKind::kNoData);
  CHECK_FALSE(w.episode(id, gone));
  CHECK_FALSE(w.episode(ignored_rule, quiet));
  REQUIRE(w.notifications.size() == 1);
  CHECK(w.notifications[0].event == "alert.no_data");
  CHECK_THAT(out.notes[0].message, Contains("No data: temperature=no data"));
  w.set(quiet, "temperature", 20);
  out = w.cycle(t0 + minutes(1));
  CHECK(w.closed.back().resolution == Resolution::kDataReturned);
  CHECK(w.open.empty());
}

TEST_CASE(
    "just back from a gap, missing data neither resolves nor opens an alert until stale_after",
    "[rules][engine]") {
  World w;
  RuleSpec r = rule("temperature > 80");
  r.no_data = NoDataPolicy::kAlert;
  const auto id = w.add_rule(r);
  const auto hot = w.add_worker();
  const auto quiet = w.add_worker();
  w.set(hot, "temperature", 90);
  w.cycle(t0);
  REQUIRE(w.episode(id, hot));
  REQUIRE(w.episode(id, quiet));  // the no-data alert it asked for
  const auto notifications = w.notifications.size();

  // Everything was down: the first cycle back sees no data at all (the pollers were down too).
  w.clear(hot, "temperature");
  w.watching_for_ms = 0;
  Evaluation out = w.cycle(t0 + std::chrono::hours(10));
  CHECK(out.stats.resolved == 0);
  CHECK(w.episode(id, hot));
  CHECK(w.episode(id, quiet));
  CHECK(w.notifications.size() == notifications);
  w.watching_for_ms = 300'000;  // still within the default stale_after (5 min)
  w.cycle(t0 + std::chrono::hours(10) + minutes(5));
  CHECK(w.episode(id, hot));

  // Data returns during the watch: judged as usual.
  w.set(quiet, "temperature", 20);
  w.cycle(t0 + std::chrono::hours(10) + minutes(5));
  CHECK_FALSE(w.episode(id, quiet));
  // Watched for longer than stale_after and still nothing: the alert ends on no data.
  w.watching_for_ms = 300'001;
  w.cycle(t0 + std::chrono::hours(10) + minutes(6));
  const Episode* e = w.episode(id, hot);
  CHECK((e == nullptr || e->kind == EpisodeKind::kNoData));
  CHECK(w.closed.back().resolution == Resolution::kNoData);
}

TEST_CASE("decisions print as JSON lines for --dry-run", "[rules][engine]") {
  World w;
  RuleSpec r = rule("avg(power, 5m) > 100 or temperature > 80");
  r.actions = {{"reboot", minutes(0)}};
  r.severity = Severity::kCritical;
  w.add_rule(r);
  const auto worker = w.add_worker();
  w.set(worker, "temperature", 81);
  Evaluation out = w.cycle(t0);
  REQUIRE(out.notes.size() == 2);
  auto j = nlohmann::json::parse(decision_json(out, out.notes[0], 0));
  CHECK(j["type"] == "decision");
  CHECK(j["change"] == "triggered");
  CHECK(j["rule_id"] == 1);
  CHECK(j["worker"] == "w1");
  CHECK(j["state"] == "firing");
  CHECK(j["severity"] == "critical");
  CHECK(j["alert_id"].is_null());
  CHECK(j["terms"]["temperature"] == 81);
  CHECK(j["terms"]["avg(power, 5m)"].is_null());
  CHECK(j["notifications"] == nlohmann::json::array({"alert.firing"}));
  auto action = nlohmann::json::parse(decision_json(out, out.notes[1], 42));
  CHECK(action["change"] == "action");
  CHECK(action["alert_id"] == 42);
  CHECK(action["command"]["action"] == "reboot");
  CHECK(action["command"]["state"] == "queued");
  CHECK(command_key(42, 0) == "alert:42:step:0");
  CHECK(notification_key(42, "firing") == "alert:42:firing");
}
