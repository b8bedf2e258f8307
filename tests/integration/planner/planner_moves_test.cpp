// migration-planner's moves against PostgreSQL: an offline node's containers move (start on the
// target, route switch, old copy removed when the node returns), a draining node's keep running
// until the new ones run, manual plans wait for approval, policy none only records, a failed
// start tries the next node.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "planner_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using json = nlohmann::json;

namespace {

struct Cluster {
  std::string org, a, b, c, dep, owner;
};

// Three nodes; web (1 replica) runs on node-a (the most attractive one).
Cluster running_on_a(TestDatabase& db, PlannerCycle& cycle, const std::string& policy) {
  Cluster k;
  k.org = add_org(db, "acme", policy);
  k.owner = add_owner(db, k.org, "alice");
  k.a = add_node(db, "node-a", {.load = 1});
  k.b = add_node(db, "node-b", {.load = 30});
  k.c = add_node(db, "node-c", {.load = 60});
  k.dep = add_deployment(db, k.org, "web");
  settle(cycle, db, 1);
  REQUIRE(db.scalar("SELECT node_id || ' ' || state FROM placements") == k.a + " running");
  return k;
}

std::string steps(TestDatabase& db) {
  return db.scalar(
      "SELECT string_agg(s->>'step', ',') FROM migrations, "
      "jsonb_array_elements(steps) s");
}

}  // namespace

TEST_CASE("an offline node's container moves: start, route switch, old copy removed on return",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  auto k = running_on_a(db, cycle, "automatic");
  const auto old_id = db.scalar("SELECT id FROM placements");
  const auto old_name = db.scalar("SELECT container_name FROM placements");

  // Offline, but within the grace: nothing yet.
  node_offline(db, k.a, "30 seconds");
  cycle.run();
  CHECK(db.count("SELECT 1 FROM migration_plans") == 0);

  node_offline(db, k.a, "75 seconds");
  auto report = cycle.run();
  CHECK(PlannerCycle::count(report, "plans_opened") == 1);
  CHECK(db.scalar("SELECT trigger || ' ' || policy || ' ' || state FROM migration_plans") ==
        "offline automatic executing");
  CHECK_THAT(db.scalar("SELECT reason FROM migration_plans"), Contains("node-a offline for 7"));
  CHECK(db.scalar("SELECT state || ' ' || to_node_id || ' ' || attempts FROM migrations") ==
        "starting " + k.b + " 1");
  CHECK(db.scalar("SELECT state FROM placements WHERE id = " + old_id) == "lost");
  const auto new_id = db.scalar("SELECT id FROM placements WHERE node_id = " + k.b);
  CHECK(db.scalar("SELECT migration_id = (SELECT id FROM migrations) FROM placements WHERE id = " +
                  new_id) == "t");
  CHECK(db.scalar("SELECT to_placement_id FROM migrations") == new_id);
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_start' AND worker_id = " +
                 k.b) == 1);
  // The route still points at node-a until the new container runs.
  CHECK(db.scalar("SELECT node_id FROM routes") == k.a);

  agent_succeeds(db, "worker_id = " + k.b);
  cycle.run();
  CHECK(db.scalar("SELECT node_id || ' ' || version FROM routes") == k.b + " 2");
  CHECK(db.scalar("SELECT placement_id FROM routes") == new_id);
  CHECK(db.scalar("SELECT state || ' ' || (retired_at IS NOT NULL) FROM placements WHERE id = " +
                  old_id) == "lost true");
  CHECK(db.scalar("SELECT state FROM migrations") == "cleanup");
  CHECK(steps(db) == "planned,start,running,old_lost");
  // The owners are told; the plan is done and the administrators get the node's summary.
  auto moved = json::parse(db.scalar(
      "SELECT json_build_object('title', title, 'severity', severity, 'payload', payload) FROM "
      "notifications WHERE event = 'migration.completed'"));
  CHECK(moved["title"] == "web.acme replica 0 moved from node-a to node-b");
  CHECK(moved["severity"] == "info");
  CHECK(moved["payload"]["owners"] == json::array({std::stoll(k.owner)}));
  CHECK(moved["payload"]["organization_id"].get<std::int64_t>() == std::stoll(k.org));
  CHECK(moved["payload"]["deployment_id"].get<std::int64_t>() == std::stoll(k.dep));
  CHECK(db.scalar("SELECT state || ' ' || (finished_at IS NOT NULL) FROM migration_plans") ==
        "done true");
  CHECK(db.scalar("SELECT title FROM notifications WHERE event = 'migration.node_summary'") ==
        "node-a failed: 1 moved, 0 failed");
  CHECK(db.scalar("SELECT payload->>'audience' FROM notifications WHERE event = "
                  "'migration.node_summary'") == "admins");

  // node-a comes back with its old container: it is removed, never a second copy.
  node_back(db, k.a,
            R"([{"name": ")" + old_name +
                R"(", "labels": {"fleetward.managed": "true", "fleetward.deployment": ")" + k.dep +
                R"(", "fleetward.placement": ")" + old_id + R"("}}])");
  cycle.run();
  CHECK(db.scalar("SELECT state FROM placements WHERE id = " + old_id) == "stopping");
  CHECK(db.scalar("SELECT params->>'name' FROM commands WHERE idempotency_key = 'placement:" +
                  old_id + ":remove'") == old_name);
  agent_succeeds(db, "worker_id = " + k.a);
  cycle.run();
  CHECK(db.scalar("SELECT state FROM placements WHERE id = " + old_id) == "removed");
  CHECK(db.scalar("SELECT state || ' ' || (finished_at IS NOT NULL) FROM migrations") ==
        "done true");
  // node-a failing again later opens nothing: web no longer runs there.
  node_offline(db, k.a, "10 minutes");
  cycle.run();
  CHECK(db.count("SELECT 1 FROM migration_plans") == 1);
}

