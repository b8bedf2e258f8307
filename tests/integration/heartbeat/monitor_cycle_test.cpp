// heartbeat-monitor's cycle against PostgreSQL: every transition per kind with its reason, the
// history row the 0040 trigger writes from it, the notifications (once), holds, flap damping,
// --dry-run and the history retention.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "monitor_fixture.h"
#include "monitor_store.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using Catch::Matchers::Matches;
using Catch::Matchers::StartsWith;

// Seconds in reasons count from the rows made by the test to the cycle: a slow machine adds some.
const char* const kSilent134 = "no heartbeat for 13[4-9] s \\(timeout 120 s\\)";

TEST_CASE("nodes: pending, online, offline and back, each with its reason and history",
          "[heartbeat][integration]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto fresh = add_node(db, "fresh", "pending", "5 seconds");
  const auto waiting = add_node(db, "waiting", "pending", "");
  const auto silent = add_node(db, "silent", "online", "134 seconds");
  const auto alive = add_node(db, "alive", "online", "10 seconds");
  const auto back = add_node(db, "back", "offline", "3 seconds");
  status_since(db, back, "312 seconds");
  db.exec("UPDATE nodes SET streak_since = now() - interval '61 seconds' WHERE worker_id = " +
          back);
  const auto returning = add_node(db, "returning", "offline", "3 seconds");  // streak too short
  db.exec("UPDATE nodes SET streak_since = now() - interval '20 seconds' WHERE worker_id = " +
          returning);

  auto report = cycle.run();
  CHECK(MonitorCycle::count(report, "changed") == 3);
  CHECK(status_of(db, fresh) == "online");
  CHECK_THAT(reason_of(db, fresh), StartsWith("heartbeat received"));
  CHECK(status_of(db, waiting) == "pending");
  CHECK(status_of(db, silent) == "offline");
  CHECK_THAT(reason_of(db, silent), Matches(kSilent134));
  CHECK(status_of(db, alive) == "online");
  CHECK(status_of(db, back) == "online");
  CHECK_THAT(reason_of(db, back),
             Matches("recovered after 31[2-7] s \\(heartbeating for 6[1-6] s\\)"));
  CHECK(status_of(db, returning) == "offline");
  // The 0040 trigger wrote the history from the reason.
  CHECK_THAT(db.scalar("SELECT from_status || '>' || to_status || ': ' || reason FROM "
                       "worker_status_history WHERE worker_id = " +
                       silent),
             Matches(std::string("online>offline: ") + kSilent134));
  // Notifications: one offline, one recovered (registration is not notified), to the admins.
  CHECK(db.count("SELECT 1 FROM notifications") == 2);
  auto offline = nlohmann::json::parse(db.scalar(
      "SELECT json_build_object('severity', severity, 'title', title, 'body', body, 'payload', "
      "payload, 'source', source) FROM notifications WHERE event = 'worker.offline' AND "
      "worker_id = " +
      silent));
  CHECK(offline["source"] == "heartbeat-monitor");
  CHECK(offline["severity"] == "warning");
  CHECK(offline["title"] == "node silent is offline");
  CHECK_THAT(offline["body"].get<std::string>(), Matches(kSilent134));
  CHECK(offline["payload"]["audience"] == "admins");
  CHECK_THAT(db.scalar("SELECT title FROM notifications WHERE event = 'worker.recovered' AND "
                       "worker_id = " +
                       back),
             Matches("node back recovered after 31[2-7] s"));

  // A second run (a restart) changes and notifies nothing more.
  report = cycle.run();
  CHECK(MonitorCycle::count(report, "changed") == 0);
  CHECK(db.count("SELECT 1 FROM notifications") == 2);
}

