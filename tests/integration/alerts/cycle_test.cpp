// The evaluation cycle against a real PostgreSQL: episodes, events, commands and notifications
// are written exactly once, together, and only when something changed.
#include <catch2/catch.hpp>

#include <thread>

#include <nlohmann/json.hpp>

#include "alert_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

TEST_CASE("alerts and events are created and resolved exactly once across repeated cycles",
          "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 3, "device");
  set_metric(db, "temperature", 85.2, "name = 'w1'");
  set_metric(db, "temperature", 70, "name <> 'w1'");
  add_rule(db, "tank-hot", "temperature > 82");
  TestCycle cycle(db);

  auto first = cycle.run();
  CHECK(cycle.count(first, "total_alerts") == 3);
  CHECK(cycle.count(first, "evaluated") == 3);
  CHECK(cycle.count(first, "triggered") == 1);
  for (int i = 0; i < 5; ++i) {
    auto again = cycle.run();
    CHECK(cycle.count(again, "triggered") == 0);
  }
  CHECK(db.count("alerts") == 1);
  CHECK(db.scalar("SELECT state FROM alerts") == "firing");
  CHECK(db.count("SELECT 1 FROM alert_events WHERE event = 'triggered'") == 1);
  CHECK(db.scalar(
            "SELECT current_value || ' ' || operator || ' ' || threshold_value || ' ' || metric "
            "FROM alert_events") == "85.2 > 82 temperature");
  CHECK(db.count("notifications") == 1);
  // Nothing changed, so nothing was rewritten: the row is at its first revision.
  CHECK(db.scalar("SELECT revision FROM alerts") == "0");

  set_metric(db, "temperature", 80.1, "name = 'w1'");
  auto resolved = cycle.run();
  CHECK(cycle.count(resolved, "resolved") == 1);
  for (int i = 0; i < 5; ++i)
    CHECK(cycle.count(cycle.run(), "resolved") == 0);
  CHECK(db.count("SELECT 1 FROM alert_events WHERE event = 'resolved'") == 1);
  CHECK(db.scalar("SELECT resolution || ' ' || resolution_value FROM alerts") == "cleared 80.1");
  CHECK(db.scalar("SELECT is_resolved::text || ' ' || resolution_value FROM alert_event_history") ==
        "true 80.1");
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'alert.resolved'") == 1);

  // A second breach is a second episode.
  set_metric(db, "temperature", 90, "name = 'w1'");
  cycle.run();
  CHECK(db.count("alerts") == 2);
  CHECK(db.count("SELECT 1 FROM alerts WHERE state <> 'resolved'") == 1);
}

TEST_CASE("`for` holds an episode pending before it fires", "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 1);
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "hot", "chip_temp_max > 90", ", for_duration", ", interval '1 second'");
  TestCycle cycle(db);
  CHECK(cycle.count(cycle.run(), "pending") == 1);
  CHECK(db.scalar("SELECT state FROM alerts") == "pending");
  CHECK(db.count("alert_events") == 0);
  CHECK(db.count("notifications") == 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(cycle.count(cycle.run(), "triggered") == 1);
  CHECK(db.scalar("SELECT state FROM alerts") == "firing");
  CHECK(db.count("alert_events") == 1);
}

TEST_CASE("a notification and a command commit together with the state change",
          "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 1);
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "hot", "chip_temp_max > 90", ", actions",
           ", '[{\"action\": \"restart_mining\"}, {\"action\": \"reboot\", \"after\": \"10m\"}]'");
  // The next episode will be alert 1001; a command already holding its first step's key makes
  // the command insert fail mid-transaction.
  db.exec("SELECT setval('alerts_id_seq', 1000)");
  db.exec(
      "INSERT INTO commands (worker_id, action, channel, origin, requested_by, idempotency_key) "
      "SELECT id, 'reboot', 'firmware', 'user', 'test', 'alert:1001:step:0' FROM workers");
  TestCycle cycle(db);
  CHECK_THROWS(cycle.run());
  CHECK(db.count("alerts") == 0);
  CHECK(db.count("alert_events") == 0);
  CHECK(db.count("notifications") == 0);
  CHECK(db.count("commands") == 1);

  db.exec("DELETE FROM commands");
  auto report = cycle.run();
  CHECK(cycle.count(report, "commands") == 1);
  const std::string alert = db.scalar("SELECT id FROM alerts");
  CHECK(db.scalar("SELECT alert_id FROM alert_events") == alert);
  CHECK(db.scalar("SELECT alert_id || ' ' || action || ' ' || channel || ' ' || state || ' ' || "
                  "idempotency_key || ' ' || origin FROM commands") ==
        alert + " restart_mining firmware queued alert:" + alert + ":step:0 rule");
  CHECK(db.scalar("SELECT alert_id || ' ' || event || ' ' || dedupe_key FROM notifications") ==
        alert + " alert.firing alert:" + alert + ":firing");
  CHECK(db.scalar("SELECT next_step FROM alerts") == "1");
  for (int i = 0; i < 3; ++i)
    cycle.run();
  CHECK(db.count("commands") == 1);  // the next step waits its 10 minutes
}