TEST_CASE("a draining node's container keeps running until the new one runs",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  auto k = running_on_a(db, cycle, "automatic");
  const auto old_id = db.scalar("SELECT id FROM placements");
  db.exec("UPDATE workers SET status = 'draining' WHERE id = " + k.a);
  cycle.run();
  CHECK(db.scalar("SELECT trigger FROM migration_plans") == "draining");
  CHECK(db.scalar("SELECT state FROM placements WHERE id = " + old_id) == "running");
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_remove'") == 0);
  agent_succeeds(db);
  cycle.run();
  // Switched, then the old one is removed (its node answers).
  CHECK(db.scalar("SELECT node_id FROM routes") == k.b);
  CHECK(db.scalar("SELECT state || ' ' || (retired_at IS NOT NULL) FROM placements WHERE id = " +
                  old_id) == "stopping true");
  CHECK(db.scalar("SELECT state FROM migrations") == "cleanup");
  agent_succeeds(db);
  cycle.run();
  CHECK(db.scalar("SELECT state FROM placements WHERE id = " + old_id) == "removed");
  CHECK(db.scalar("SELECT state FROM migrations") == "done");
  CHECK(db.scalar("SELECT title FROM notifications WHERE event = 'migration.node_summary'") ==
        "node-a drained: 1 moved, 0 failed");
}

TEST_CASE("manual policy: a plan awaits approval and nothing moves until it is executing",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  auto k = running_on_a(db, cycle, "manual");
  node_offline(db, k.a, "5 minutes");
  cycle.run();
  CHECK(db.scalar("SELECT state FROM migration_plans") == "awaiting_approval");
  CHECK(db.scalar("SELECT state FROM migrations") == "awaiting_approval");
  auto n = json::parse(
      db.scalar("SELECT json_build_object('title', title, 'severity', severity, 'key', dedupe_key, "
                "'owners', payload->'owners') FROM notifications WHERE event = "
                "'migration.approval_required'"));
  CHECK(n["title"] == "manual migration required for node-a: 1 container of acme");
  CHECK(n["severity"] == "warning");
  CHECK(n["owners"] == json::array({std::stoll(k.owner)}));
  CHECK(n["key"] == "plan:" + db.scalar("SELECT id FROM migration_plans") + ":approval_required");
  cycle.run();
  cycle.run();
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_start'") == 1);  // the first
  CHECK(db.count("SELECT 1 FROM migration_plans") == 1);

  // The API approves.
  db.exec(
      "UPDATE migration_plans SET state = 'executing', decided_by = 'alice', decided_at = "
      "now()");
  cycle.run();
  CHECK(db.scalar("SELECT state FROM migrations") == "starting");
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_start' AND worker_id = " +
                 k.b) == 1);
  CHECK(steps(db) == "planned,approved,start");
}