TEST_CASE("nodes: over a limit for N heartbeats is unhealthy - healthy for the hold recovers",
          "[heartbeat][integration]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto hot = add_node(db, "hot", "online", "5 seconds");
  db.exec(
      "UPDATE nodes SET over_limit_streak = 3, over_limit = '{disk}', disk_percent = 93.1, "
      "cpu_percent = 20, memory_percent = 40 WHERE worker_id = " +
      hot);
  const auto warm = add_node(db, "warm", "online", "5 seconds");
  db.exec(
      "UPDATE nodes SET over_limit_streak = 2, over_limit = '{cpu}', cpu_percent = 95 "
      "WHERE worker_id = " +
      warm);
  cycle.run();
  CHECK(status_of(db, hot) == "unhealthy");
  CHECK(reason_of(db, hot) == "disk 93.1 % > 90 % for 3 heartbeats");
  CHECK(status_of(db, warm) == "online");
  auto payload = nlohmann::json::parse(db.scalar(
      "SELECT payload FROM notifications WHERE event = 'worker.unhealthy' AND worker_id = " + hot));
  CHECK(payload["metrics"]["disk_percent"].get<double>() == Approx(93.1).epsilon(1e-4));
  CHECK(payload["limits"]["disk_percent"] == 90.0);
  CHECK(payload["limits"]["heartbeats"] == 3);
  CHECK(payload["audience"] == "admins");

  // Healthy again, but not for the hold yet.
  db.exec(
      "UPDATE nodes SET over_limit_streak = 0, over_limit = '{}', disk_percent = 50, "
      "healthy_since = now() - interval '30 seconds' WHERE worker_id = " +
      hot);
  cycle.run();
  CHECK(status_of(db, hot) == "unhealthy");
  db.exec("UPDATE nodes SET healthy_since = now() - interval '70 seconds' WHERE worker_id = " +
          hot);
  status_since(db, hot, "200 seconds");
  cycle.run();
  CHECK(status_of(db, hot) == "online");
  CHECK_THAT(reason_of(db, hot), Matches("recovered after 20[0-5] s .*"));
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'worker.recovered'") == 1);
}

TEST_CASE("nodes: a drained node stays draining while alive and returns to draining",
          "[heartbeat][integration]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto id = add_node(db, "drained", "draining", "5 seconds");
  db.exec("UPDATE nodes SET drain_requested_at = now(), over_limit_streak = 9 WHERE worker_id = " +
          id);
  cycle.run();
  CHECK(status_of(db, id) == "draining");
  db.exec("UPDATE nodes SET last_heartbeat_at = now() - interval '200 seconds' WHERE worker_id = " +
          id);
  cycle.run();
  CHECK(status_of(db, id) == "offline");
  db.exec(
      "UPDATE nodes SET last_heartbeat_at = now(), over_limit_streak = 0, "
      "streak_since = now() - interval '90 seconds' WHERE worker_id = " +
      id);
  cycle.run();
  CHECK(status_of(db, id) == "draining");
}

