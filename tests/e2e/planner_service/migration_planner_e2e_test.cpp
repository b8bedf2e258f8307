// The migration-planner binary against real PostgreSQL: --once places a deployment (placements,
// container_start commands, the leader lease), --dry-run prints its plan and writes nothing,
// --config-check rejects bad planner.* keys, a running planner is woken by a new deployment
// (LISTEN fleet_planner) long before its interval, and the probes answer.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using std::chrono::seconds;

namespace {

std::string node(TestDatabase& db, const std::string& name) {
  const std::string id =
      db.scalar("INSERT INTO workers (kind, name, status) VALUES ('node', '" + name +
                "', 'online') "
                "RETURNING id");
  db.exec(
      "INSERT INTO nodes (worker_id, hostname, addresses, cpu_cores, memory_mb, disk_gb, "
      "credential_hash, last_heartbeat_at) VALUES (" +
      id + ", '" + name + "', ARRAY['127.0.0.5'::inet], 2, 2048, 20, repeat('b', 64), now())");
  return id;
}

std::string deployment(TestDatabase& db, const std::string& org, const std::string& name,
                       int replicas) {
  return db.scalar(
      "INSERT INTO deployments (organization_id, name, image, replicas, ports, "
      "created_by) VALUES (" +
      org + ", '" + name + "', 'busybox', " + std::to_string(replicas) +
      ", '[{\"container_port\": 80}]', 'test') RETURNING id");
}

}  // namespace

TEST_CASE("migration-planner --once places a deployment through agent commands", "[planner][e2e]") {
  TestDatabase db;
  node(db, "node-a");
  node(db, "node-b");
  const auto org = db.scalar("INSERT INTO organizations (name) VALUES ('acme') RETURNING id");
  deployment(db, org, "web", 2);
  auto r = run(binary("migration-planner"), {"--once"}, worker_env(db));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(db.count("SELECT 1 FROM placements WHERE state = 'starting'") == 2);
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_start' AND channel = 'agent' "
                 "AND origin = 'planner' AND requested_by LIKE 'migration-planner:%'") == 2);
  CHECK_THAT(r.err, Contains("placements_made=2"));
  CHECK(db.count("SELECT 1 FROM leases WHERE name = 'migration-planner'") == 1);
  r = run(binary("migration-planner"), {"--once"}, worker_env(db));
  REQUIRE(r.code == 0);
  CHECK(db.count("SELECT 1 FROM commands") == 2);
}

TEST_CASE("migration-planner --dry-run prints the plan as JSON and writes nothing",
          "[planner][e2e]") {
  TestDatabase db;
  node(db, "node-a");
  const auto org = db.scalar("INSERT INTO organizations (name) VALUES ('acme') RETURNING id");
  deployment(db, org, "web", 1);
  const std::string before = table_fingerprint(db);
  auto r = run(binary("migration-planner"), {"--dry-run"}, worker_env(db));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(table_fingerprint(db) == before);
  CHECK(db.count("SELECT 1 FROM placements") == 0);
  int places = 0;
  for (const auto& line : split(std::string(trim(r.out)), '\n')) {
    auto j = nlohmann::json::parse(line);
    if (j["action"] == "place") {
      ++places;
      CHECK(j["service"] == "web.acme");
      CHECK(j["node"] == "node-a");
    }
  }
  CHECK(places == 1);
}

TEST_CASE("migration-planner --config-check accepts the defaults and rejects bad planner keys",
          "[planner][e2e]") {
  TestDatabase db;
  auto ok = run(binary("migration-planner"), {"--config-check"}, worker_env(db));
  INFO(ok.err);
  CHECK(ok.code == 0);
  auto range = run(binary("migration-planner"),
                   {"--config-check", "--set", "planner.port_range=30000-20000"}, worker_env(db));
  CHECK(range.code == 2);
  CHECK_THAT(range.err, Contains("planner.port_range"));
  auto publish = run(binary("migration-planner"),
                     {"--config-check", "--set", "planner.publish_on=everywhere"}, worker_env(db));
  CHECK(publish.code == 2);
  CHECK_THAT(publish.err, Contains("planner.publish_on"));
  auto moves = run(binary("migration-planner"),
                   {"--config-check", "--set", "planner.max_moves_per_minute=0"}, worker_env(db));
  CHECK(moves.code == 2);
  CHECK_THAT(moves.err, Contains("planner.max_moves_per_minute"));
}

TEST_CASE("migration-planner wakes on NOTIFY fleet_planner and serves its probes",
          "[planner][e2e]") {
  TestDatabase db;
  node(db, "node-a");
  const auto org = db.scalar("INSERT INTO organizations (name) VALUES ('acme') RETURNING id");
  const int port = free_port();
  // An interval far longer than the test: only the wake-up can place the deployment in time.
  Process planner(binary("migration-planner"),
                  {"--interval", "3600", "--health-port", std::to_string(port)}, worker_env(db));
  REQUIRE(eventually([&] { return http_get(port, "/ready").status == 200; }, seconds(15)));
  CHECK(http_get(port, "/health").status == 200);
  REQUIRE(eventually(
      [&] { return db.count("SELECT 1 FROM leases WHERE name = 'migration-planner'") == 1; },
      seconds(10)));
  deployment(db, org, "web", 1);  // the 0044 trigger sends NOTIFY fleet_planner
  REQUIRE(eventually([&] { return db.count("SELECT 1 FROM placements") == 1; }, seconds(20)));
  auto metrics = http_get(port, "/metrics");
  REQUIRE(metrics.status == 200);
  CHECK_THAT(metrics.body, Contains("fleet_cycles_total{service=\"migration-planner\"}"));
  CHECK_THAT(metrics.body, Contains("fleet_migration_planner_placements_made_total"));
  CHECK_THAT(metrics.body, Contains("fleet_migration_planner_unplaceable_total"));
  CHECK_THAT(metrics.body, Contains("fleet_migration_planner_migrations{state=\"pending\"} 0"));
  CHECK_THAT(metrics.body, Contains("fleet_migration_planner_plan_seconds_bucket"));
  planner.signal(SIGTERM);
  CHECK(planner.wait(seconds(10)) == std::optional<int>(0));
}
