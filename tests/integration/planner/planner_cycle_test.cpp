// migration-planner against PostgreSQL: initial placement of a deployment (placements, the
// container_start commands and their parameters), routes once the agent reports the containers
// running, the route file, scaling down, deleting, a failed start replaced, and --dry-run.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "planner_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using json = nlohmann::json;

TEST_CASE("a new deployment is placed on distinct nodes, started through the agent, then routed",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.load = 50});
  const auto b = add_node(db, "node-b", {.load = 10});
  const auto c = add_node(db, "node-c", {.load = 20});
  const auto dep = add_deployment(db, org, "web", {.replicas = 2});

  auto report = cycle.run();
  CHECK(PlannerCycle::count(report, "placements_made") == 2);
  // The two least loaded nodes, one replica each.
  CHECK(db.scalar("SELECT string_agg(node_id::text, ',' ORDER BY replica) FROM placements") ==
        b + "," + c);
  CHECK(
      db.count("SELECT 1 FROM placements WHERE state = 'starting' AND start_command_id IS NOT "
               "NULL AND container_name = 'fw-' || deployment_id || '-' || replica || '-' || id") ==
      2);
  auto params = json::parse(db.scalar(
      "SELECT c.params::text FROM commands c JOIN placements p ON p.start_command_id = c.id "
      "WHERE p.replica = 0"));
  CHECK(params["image"] == "busybox:1.36");
  CHECK(params["cmd"] == json::array({"httpd", "-f", "-p", "80"}));
  CHECK(params["env"]["MODE"] == "demo");
  CHECK(params["labels"]["team"] == "web");
  CHECK(params["ports"][0]["container_port"] == 80);
  CHECK(params["ports"][0]["host_port"] == 20000);
  CHECK(params["ports"][0]["host_ip"] == "0.0.0.0");
  CHECK(params["memory_mb"] == 256);
  CHECK(params["deployment_id"].get<std::int64_t>() == std::stoll(dep));
  CHECK(db.scalar("SELECT string_agg(DISTINCT channel || '/' || origin || '/' || requested_by || "
                  "'/' || max_attempts, ',') FROM commands") ==
        "agent/planner/migration-planner:test/1");
  CHECK(db.count("SELECT 1 FROM commands WHERE idempotency_key ~ '^placement:[0-9]+:start$' AND "
                 "expires_at > now() + interval '290 seconds'") == 2);
  CHECK(db.count("SELECT 1 FROM routes") == 0);  // not running yet

  // A second cycle before the agent answered changes nothing.
  report = cycle.run();
  CHECK(PlannerCycle::count(report, "placements_made") == 0);
  CHECK(db.count("SELECT 1 FROM commands") == 2);

  agent_succeeds(db);
  cycle.run();
  CHECK(db.count("SELECT 1 FROM placements WHERE state = 'running' AND running_since IS NOT NULL "
                 "AND container_id LIKE 'c%'") == 2);
  CHECK(db.scalar("SELECT address || ':' || host_port FROM routes WHERE replica = 0") ==
        db.scalar("SELECT host(addresses[1]) FROM nodes WHERE worker_id = " + b) + ":20000");
  CHECK(db.count("SELECT 1 FROM routes WHERE version = 1") == 2);
  CHECK(a != b);
}

TEST_CASE("host ports are unique per node and publish_on node_address binds the node's address",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto n = add_node(db, "only");
  add_deployment(
      db, org, "web",
      {.ports = R"([{"container_port": 80}, {"container_port": 53, "protocol": "udp"}])"});
  add_deployment(db, org, "api");
  planner::PlannerOptions o;
  o.publish_on = "node_address";
  o.port_range = {30000, 30002};
  cycle.run(o);
  CHECK(db.scalar("SELECT string_agg(x->>'host_port', ',' ORDER BY (x->>'host_port')::int) FROM "
                  "placements, jsonb_array_elements(ports) x") == "30000,30001,30002");
  CHECK(db.scalar("SELECT DISTINCT host_ip FROM placements") ==
        db.scalar("SELECT host(addresses[1]) FROM nodes WHERE worker_id = " + n));
  // No port left: a third deployment waits unplaced, saying why.
  add_deployment(db, org, "more");
  cycle.run(o);
  CHECK_THAT(db.scalar("SELECT reason FROM placements WHERE state = 'unplaced'"),
             Contains("no free host port on only in 30000-30002"));
}

TEST_CASE("routes are written to the route file after a change", "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  add_node(db, "node-a");
  add_deployment(db, org, "web");
  const std::string path = "/tmp/fleet-planner-routes-" + db.name() + ".json";
  std::remove(path.c_str());
  planner::PlannerOptions o;
  o.route_file = path;
  cycle.run(o);
  agent_succeeds(db);
  cycle.run(o);
  std::ifstream in(path);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto file = json::parse(text.str());
  CHECK(file["version"] == 1);
  REQUIRE(file["routes"].size() == 1);
  CHECK(file["routes"][0]["service"] == "web.acme");
  CHECK(file["routes"][0]["replica"] == 0);
  CHECK(file["routes"][0]["container_port"] == 80);
  CHECK(file["routes"][0]["host_port"] == 20000);
  CHECK(file["routes"][0]["protocol"] == "tcp");
  std::remove(path.c_str());
}