TEST_CASE("ASICs, rigs and devices follow their own signs of life - only nodes notify by default",
          "[heartbeat][integration]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto asic_gone = add_worker(db, "asic", "a1", "online", "11 minutes");
  const auto asic_ok = add_worker(db, "asic", "a2", "online", "20 seconds");
  // status-poller marked it offline after failed polls: its last poll predates the change.
  const auto asic_polled_off = add_worker(db, "asic", "a3", "offline", "50 seconds");
  status_since(db, asic_polled_off, "10 seconds");
  const auto asic_back = add_worker(db, "asic", "a4", "offline", "10 seconds");
  status_since(db, asic_back, "15 minutes");
  const auto rig = add_worker(db, "rig", "r1", "online", "6 minutes");
  const auto device = add_worker(db, "device", "d1", "online", "50 seconds");
  db.exec("INSERT INTO devices (worker_id, device_type, expected_interval) VALUES (" + device +
          ", 'thermo', interval '20 seconds')");
  const auto device_ok = add_worker(db, "device", "d2", "online", "50 seconds");
  db.exec("INSERT INTO devices (worker_id, device_type, expected_interval) VALUES (" + device_ok +
          ", 'thermo', interval '60 seconds')");
  const auto device_back = add_worker(db, "device", "d3", "offline", "5 seconds");
  db.exec("INSERT INTO devices (worker_id, device_type) VALUES (" + device_back + ", 'thermo')");
  status_since(db, device_back, "10 minutes");

  cycle.run();
  CHECK(status_of(db, asic_gone) == "offline");
  CHECK_THAT(reason_of(db, asic_gone),
             Matches("no successful poll for 66[0-5] s \\(timeout 600 s\\)"));
  CHECK(status_of(db, asic_ok) == "online");
  CHECK(status_of(db, asic_polled_off) == "offline");
  CHECK(status_of(db, asic_back) == "online");
  CHECK(status_of(db, rig) == "offline");
  CHECK_THAT(reason_of(db, rig), Matches("not seen for 36[0-5] s \\(timeout 300 s\\)"));
  CHECK(status_of(db, device) == "offline");
  CHECK_THAT(reason_of(db, device), Matches("no reading for 5[0-5] s \\(timeout 40 s\\)"));
  CHECK(status_of(db, device_ok) == "online");
  CHECK(status_of(db, device_back) == "online");
  CHECK(db.count("SELECT 1 FROM notifications") == 0);

  // With asic in monitor.notify_kinds, an ASIC going offline is notified (without the admin
  // audience, which is for nodes).
  heartbeat::MonitorOptions o;
  o.notify_kinds = {"node", "asic"};
  db.exec("UPDATE workers SET last_seen_at = now() - interval '1 hour' WHERE id = " + asic_ok);
  cycle.run(o);
  CHECK(status_of(db, asic_ok) == "offline");
  CHECK(db.scalar("SELECT event || ' ' || (payload ? 'audience')::text FROM notifications") ==
        "worker.offline false");
}

TEST_CASE("a flapping worker needs the longer hold to come back", "[heartbeat][integration]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto steady = add_node(db, "steady", "offline", "2 seconds");
  const auto flappy = add_node(db, "flappy", "offline", "2 seconds");
  db.exec("UPDATE nodes SET streak_since = now() - interval '2 minutes'");
  // Five changes in the last quarter of an hour (more than flap_changes = 4).
  db.exec(
      "INSERT INTO worker_status_history (worker_id, from_status, to_status, reason, at) "
      "SELECT " +
      flappy +
      ", 'online', 'offline', 'test', now() - i * interval '2 minutes' "
      "FROM generate_series(1, 5) i");
  // Changes older than the window do not count.
  db.exec(
      "INSERT INTO worker_status_history (worker_id, from_status, to_status, reason, at) "
      "SELECT " +
      steady +
      ", 'online', 'offline', 'test', now() - interval '1 hour' "
      "FROM generate_series(1, 9)");
  cycle.run();
  CHECK(status_of(db, steady) == "online");
  CHECK(status_of(db, flappy) == "offline");
  db.exec("UPDATE nodes SET streak_since = now() - interval '6 minutes' WHERE worker_id = " +
          flappy);
  cycle.run();
  CHECK(status_of(db, flappy) == "online");
}

TEST_CASE("a dry run prints each transition as a JSON line and writes nothing",
          "[heartbeat][integration]") {
  TestDatabase db;
  const auto id = add_node(db, "silent", "online", "10 minutes");
  db.exec(
      "INSERT INTO worker_status_history (worker_id, from_status, to_status, reason, at) "
      "VALUES (" +
      id + ", 'pending', 'online', 'old', now() - interval '200 days')");
  MonitorCycle dry(db, true);
  auto report = dry.run();
  CHECK(MonitorCycle::count(report, "transitions") == 1);
  CHECK(status_of(db, id) == "online");
  CHECK(db.count("SELECT 1 FROM notifications") == 0);
  CHECK(db.count("SELECT 1 FROM worker_status_history") == 1);
  REQUIRE(dry.emitted.size() == 2);
  auto line = nlohmann::json::parse(dry.emitted[0]);
  CHECK(line["action"] == "transition");
  CHECK(line["to"] == "offline");
  CHECK(line["notify"] == "worker.offline");
  CHECK(nlohmann::json::parse(dry.emitted[1])["action"] == "prune_status_history");
}

