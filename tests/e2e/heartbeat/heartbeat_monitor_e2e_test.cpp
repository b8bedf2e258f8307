// The heartbeat-monitor binary against real PostgreSQL: a --once cycle changes statuses with
// their reasons and history (changed_by = the service), --dry-run prints and writes nothing,
// --config-check rejects bad monitor.* keys, and the probes answer while it runs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using std::chrono::seconds;

namespace {

// A node (site east) whose last heartbeat was `age` ago.
std::string node(TestDatabase& db, const std::string& name, const std::string& age) {
  const std::string id =
      db.scalar("INSERT INTO workers (kind, name, status, site) VALUES ('node', '" + name +
                "', 'online', 'east') RETURNING id");
  db.exec(
      "INSERT INTO nodes (worker_id, hostname, cpu_cores, memory_mb, disk_gb, credential_hash, "
      "last_heartbeat_at, streak_since) VALUES (" +
      id + ", '" + name + "', 2, 2048, 20, repeat('b', 64), now() - interval '" + age +
      "', now() - interval '" + age + "')");
  return id;
}

}  // namespace

TEST_CASE("heartbeat-monitor --once marks a silent node offline and notifies once",
          "[heartbeat][e2e]") {
  TestDatabase db;
  const auto silent = node(db, "silent", "10 minutes");
  const auto alive = node(db, "alive", "5 seconds");
  node(db, "alive-2", "5 seconds");
  auto r = run(binary("heartbeat-monitor"), {"--once"}, worker_env(db));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(db.scalar("SELECT status FROM workers WHERE id = " + silent) == "offline");
  CHECK(db.scalar("SELECT status FROM workers WHERE id = " + alive) == "online");
  CHECK(db.scalar("SELECT changed_by || ': ' || to_status FROM worker_status_history "
                  "WHERE worker_id = " +
                  silent) == "heartbeat-monitor: offline");
  CHECK_THAT(r.err, Contains("offline=1"));
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'worker.offline'") == 1);
  // The leader lease was taken under the service's name.
  CHECK(db.count("SELECT 1 FROM leases WHERE name = 'heartbeat-monitor'") == 1);
  // Run again: nothing more to do or say.
  r = run(binary("heartbeat-monitor"), {"--once"}, worker_env(db));
  REQUIRE(r.code == 0);
  CHECK(db.count("SELECT 1 FROM notifications") == 1);
  CHECK(db.count("SELECT 1 FROM worker_status_history") == 1);
}

TEST_CASE("heartbeat-monitor --dry-run prints its transitions as JSON and changes nothing",
          "[heartbeat][e2e]") {
  TestDatabase db;
  node(db, "a", "10 minutes");
  node(db, "b", "10 minutes");
  node(db, "c", "10 minutes");
  node(db, "d", "1 second");
  const std::string before = table_fingerprint(db);
  const std::string statuses = db.scalar("SELECT string_agg(status, ',') FROM workers");
  auto r = run(binary("heartbeat-monitor"), {"--dry-run"}, worker_env(db));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(table_fingerprint(db) == before);
  CHECK(db.scalar("SELECT string_agg(status, ',') FROM workers") == statuses);
  int transitions = 0, holds = 0;
  for (const auto& line : split(std::string(trim(r.out)), '\n')) {
    auto j = nlohmann::json::parse(line);
    if (j["action"] == "transition") {
      ++transitions;
      CHECK(j["to"] == "unreachable");  // 3 of 4 of site east: a partition
    }
    if (j["action"] == "hold_site") ++holds;
  }
  CHECK(transitions == 3);
  CHECK(holds == 1);
}

TEST_CASE("heartbeat-monitor --config-check accepts the defaults and rejects bad monitor keys",
          "[heartbeat][e2e]") {
  TestDatabase db;
  auto ok = run(binary("heartbeat-monitor"), {"--config-check"}, worker_env(db));
  INFO(ok.err);
  CHECK(ok.code == 0);
  auto unknown = run(binary("heartbeat-monitor"), {"--config-check", "--set", "monitor.bogus=1"},
                     worker_env(db));
  CHECK(unknown.code == 2);
  CHECK_THAT(unknown.err, Contains("monitor.bogus"));
  auto kind = run(binary("heartbeat-monitor"),
                  {"--config-check", "--set", "monitor.notify_kinds=node,toaster"}, worker_env(db));
  CHECK(kind.code == 2);
  CHECK_THAT(kind.err, Contains("unknown kind 'toaster'"));
  auto share = run(binary("heartbeat-monitor"),
                   {"--config-check", "--set", "monitor.partition_share=1.5"}, worker_env(db));
  CHECK(share.code == 2);
  CHECK_THAT(share.err, Contains("monitor.partition_share"));
}

TEST_CASE("heartbeat-monitor serves /health, /ready and its /metrics while it runs",
          "[heartbeat][e2e]") {
  TestDatabase db;
  const auto silent = node(db, "silent", "10 minutes");
  const int port = free_port();
  Process monitor(binary("heartbeat-monitor"),
                  {"--interval", "0.3", "--health-port", std::to_string(port)}, worker_env(db));
  REQUIRE(eventually([&] { return http_get(port, "/ready").status == 200; }, seconds(15)));
  CHECK(http_get(port, "/health").status == 200);
  REQUIRE(eventually(
      [&] { return db.scalar("SELECT status FROM workers WHERE id = " + silent) == "offline"; },
      seconds(10)));
  auto metrics = http_get(port, "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK_THAT(metrics.body, Contains("fleet_cycles_total{service=\"heartbeat-monitor\"}"));
  CHECK_THAT(metrics.body, Contains("fleet_heartbeat_monitor_offline_total"));
  CHECK_THAT(metrics.body,
             Contains("fleet_cycle_duration_seconds_bucket{service=\"heartbeat-monitor\""));
  monitor.signal(SIGTERM);
  CHECK(monitor.wait(seconds(10)) == std::optional<int>(0));
}
