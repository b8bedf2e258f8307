// The alert-evaluator binary end to end: seed 001's log lines and statistics, --dry-run, probes,
// two replicas at once, and a process killed in the middle of writing.
#include <catch2/catch.hpp>

#include <signal.h>

#include <pqxx/pqxx>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

void hot_asics(TestDatabase& db, int n, double value = 95) {
  db.exec(
      "INSERT INTO workers (kind, name, status) SELECT 'asic', 'miner-' || i, 'online' "
      "FROM generate_series(1, " +
      std::to_string(n) + ") i");
  db.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, observed_at) "
      "SELECT id, 'chip_temp_max', " +
      std::to_string(value) + ", now() FROM workers");
}

void set_all(TestDatabase& db, double value) {
  db.exec("UPDATE metrics_latest SET value = " + std::to_string(value) + ", observed_at = now()");
}

}  // namespace

TEST_CASE("alert-evaluator --once logs seed 001's lines and records its statistics",
          "[alerts][e2e]") {
  TestDatabase db;
  db.exec(
      "INSERT INTO workers (kind, name, status) VALUES ('device', 'Main Tank', 'online'), "
      "('device', 'Sump', 'online'), ('device', 'Frag Tank', 'online')");
  db.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, observed_at) "
      "SELECT id, 'temperature', CASE name WHEN 'Main Tank' THEN 85.2 ELSE 78 END, now() "
      "FROM workers WHERE name <> 'Frag Tank'");
  db.exec("INSERT INTO rules (name, condition) VALUES ('tank-hot', 'temperature > 82.0')");
  db.exec("INSERT INTO rules (name, condition) VALUES ('typo', 'temprature > 1')");

  auto r = run(binary("alert-evaluator"), {"--once"}, worker_env(db));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Contains("Found 2 enabled alerts to evaluate"));
  CHECK_THAT(r.err, Contains("Alert 1 triggered: Threshold exceeded: 85.2 > 82.0"));
  CHECK_THAT(r.err, Contains("Created alert event for alert 1, device Main Tank, value 85.2"));
  CHECK_THAT(r.err, Contains("Rule 2 (typo) skipped: condition: column 1: unknown metric "
                             "'temprature' (did you mean 'temperature'?)"));
  CHECK_THAT(r.err,
             Contains("total_alerts=3 evaluated=2 triggered=1 resolved=0 errors=1 skipped=1"));
  CHECK(db.scalar("SELECT concat_ws(' ', stats->>'total_alerts', stats->>'evaluated', "
                  "stats->>'triggered', stats->>'errors', stats->>'skipped', cycles, state) "
                  "FROM service_instances WHERE service = 'alert-evaluator'") ==
        "3 2 1 1 1 1 stopped");
  CHECK(db.count("alert_events") == 1);

  db.exec("UPDATE metrics_latest SET value = 80");
  r = run(binary("alert-evaluator"), {"--once"}, worker_env(db));
  CHECK_THAT(r.err, Contains("Alert 1 resolved: Threshold no longer exceeded: 80.0 > 82.0 is "
                             "false, device Main Tank"));
  CHECK(db.count("SELECT 1 FROM alert_events WHERE event = 'resolved'") == 1);
}

TEST_CASE("alert-evaluator --dry-run prints decisions as JSON lines and writes nothing",
          "[alerts][e2e]") {
  TestDatabase db;
  hot_asics(db, 3);
  db.exec(
      "INSERT INTO rules (name, condition, actions) VALUES ('hot', 'chip_temp_max > 90', "
      "'[\"restart_mining\"]')");
  const std::string before = table_fingerprint(db);
  auto r = run(binary("alert-evaluator"), {"--dry-run"}, worker_env(db));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(table_fingerprint(db) == before);
  int triggered = 0, actions = 0, summaries = 0;
  for (const auto& line : split(std::string(trim(r.out)), '\n')) {
    auto j = nlohmann::json::parse(line);
    if (j["type"] == "summary") {
      ++summaries;
      CHECK(j["counts"]["triggered"] == 3);
      continue;
    }
    CHECK(j["type"] == "decision");
    triggered += j["change"] == "triggered";
    if (j["change"] == "action") {
      ++actions;
      CHECK(j["command"]["action"] == "restart_mining");
      CHECK(j["command"]["state"] == "queued");
    }
  }
  CHECK(triggered == 3);
  CHECK(actions == 3);
  CHECK(summaries == 1);
}