TEST_CASE("cooldown and daily cap read the commands table, skipped actions are recorded",
          "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 3);
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "hot", "chip_temp_max > 90", ", actions", ", '[\"reboot\"]'");
  // w1 was rebooted by a person a minute ago; w2 six times today.
  db.exec(
      "INSERT INTO commands (worker_id, action, channel, origin, requested_by, idempotency_key, "
      "created_at) SELECT id, 'reboot', 'firmware', 'user', 'op', 'manual-' || id, "
      "now() - interval '1 minute' FROM workers WHERE name = 'w1'");
  db.exec(
      "INSERT INTO commands (worker_id, action, channel, origin, requested_by, idempotency_key, "
      "created_at, state) SELECT w.id, 'reboot', 'firmware', 'user', 'op', 'day-' || i, "
      "now() - i * interval '1 hour', 'expired' FROM workers w, generate_series(1, 6) i "
      "WHERE w.name = 'w2'");
  TestCycle cycle(db);
  auto report = cycle.run();
  CHECK(cycle.count(report, "commands") == 1);
  CHECK(cycle.count(report, "actions_skipped") == 2);
  CHECK_THAT(db.scalar("SELECT skip_reason FROM commands c JOIN workers w ON w.id = c.worker_id "
                       "WHERE w.name = 'w1' AND c.origin = 'rule'"),
             Contains("cooldown"));
  CHECK_THAT(db.scalar("SELECT skip_reason FROM commands c JOIN workers w ON w.id = c.worker_id "
                       "WHERE w.name = 'w2' AND c.origin = 'rule'"),
             Contains("daily cap: 6 actions"));
  CHECK(db.scalar("SELECT state FROM commands c JOIN workers w ON w.id = c.worker_id "
                  "WHERE w.name = 'w3' AND c.origin = 'rule'") == "queued");
}

TEST_CASE("silences and offline workers mute, the episode is still recorded",
          "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 3);
  db.exec("UPDATE workers SET status = 'offline' WHERE name = 'w3'");
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "hot", "chip_temp_max > 90", ", actions", ", '[\"restart_mining\"]'");
  db.exec(
      "INSERT INTO silences (worker_id, ends_at, reason, created_by) "
      "SELECT id, now() + interval '1 hour', 'fan swap', 'test' FROM workers WHERE name = 'w1'");
  TestCycle cycle(db);
  auto report = cycle.run();
  CHECK(cycle.count(report, "triggered") == 3);
  CHECK(cycle.count(report, "suppressed") == 2);
  CHECK(db.count("alerts") == 3);
  CHECK(db.count("alert_events") == 3);
  CHECK(
      db.scalar(
          "SELECT string_agg(w.name || ':' || coalesce(a.suppressed_by, '-'), ',' ORDER BY w.name) "
          "FROM alerts a JOIN workers w ON w.id = a.worker_id") ==
      "w1:silence 1: fan swap,w2:-,w3:worker offline");
  CHECK(db.count("commands") == 1);
  CHECK(db.count("notifications") == 1);
  // Ending the silence lets the held notification and step through, once.
  db.exec("UPDATE silences SET ends_at = now()");
  cycle.run();
  cycle.run();
  CHECK(db.count("commands") == 2);
  CHECK(db.count("notifications") == 2);
}

