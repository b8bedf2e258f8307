// migration-planner's safety nets against PostgreSQL: partition hold, a deployment too big for any
// node, the fleet-wide rate limit, the per-deployment disruption budget, stale copies on a node,
// and two planners making one plan.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "planner_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using json = nlohmann::json;

TEST_CASE("partition hold: no plan while the node's site is held, made when it clears",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.site = "west", .load = 1});
  add_node(db, "node-b", {.site = "east"});
  add_deployment(db, org, "web");
  settle(cycle, db, 1);
  REQUIRE(db.scalar("SELECT node_id FROM placements") == a);
  node_offline(db, a, "5 minutes");
  db.exec(
      "INSERT INTO site_holds (site, reason, silent, total, held_by) VALUES ('west', 'test', "
      "3, 4, 'heartbeat-monitor')");
  auto report = cycle.run();
  CHECK(PlannerCycle::count(report, "held_nodes") == 1);
  CHECK(db.count("SELECT 1 FROM migration_plans") == 0);
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_start'") == 1);
  db.exec("UPDATE site_holds SET cleared_at = now()");
  cycle.run();
  CHECK(db.scalar("SELECT state FROM migrations") == "starting");
}

TEST_CASE("a deployment too big for any node: the migration fails saying why, nothing overcommits",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.memory_mb = 8192, .load = 1});
  const auto b = add_node(db, "node-b", {.memory_mb = 4096});
  const auto c = add_node(db, "node-c", {.memory_mb = 3072});
  // node-b has 4 GiB, but 1 GiB of it is taken: no node but node-a has 4 GiB free.
  add_deployment(db, org, "small", {.memory_mb = 1024});
  settle(cycle, db, 1);
  db.exec("UPDATE placements SET node_id = " + b + " WHERE node_id IS NOT NULL");
  add_deployment(db, org, "big", {.memory_mb = 4096});
  settle(cycle, db, 1);
  REQUIRE(db.scalar("SELECT node_id FROM placements p JOIN deployments d ON d.id = "
                    "p.deployment_id WHERE d.name = 'big'") == a);
  node_offline(db, a, "5 minutes");
  cycle.run();
  CHECK(db.scalar("SELECT m.state FROM migrations m JOIN deployments d ON d.id = m.deployment_id "
                  "WHERE d.name = 'big'") == "failed");
  CHECK_THAT(db.scalar("SELECT m.reason FROM migrations m JOIN deployments d ON d.id = "
                       "m.deployment_id WHERE d.name = 'big'"),
             Contains("4 GiB"));
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'migration.failed'") == 1);
  // Nothing is reserved beyond any node's capacity.
  CHECK(db.count("SELECT 1 FROM nodes n WHERE n.memory_mb < (SELECT coalesce(sum(p.memory_mb), 0) "
                 "FROM placements p WHERE p.node_id = n.worker_id AND p.state NOT IN ('removed', "
                 "'failed', 'lost'))") == 0);
  // A new deployment no node can take waits unplaced with the reason, retried every cycle.
  add_deployment(db, org, "huge", {.memory_mb = 65536});
  cycle.run();
  CHECK_THAT(db.scalar("SELECT reason FROM placements WHERE state = 'unplaced'"),
             Contains("64 GiB"));
  cycle.run();
  CHECK(db.count("SELECT 1 FROM placements WHERE state = 'unplaced'") == 1);
  CHECK(b != c);
}

TEST_CASE("the fleet-wide rate limit starts at most N moves per minute", "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.load = 1});
  for (int i = 0; i < 5; ++i)
    add_deployment(db, org, "web" + std::to_string(i));
  settle(cycle, db, 1);
  add_node(db, "node-b");
  add_node(db, "node-c");
  REQUIRE(db.count("SELECT 1 FROM placements WHERE node_id = " + a) == 5);
  planner::PlannerOptions o;
  o.max_moves_per_minute = 2;
  node_offline(db, a, "5 minutes");
  auto report = cycle.run(o);
  CHECK(PlannerCycle::count(report, "migrations_started") == 2);
  CHECK(PlannerCycle::count(report, "rate_limited") == 3);
  CHECK_FALSE(report.more_work);  // no point cycling fast: the minute has to pass
  CHECK(db.count("SELECT 1 FROM migrations WHERE state = 'starting'") == 2);
  CHECK(db.count("SELECT 1 FROM migrations WHERE state = 'pending'") == 3);
  cycle.run(o);  // the minute is not over
  CHECK(db.count("SELECT 1 FROM migrations WHERE state = 'pending'") == 3);
  db.exec("UPDATE migrations SET started_at = started_at - interval '61 seconds'");
  cycle.run(o);
  CHECK(db.count("SELECT 1 FROM migrations WHERE state = 'pending'") == 1);
}