TEST_CASE("status history older than the retention is deleted", "[heartbeat][integration]") {
  TestDatabase db;
  const auto id = add_node(db, "n", "online", "1 second");
  db.exec(
      "INSERT INTO worker_status_history (worker_id, from_status, to_status, reason, at) "
      "SELECT " +
      id +
      ", 'pending', 'online', 'x', now() - i * interval '1 day' "
      "FROM generate_series(1, 120) i");
  heartbeat::MonitorOptions o;
  o.history_batch = 7;  // several batches
  MonitorCycle cycle(db);
  auto report = cycle.run(o);
  CHECK(MonitorCycle::count(report, "history_pruned") == 31);  // days 90..120
  CHECK(db.count("SELECT 1 FROM worker_status_history") == 89);
}

TEST_CASE("two replicas deciding the same change write it and its notification once",
          "[heartbeat][integration]") {
  TestDatabase db;
  const auto id = add_node(db, "silent", "online", "10 minutes");
  heartbeat::MonitorOptions o;
  db::Session a(db::ConnectionOptions{.conninfo = db.url()});
  db::Session b(db::ConnectionOptions{.conninfo = db.url()});
  // Both read and decide before either writes.
  auto decide_on = [&](db::Session& s) {
    return s.transact([&](pqxx::transaction_base& tx) {
      std::vector<heartbeat::Transition> out;
      for (const auto& w : heartbeat::load_snapshot(tx, o).candidates) {
        if (auto t = heartbeat::decide(w, o)) out.push_back(*t);
      }
      return out;
    });
  };
  auto first = decide_on(a);
  auto second = decide_on(b);
  REQUIRE(first.size() == 1);
  REQUIRE(second.size() == 1);
  auto applied_a =
      a.transact([&](pqxx::transaction_base& tx) { return heartbeat::apply(tx, first, {}, o); });
  auto applied_b =
      b.transact([&](pqxx::transaction_base& tx) { return heartbeat::apply(tx, second, {}, o); });
  CHECK(applied_a.changed == 1);
  CHECK(applied_a.notified == 1);
  CHECK(applied_b.changed == 0);
  CHECK(applied_b.notified == 0);
  CHECK(status_of(db, id) == "offline");
  CHECK(db.count("SELECT 1 FROM notifications") == 1);
  CHECK(db.count("SELECT 1 FROM worker_status_history") == 1);
}

TEST_CASE("a HiveOS rig whose account could not be read (rigs.stale) is not marked offline",
          "[heartbeat][integration][hiveos]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto account = db.scalar(
      "INSERT INTO hiveos_accounts (name, base_url, token_enc, created_by) VALUES ('acc', "
      "'http://127.0.0.1:1/api/v2', '', 'test') RETURNING id");
  const auto stale = add_worker(db, "rig", "stale-rig", "online", "20 minutes", "farm");
  const auto fresh = add_worker(db, "rig", "fresh-rig", "online", "20 minutes", "farm");
  db.exec(
      "INSERT INTO rigs (worker_id, account_id, hiveos_worker_id, hiveos_farm_id, stale) "
      "VALUES (" +
      stale + ", " + account + ", 1, 10, true), (" + fresh + ", " + account + ", 2, 10, false)");

  cycle.run({.partition_min_workers = 10});
  CHECK(status_of(db, stale) == "online");
  CHECK(status_of(db, fresh) == "offline");

  // Read again (stale cleared) and still not seen: offline like any rig.
  db.exec("UPDATE rigs SET stale = false WHERE worker_id = " + stale);
  cycle.run({.partition_min_workers = 10});
  CHECK(status_of(db, stale) == "offline");
}