TEST_CASE("window functions read readings, stale metrics are no data", "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 2);
  db.exec(
      "INSERT INTO readings (worker_id, metric, ts, value) SELECT w.id, 'chip_temp_max', "
      "now() - i * interval '1 minute', CASE WHEN w.name = 'w1' THEN 90 ELSE 70 END + i "
      "FROM workers w, generate_series(0, 20) i");
  set_metric(db, "fan_rpm_min", 500, "true", "10 minutes");  // stale: older than 5 minutes
  add_rule(db, "avg-hot", "avg(chip_temp_max, 10m) > 85");
  add_rule(db, "rising", "delta(chip_temp_max, 10m) < -5");  // newest minus oldest in the window
  add_rule(db, "fans", "fan_rpm_min < 1000", ", no_data", ", 'alert'");
  TestCycle cycle(db);
  auto report = cycle.run();
  CHECK(
      db.scalar(
          "SELECT string_agg(r.name || ':' || w.name || ':' || a.kind, ',' ORDER BY r.name, "
          "w.name) "
          "FROM alerts a JOIN rules r ON r.id = a.rule_id JOIN workers w ON w.id = a.worker_id") ==
      "avg-hot:w1:condition,fans:w1:no_data,fans:w2:no_data,rising:w1:condition,rising:w2:"
      "condition");
  CHECK(db.scalar("SELECT round((observed->>'avg(chip_temp_max, 10m)')::numeric, 1) FROM alerts a "
                  "JOIN rules r ON r.id = a.rule_id WHERE r.name = 'avg-hot'") == "94.5");
  CHECK(cycle.count(report, "no_data") == 2);
}

TEST_CASE("a bad rule is skipped and counted, the others still run", "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 1);
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "typo", "chip_tmp_max > 90");
  add_rule(db, "ladder", "chip_temp_max > 90", ", actions", ", '[{\"action\": 7}]'");
  add_rule(db, "good", "chip_temp_max > 90");
  TestCycle cycle(db);
  auto report = cycle.run();
  CHECK(cycle.count(report, "errors") == 2);
  CHECK(cycle.count(report, "triggered") == 1);
  CHECK(db.scalar("SELECT r.name FROM alerts a JOIN rules r ON r.id = a.rule_id") == "good");
}

TEST_CASE("disabling or deleting a rule ends its open episodes", "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 2);
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "a", "chip_temp_max > 90");
  TestCycle cycle(db);
  cycle.run();
  CHECK(db.count("SELECT 1 FROM alerts WHERE state = 'firing'") == 2);
  db.exec("UPDATE rules SET enabled = false");
  CHECK(cycle.count(cycle.run(), "resolved") == 2);
  CHECK(db.count("SELECT 1 FROM alerts WHERE resolution = 'rule_disabled'") == 2);
  CHECK(db.count("SELECT 1 FROM alert_events WHERE event = 'resolved'") == 2);
  db.exec("UPDATE rules SET enabled = true");
  cycle.run();
  db.exec("DELETE FROM rules");
  CHECK(db.count("alerts") == 0);  // cascade: history goes with the rule
  cycle.run();
}

TEST_CASE("dry run computes every decision and writes nothing", "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 2);
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "hot", "chip_temp_max > 90", ", actions", ", '[\"reboot\"]'");
  TestCycle dry(db, /*dry_run=*/true);
  auto report = dry.run();
  CHECK(dry.count(report, "triggered") == 2);
  CHECK(db.count("alerts") == 0);
  CHECK(db.count("commands") == 0);
  REQUIRE(dry.emitted.size() == 4);
  int triggered = 0, actions = 0;
  for (const auto& line : dry.emitted) {
    auto j = nlohmann::json::parse(line);
    CHECK(j["type"] == "decision");
    triggered += j["change"] == "triggered";
    actions += j["change"] == "action";
  }
  CHECK(triggered == 2);
  CHECK(actions == 2);
}