TEST_CASE("manual policy: a rejected plan moves nothing, a node back before approval cancels",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  auto k = running_on_a(db, cycle, "manual");
  node_offline(db, k.a, "5 minutes");
  cycle.run();
  db.exec(
      "UPDATE migration_plans SET state = 'rejected', decided_by = 'alice', decided_at = now()");
  cycle.run();
  CHECK(db.scalar("SELECT state FROM migrations") == "rejected");
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_start'") == 1);
  cycle.run();
  CHECK(db.count("SELECT 1 FROM migration_plans") == 1);  // not planned again in this outage

  // A second outage of a manual org's node that returns before anyone decided.
  TestDatabase db2;
  PlannerCycle cycle2(db2);
  auto k2 = running_on_a(db2, cycle2, "manual");
  node_offline(db2, k2.a, "5 minutes");
  cycle2.run();
  node_back(db2, k2.a);
  cycle2.run();
  CHECK(db2.scalar("SELECT state FROM migration_plans") == "cancelled");
  CHECK(db2.scalar("SELECT state FROM migrations") == "cancelled");
  CHECK(db2.scalar("SELECT state FROM placements") == "running");
}

TEST_CASE("policy none: the plan is recorded only, once", "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  auto k = running_on_a(db, cycle, "none");
  node_offline(db, k.a, "5 minutes");
  cycle.run();
  cycle.run();
  CHECK(db.scalar("SELECT state || ' ' || policy FROM migration_plans") == "recorded none");
  CHECK(db.scalar("SELECT state FROM migrations") == "recorded");
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'migration.recorded'") == 1);
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_start'") == 1);
  CHECK(db.scalar("SELECT state FROM placements") == "running");
}

TEST_CASE("a failed start tries the next node, then the migration fails with the reason",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  auto k = running_on_a(db, cycle, "automatic");
  node_offline(db, k.a, "5 minutes");
  cycle.run();
  agent_fails(db, "worker_id = " + k.b, "pull access denied");
  cycle.run();
  // Retried on node-c (node-b avoided).
  CHECK(db.scalar("SELECT state || ' ' || to_node_id || ' ' || attempts || ' ' || "
                  "array_to_string(avoid_node_ids, ',') FROM migrations") ==
        "starting " + k.c + " 2 " + k.b);
  agent_fails(db, "worker_id = " + k.c, "pull access denied");
  cycle.run();
  CHECK(db.scalar("SELECT state FROM migrations") == "failed");
  CHECK_THAT(db.scalar("SELECT reason FROM migrations"),
             Contains("failed after 2 attempts: container_start failed: pull access denied"));
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'migration.failed'") == 1);
  CHECK(db.scalar("SELECT state FROM migration_plans") == "failed");
  CHECK(db.scalar("SELECT severity || ' ' || title FROM notifications WHERE event = "
                  "'migration.node_summary'") == "critical node-a failed: 0 moved, 1 failed");
  // The failed targets' placements are retired: the replica's home is still node-a (lost).
  CHECK(db.scalar("SELECT node_id || ' ' || state FROM placements WHERE retired_at IS NULL") ==
        k.a + " lost");
  // After retry_failed_after the replica is placed again (node-a stays gone), and the lost copy
  // is retired: removed if node-a ever returns.
  planner::PlannerOptions o;
  o.retry_failed_after = std::chrono::milliseconds(0);
  cycle.run(o);
  CHECK(db.scalar("SELECT state || ' ' || (retired_at IS NOT NULL) FROM placements WHERE "
                  "node_id = " +
                  k.a) == "lost true");
  CHECK(db.count("SELECT 1 FROM placements WHERE retired_at IS NULL AND state = 'starting'") == 1);
  node_back(db, k.a);
  cycle.run(o);
  CHECK(db.scalar("SELECT state FROM placements WHERE node_id = " + k.a) == "stopping");
}

TEST_CASE("an overdue start expires and counts as a failed start", "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  auto k = running_on_a(db, cycle, "automatic");
  node_offline(db, k.a, "5 minutes");
  cycle.run();
  db.exec("UPDATE commands SET expires_at = now() - interval '1 second' WHERE state = 'queued'");
  cycle.run();
  CHECK(db.scalar("SELECT state FROM commands WHERE worker_id = " + k.b) == "expired");
  CHECK_THAT(db.scalar("SELECT reason FROM placements WHERE node_id = " + k.b),
             Contains("container_start not done within 300 s"));
  CHECK(db.scalar("SELECT to_node_id FROM migrations") == k.c);
}