TEST_CASE("after the system was down, workers get a whole timeout before they count as silent",
          "[heartbeat][integration]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto quiet = add_node(db, "quiet", "online", "5 seconds");
  cycle.run();  // the first cycle ever: nothing to make up for
  REQUIRE(
      db.scalar("SELECT watching_since IS NULL FROM watches WHERE name = 'heartbeat-monitor'") ==
      "t");

  // Ten hours later everything comes back: the monitor's last cycle and every sign of life are
  // ten hours old (the pollers and the gateway were down too).
  db.exec(
      "UPDATE watches SET last_cycle_at = now() - interval '10 hours' WHERE name = "
      "'heartbeat-monitor'");
  db.exec("UPDATE nodes SET last_heartbeat_at = now() - interval '10 hours'");
  const auto asic = add_worker(db, "asic", "a1", "online", "10 hours");
  auto report = cycle.run();
  CHECK(MonitorCycle::count(report, "changed") == 0);
  CHECK(status_of(db, quiet) == "online");
  CHECK(status_of(db, asic) == "online");
  CHECK(db.count("SELECT 1 FROM notifications") == 0);
  CHECK(db.scalar("SELECT watching_since > now() - interval '1 minute' FROM watches WHERE name = "
                  "'heartbeat-monitor'") == "t");

  // A dry run after another gap would restart the watch too, and writes nothing.
  db.exec(
      "UPDATE watches SET last_cycle_at = now() - interval '1 hour', "
      "watching_since = now() - interval '2 hours' WHERE name = 'heartbeat-monitor'");
  MonitorCycle dry(db, true);
  report = dry.run();
  CHECK(MonitorCycle::count(report, "transitions") == 0);
  CHECK(db.scalar("SELECT last_cycle_at < now() - interval '59 minutes' FROM watches WHERE name = "
                  "'heartbeat-monitor'") == "t");

  // Watched for longer than the node's timeout (121 s) but not the ASIC's (600 s): only the
  // node, which stayed silent all along, goes offline.
  db.exec(
      "UPDATE watches SET last_cycle_at = now(), "
      "watching_since = now() - interval '121 seconds' WHERE name = 'heartbeat-monitor'");
  report = cycle.run();
  CHECK(MonitorCycle::count(report, "changed") == 1);
  CHECK(status_of(db, quiet) == "offline");
  CHECK(status_of(db, asic) == "online");
  // Cycles within the gap keep the watch going.
  CHECK(db.scalar("SELECT watching_since < now() - interval '120 seconds' FROM watches WHERE name "
                  "= 'heartbeat-monitor'") == "t");
}

TEST_CASE(
    "the first watch after an upgrade starts from the service's last cycle in "
    "service_instances",
    "[heartbeat][integration]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  // A monitor of the previous version last completed a cycle ten hours ago; everything was down
  // since, so the node looks silent for ten hours.
  db.exec(
      "INSERT INTO service_instances (instance_id, service, host, pid, version, mode, state, "
      "interval_ms, last_cycle_at) VALUES ('h/heartbeat-monitor/1', 'heartbeat-monitor', 'h', 1, "
      "'0.0.9', 'loop', 'stopped', 15000, now() - interval '10 hours')");
  const auto quiet = add_node(db, "quiet", "online", "10 hours");
  MonitorCycle dry(db, true);
  CHECK(MonitorCycle::count(dry.run(), "transitions") == 0);
  CHECK(db.count("SELECT 1 FROM watches") == 0);  // the dry run wrote nothing
  CHECK(MonitorCycle::count(cycle.run(), "changed") == 0);
  CHECK(status_of(db, quiet) == "online");
  CHECK(db.scalar("SELECT watching_since IS NOT NULL FROM watches") == "t");

  // Its last cycle within the gap (a rolling restart): nothing to make up for.
  TestDatabase db2;
  db2.exec(
      "INSERT INTO service_instances (instance_id, service, host, pid, version, mode, state, "
      "interval_ms, last_cycle_at) VALUES ('h/heartbeat-monitor/1', 'heartbeat-monitor', 'h', 1, "
      "'0.0.9', 'loop', 'stopped', 15000, now() - interval '20 seconds')");
  const auto silent = add_node(db2, "silent", "online", "10 hours");
  MonitorCycle cycle2(db2);
  CHECK(MonitorCycle::count(cycle2.run(), "changed") == 1);
  CHECK(status_of(db2, silent) == "offline");
}