TEST_CASE("the disruption budget moves at most max_unavailable replicas of a deployment at once",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.load = 1});
  const auto b = add_node(db, "node-b", {.load = 2});
  add_node(db, "node-c", {.load = 50});
  add_node(db, "node-d", {.load = 60});
  add_deployment(db, org, "web", {.replicas = 2, .max_unavailable = 1});
  settle(cycle, db, 1);
  REQUIRE(db.scalar("SELECT string_agg(node_id::text, ',' ORDER BY node_id) FROM placements") ==
          a + "," + b);
  db.exec("UPDATE workers SET status = 'draining' WHERE id IN (" + a + ", " + b + ")");
  cycle.run();
  CHECK(db.count("SELECT 1 FROM migration_plans") == 2);
  CHECK(db.count("SELECT 1 FROM migrations WHERE state = 'starting'") == 1);
  CHECK(db.count("SELECT 1 FROM migrations WHERE state = 'pending'") == 1);
  agent_succeeds(db);
  cycle.run();  // the first switched (cleanup): the second may start
  CHECK(db.count("SELECT 1 FROM migrations WHERE state = 'starting'") == 1);
  CHECK(db.count("SELECT 1 FROM migrations WHERE state = 'cleanup'") == 1);
  // Anti-affinity holds throughout: never two current replicas of web on one node.
  CHECK(db.count("SELECT node_id FROM placements WHERE retired_at IS NULL AND state <> 'removed' "
                 "GROUP BY node_id HAVING count(*) > 1") == 0);
}

TEST_CASE("stale copies: a managed container that is no current placement there is removed",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a");
  const auto dep = add_deployment(db, org, "web");
  settle(cycle, db, 1);
  const auto current = db.scalar("SELECT container_name FROM placements");
  const auto pid = db.scalar("SELECT id FROM placements");
  node_back(db, a,
            R"([{"name": "/)" + current +
                R"(", "labels": {"fleetward.managed": "true", "fleetward.deployment": ")" + dep +
                R"(", "fleetward.placement": ")" + pid + R"("}},
                {"name": "/fw-)" +
                dep + R"(-0-999", "labels": {"fleetward.managed": "true",
                 "fleetward.deployment": ")" +
                dep + R"(", "fleetward.placement": "999"}},
                {"name": "/fw-old", "labels": {"fleetward.managed": "true",
                 "fleetward.deployment": ")" +
                dep + R"("}},
                {"name": "/unmanaged", "labels": {}}])");
  auto report = cycle.run();
  CHECK(PlannerCycle::count(report, "stale_removes") == 2);
  CHECK(db.scalar("SELECT string_agg(idempotency_key, ',' ORDER BY idempotency_key) FROM commands "
                  "WHERE action = 'container_remove'") ==
        "stale:" + a + ":fw-" + dep + "-0-999,stale:" + a + ":fw-old");
  // Queued once, however often the agent still lists it.
  cycle.run();
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_remove'") == 2);
  CHECK(db.scalar("SELECT state FROM placements") == "running");
}

TEST_CASE("two planners make one plan", "[planner][integration]") {
  TestDatabase db;
  PlannerCycle one(db), two(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.load = 1});
  add_node(db, "node-b");
  add_deployment(db, org, "web");
  settle(one, db, 1);
  node_offline(db, a, "5 minutes");
  one.run();
  two.run();
  one.run();
  CHECK(db.count("SELECT 1 FROM migration_plans") == 1);
  CHECK(db.count("SELECT 1 FROM migrations") == 1);
  // And the database refuses a second open plan for the same node and organisation.
  CHECK_THROWS(
      db.exec("INSERT INTO migration_plans (node_id, organization_id, trigger, policy, "
              "state, reason, created_by) VALUES (" +
              a + ", " + org + ", 'offline', 'automatic', 'executing', 'x', 'other')"));
}

TEST_CASE("two planners deciding at the same moment still make one plan",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle setup(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.load = 1});
  add_node(db, "node-b");
  for (int i = 0; i < 3; ++i)
    add_deployment(db, org, "web" + std::to_string(i));
  settle(setup, db, 1);
  db.exec("UPDATE placements SET node_id = " + a);
  node_offline(db, a, "5 minutes");
  // Without a lease (a split brain): both read "no plan" or the second waits on the first's
  // unique index entry and fails its cycle; the fleet gets one plan either way.
  PlannerCycle one(db), two(db);
  std::atomic<int> failures{0};
  auto run = [&](PlannerCycle& c) {
    try {
      c.run();
    } catch (const std::exception&) {
      ++failures;
    }
  };
  std::thread t1(run, std::ref(one)), t2(run, std::ref(two));
  t1.join();
  t2.join();
  CHECK(failures.load() <= 1);
  CHECK(db.count("SELECT 1 FROM migration_plans") == 1);
  CHECK(db.count("SELECT 1 FROM migrations") == 3);
  CHECK(db.count("SELECT 1 FROM placements WHERE state = 'starting'") == 3);
}