TEST_CASE("scaling down retires the highest replicas, deleting removes everything, then deleted",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  for (int i = 0; i < 3; ++i)
    add_node(db, "node-" + std::to_string(i));
  const auto dep = add_deployment(db, org, "web", {.replicas = 3});
  settle(cycle, db, 1);
  REQUIRE(db.count("SELECT 1 FROM placements WHERE state = 'running'") == 3);
  REQUIRE(db.count("SELECT 1 FROM routes") == 3);

  db.exec("UPDATE deployments SET replicas = 1 WHERE id = " + dep);
  cycle.run();
  CHECK(db.scalar("SELECT string_agg(replica || ':' || state, ',' ORDER BY replica) FROM "
                  "placements") == "0:running,1:stopping,2:stopping");
  CHECK(db.count("SELECT 1 FROM placements WHERE retired_at IS NOT NULL") == 2);
  CHECK(db.count("SELECT 1 FROM commands WHERE action = 'container_remove' AND params->>'force' "
                 "= 'true'") == 2);
  CHECK(db.count("SELECT 1 FROM routes") == 1);
  agent_succeeds(db);
  cycle.run();
  CHECK(db.count("SELECT 1 FROM placements WHERE state = 'removed'") == 2);

  db.exec("UPDATE deployments SET state = 'deleting' WHERE id = " + dep);
  cycle.run();
  CHECK(db.scalar("SELECT state FROM deployments") == "deleting");
  CHECK(db.count("SELECT 1 FROM routes") == 0);
  agent_succeeds(db);
  cycle.run();
  CHECK(db.scalar("SELECT state || ' ' || (deleted_at IS NOT NULL) FROM deployments") ==
        "deleted true");
  CHECK(db.count("SELECT 1 FROM placements WHERE state <> 'removed'") == 0);
}

TEST_CASE("a failed start is recorded and the replica placed again after retry_failed_after",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.load = 1});
  const auto b = add_node(db, "node-b", {.load = 50});
  add_deployment(db, org, "web");
  cycle.run();
  agent_fails(db, "true", "image not found");
  cycle.run();
  CHECK(db.scalar("SELECT state || ': ' || reason FROM placements") ==
        "failed: container_start failed: image not found");
  // Not yet due: nothing new.
  cycle.run();
  CHECK(db.count("SELECT 1 FROM placements") == 1);
  planner::PlannerOptions o;
  o.retry_failed_after = std::chrono::milliseconds(0);
  cycle.run(o);
  CHECK(db.scalar("SELECT string_agg(node_id || state || (retired_at IS NOT NULL), ',' ORDER BY "
                  "id) FROM placements") == a + "stoppingtrue," + b + "startingfalse");
}

TEST_CASE("dry run: the plan is printed and nothing is written", "[planner][integration]") {
  TestDatabase db;
  const auto org = add_org(db, "acme");
  add_node(db, "node-a");
  add_node(db, "node-b");
  add_deployment(db, org, "web", {.replicas = 2});
  PlannerCycle dry(db, /*dry_run=*/true);
  auto report = dry.run();
  CHECK(PlannerCycle::count(report, "placements_made") == 2);
  CHECK(db.count("SELECT 1 FROM placements") == 0);
  CHECK(db.count("SELECT 1 FROM commands") == 0);
  int places = 0;
  for (const auto& line : dry.emitted) {
    auto j = json::parse(line);
    if (j["action"] == "place") {
      ++places;
      CHECK(j["service"] == "web.acme");
    }
  }
  CHECK(places == 2);
}

TEST_CASE("deleting a deployment while it moves cancels the move and routes nothing",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  const auto a = add_node(db, "node-a", {.load = 1});
  add_node(db, "node-b");
  const auto dep = add_deployment(db, org, "web");
  settle(cycle, db, 1);
  node_offline(db, a, "5 minutes");
  cycle.run();
  REQUIRE(db.scalar("SELECT state FROM migrations") == "starting");
  db.exec("UPDATE deployments SET state = 'deleting' WHERE id = " + dep);
  cycle.run();
  CHECK(db.scalar("SELECT state FROM migrations") == "cancelled");
  agent_succeeds(db);
  cycle.run();
  CHECK(db.count("SELECT 1 FROM routes") == 0);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'migration.completed'") == 0);
}

TEST_CASE("a deployment row with a malformed port is placed without it, the cycle goes on",
          "[planner][integration]") {
  TestDatabase db;
  PlannerCycle cycle(db);
  const auto org = add_org(db, "acme");
  add_node(db, "node-a");
  add_deployment(db, org, "odd",
                 {.ports = R"([{"container_port": "80"}, {"container_port": 70000}, 5,
                              {"container_port": 8080, "protocol": "udp"}])"});
  add_deployment(db, org, "web");
  auto report = cycle.run();
  CHECK(PlannerCycle::count(report, "placements_made") == 2);
  CHECK(db.scalar("SELECT p.ports::text FROM placements p JOIN deployments d ON d.id = "
                  "p.deployment_id WHERE d.name = 'odd'") ==
        R"([{"protocol": "udp", "host_port": 20000, "container_port": 8080}])");
}