TEST_CASE("alert-evaluator exposes its statistics on /metrics", "[alerts][e2e]") {
  TestDatabase db;
  hot_asics(db, 2);
  db.exec("INSERT INTO rules (name, condition) VALUES ('hot', 'chip_temp_max > 90')");
  const int port = free_port();
  Process p(binary("alert-evaluator"), {"--interval", "0.3", "--health-port", std::to_string(port)},
            worker_env(db));
  REQUIRE(eventually([&] { return db.count("alerts") == 2; }, seconds(15)));
  std::string body;
  REQUIRE(eventually(
      [&] {
        body = http_get(port, "/metrics").body;
        return body.find("fleet_alert_evaluator_triggered_total{service=\"alert-evaluator\"} 2") !=
               std::string::npos;
      },
      seconds(10)));
  CHECK_THAT(body, Contains("fleet_alert_evaluator_total_alerts_total"));
  CHECK_THAT(body, Contains("fleet_alert_evaluator_errors_total"));
  CHECK_THAT(body, Contains("fleet_cycles_total"));
  CHECK(http_get(port, "/health").status == 200);
  REQUIRE(eventually([&] { return http_get(port, "/ready").status == 200; }, seconds(10)));
  p.signal(SIGTERM);
  CHECK(p.wait(seconds(10)) == 0);
}

TEST_CASE("alert-evaluator --config-check validates its own keys", "[alerts][e2e]") {
  TestDatabase db;
  auto ok = run(binary("alert-evaluator"), {"--config-check"}, worker_env(db));
  INFO(ok.err);
  CHECK(ok.code == 0);
  auto bad = run(binary("alert-evaluator"),
                 {"--config-check", "--set", "alerts.worker_daily_cap=-1"}, worker_env(db));
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Contains("alerts.worker_daily_cap"));
}

TEST_CASE("two alert-evaluator processes at once create no duplicates, and one takes over",
          "[alerts][e2e]") {
  TestDatabase db;
  hot_asics(db, 30);
  db.exec(
      "INSERT INTO rules (name, condition, actions) VALUES ('hot', 'chip_temp_max > 90', "
      "'[\"restart_mining\"]')");
  const std::vector<std::string> args{"--interval", "0.2",
                                      "--set",      "leader.ttl=2s",
                                      "--set",      "alerts.fleet_rate_limit=1000",
                                      "--set",      "alerts.worker_cooldown=0s"};
  auto a = std::make_unique<Process>(binary("alert-evaluator"), args, worker_env(db));
  auto b = std::make_unique<Process>(binary("alert-evaluator"), args, worker_env(db));
  auto triggered = [&] { return db.count("SELECT 1 FROM alert_events WHERE event = 'triggered'"); };
  auto resolved = [&] { return db.count("SELECT 1 FROM alert_events WHERE event = 'resolved'"); };

  REQUIRE(eventually([&] { return triggered() == 30; }, seconds(20)));
  set_all(db, 50);
  REQUIRE(eventually([&] { return resolved() == 30; }, seconds(20)));
  set_all(db, 99);
  REQUIRE(eventually([&] { return triggered() == 60; }, seconds(20)));
  // Let both run on for a while: nothing more may appear.
  std::this_thread::sleep_for(milliseconds(1500));
  CHECK(triggered() == 60);
  CHECK(db.count("commands") == 60);
  CHECK(db.count("notifications") == 90);  // 60 firing + 30 resolved
  CHECK(db.count("SELECT 1 FROM service_instances WHERE service = 'alert-evaluator' AND leader") ==
        1);

  // Kill the leader outright: the other takes over when the lease expires.
  const std::string leader =
      db.scalar("SELECT pid FROM service_instances WHERE service = 'alert-evaluator' AND leader");
  Process* victim = std::to_string(a->pid()) == leader ? a.get() : b.get();
  Process* survivor = victim == a.get() ? b.get() : a.get();
  victim->signal(SIGKILL);
  victim->wait(seconds(5));
  set_all(db, 50);
  REQUIRE(eventually([&] { return resolved() == 60; }, seconds(20)));
  CHECK(db.scalar(
            "SELECT leader FROM service_instances WHERE service = 'alert-evaluator' AND pid = " +
            std::to_string(survivor->pid())) == "t");
  CHECK(triggered() == 60);
  CHECK(db.count("SELECT 1 FROM alerts WHERE state <> 'resolved'") == 0);
  survivor->signal(SIGTERM);
  CHECK(survivor->wait(seconds(10)) == 0);
}