TEST_CASE("two writers racing create no duplicates", "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 40);
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "hot", "chip_temp_max > 90", ", actions", ", '[\"restart_mining\"]'");
  alerting::EvaluatorOptions options;
  options.limits.fleet_max_per_window = 1000;
  std::atomic<int> failures{0};
  auto race = [&](int rounds) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&] {
        TestCycle cycle(db);  // no leader lease: only the constraints keep them apart
        for (int i = 0; i < rounds; ++i) {
          try {
            cycle.run(options);
          } catch (const std::exception&) {
            ++failures;  // the loser of a race rolls back and tries again next cycle
          }
        }
      });
    }
    for (auto& t : threads)
      t.join();
  };
  race(15);
  CHECK(db.count("alerts") == 40);
  CHECK(db.count("SELECT 1 FROM alert_events WHERE event = 'triggered'") == 40);
  CHECK(db.count("commands") == 40);
  CHECK(db.count("notifications") == 40);
  set_metric(db, "chip_temp_max", 50);
  race(15);
  CHECK(db.count("SELECT 1 FROM alert_events WHERE event = 'resolved'") == 40);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'alert.resolved'") == 40);
  CHECK(db.count("SELECT 1 FROM alerts WHERE state = 'resolved'") == 40);
  UNSCOPED_INFO("cycles that lost a race: " << failures.load());
}

TEST_CASE("metric values come from value, else a number in json_value (seed 001's extraction)",
          "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 4, "device");
  db.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, json_value, observed_at) VALUES "
      "(1, 'temperature', 85.2, NULL, now()), "
      "(2, 'temperature', NULL, '86.5', now()), "
      "(3, 'temperature', NULL, '{\"value\": 87.5, \"unit\": \"C\"}', now()), "
      "(4, 'temperature', NULL, '{\"reading\": \"hot\"}', now())");
  db.exec(
      "INSERT INTO readings (worker_id, metric, ts, json_value) SELECT 2, 'ph', "
      "now() - i * interval '1 minute', jsonb_build_object('value', 8 + i / 10.0) "
      "FROM generate_series(0, 3) i");
  add_rule(db, "hot", "temperature > 82");
  add_rule(db, "ph", "avg(ph, 10m) > 8.1");
  TestCycle cycle(db);
  auto report = cycle.run();
  CHECK(db.scalar("SELECT string_agg(a.worker_id || '=' || a.value, ',' ORDER BY a.worker_id) "
                  "FROM alerts a JOIN rules r ON r.id = a.rule_id WHERE r.name = 'hot'") ==
        "1=85.2,2=86.5,3=87.5");
  CHECK(db.scalar("SELECT a.worker_id || '=' || round((a.observed ->> 'avg(ph, 10m)')::numeric, 2) "
                  "FROM alerts a JOIN rules r ON r.id = a.rule_id WHERE r.name = 'ph'") ==
        "2=8.15");
  CHECK(cycle.count(report, "skipped") == 4);  // worker 4's temperature; ph on 1, 3, 4
}

TEST_CASE("after the system was down, stale data does not resolve a firing alert at once",
          "[alerts][integration]") {
  TestDatabase db;
  add_workers(db, 1);
  set_metric(db, "chip_temp_max", 95);
  add_rule(db, "hot", "chip_temp_max > 90");
  TestCycle cycle(db);
  CHECK(cycle.count(cycle.run(), "triggered") == 1);
  REQUIRE(db.scalar("SELECT watching_since IS NULL FROM watches WHERE name = 'alert-evaluator'") ==
          "t");

  // Ten hours later everything starts again: the last cycle and the metric are ten hours old.
  db.exec("UPDATE watches SET last_cycle_at = now() - interval '10 hours'");
  db.exec("UPDATE metrics_latest SET observed_at = now() - interval '10 hours'");
  // A dry run shows the same and writes nothing.
  TestCycle dry(db, true);
  CHECK(dry.count(dry.run(), "resolved") == 0);
  CHECK(db.scalar("SELECT last_cycle_at < now() - interval '9 hours' FROM watches") == "t");
  auto report = cycle.run();
  CHECK(cycle.count(report, "resolved") == 0);
  CHECK(db.scalar("SELECT state FROM alerts") == "firing");
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'alert.resolved'") == 0);

  // Still no data after a whole stale_after (5 min) of watching: now it resolves.
  db.exec("UPDATE watches SET watching_since = now() - interval '301 seconds'");
  report = cycle.run();
  CHECK(cycle.count(report, "resolved") == 1);
  CHECK(db.scalar("SELECT resolution FROM alerts") == "no_data");
}