TEST_CASE("a process killed mid-cycle leaves no half-written episode", "[alerts][e2e]") {
  TestDatabase db;
  hot_asics(db, 200);
  db.exec(
      "INSERT INTO rules (name, condition, actions) VALUES ('hot', 'chip_temp_max > 90', "
      "'[\"restart_mining\"]')");
  // A short lease, so the next run need not wait long for the dead leader's lease to expire.
  const std::vector<std::string> args{"--once", "--set", "alerts.fleet_rate_limit=1000", "--set",
                                      "leader.ttl=1s"};
  {
    // Hold a lock that stops the evaluator at its notifications insert — after it has written
    // the episodes, their events and the commands in its transaction — and kill it there.
    pqxx::connection locker(db.url());
    pqxx::work hold(locker);
    hold.exec("LOCK TABLE notifications IN EXCLUSIVE MODE");
    Process p(binary("alert-evaluator"), args, worker_env(db));
    REQUIRE(eventually(
        [&] {
          return db.count(
                     "SELECT 1 FROM pg_stat_activity WHERE application_name = "
                     "'alert-evaluator' AND wait_event_type = 'Lock'") == 1;
        },
        seconds(15)));
    CHECK_THAT(db.scalar("SELECT query FROM pg_stat_activity WHERE application_name = "
                         "'alert-evaluator' AND wait_event_type = 'Lock'"),
               Contains("INSERT INTO notifications"));
    p.signal(SIGKILL);
    CHECK(p.wait(seconds(5)) == 128 + SIGKILL);
    hold.abort();
  }
  // The server ends the dead client's session and rolls its transaction back.
  REQUIRE(eventually(
      [&] {
        return db.count(
                   "SELECT 1 FROM pg_stat_activity WHERE application_name = "
                   "'alert-evaluator'") == 0;
      },
      seconds(15)));
  CHECK(db.count("alerts") == 0);
  CHECK(db.count("alert_events") == 0);
  CHECK(db.count("commands") == 0);
  CHECK(db.count("notifications") == 0);

  std::this_thread::sleep_for(milliseconds(1200));
  for (int i = 0; i < 2; ++i) {
    auto r = run(binary("alert-evaluator"), args, worker_env(db));
    INFO(r.err);
    REQUIRE(r.code == 0);
  }
  CHECK(db.count("alerts") == 200);
  CHECK(db.count("alert_events") == 200);
  CHECK(db.count("commands") == 200);
  CHECK(db.count("notifications") == 200);
  // Every episode has its event, command and notification.
  CHECK(db.count("SELECT 1 FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM alert_events e WHERE "
                 "e.alert_id = a.id) OR NOT EXISTS (SELECT 1 FROM commands c WHERE c.alert_id = "
                 "a.id) OR NOT EXISTS (SELECT 1 FROM notifications n WHERE n.alert_id = a.id)") ==
        0);
}
