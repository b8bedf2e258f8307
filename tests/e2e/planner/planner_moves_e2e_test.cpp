// Issue 14 end to end: deployments that survive a dead node, with every real part — the
// api-gateway, heartbeat-monitor, migration-planner and three node-agents, each on a real Podman
// service with its own loopback address (planner_cluster.h). Containers are busybox httpd
// serving their own hostname, so a request through a route tells which container answered.
// Each case shares one cluster across several of the issue's checks to keep the time small.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "planner_cluster.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string short_id(const std::string& container_id) {
  return container_id.substr(0, 12);
}

// The answer through the replica's route is the replica's current container.
bool route_reaches(PlannerCluster& c, const std::string& dep, int replica,
                   const std::string& node_address) {
  return eventually(
      [&] {
        const std::string container = c.running_container(dep, replica);
        if (container.empty()) return false;
        std::string address;
        HttpAnswer a = c.through_route(dep, replica, &address);
        return a.status == 200 && address == node_address &&
               std::string(fleet::trim(a.body)) == short_id(container);
      },
      30s);
}

std::string label_of(const ClusterNode& n, const std::string& container, const std::string& key) {
  auto r = n.podman->podman(
      {"inspect", "--format", "{{index .Config.Labels \"" + key + "\"}}", container});
  return std::string(fleet::trim(r.out));
}

}  // namespace

TEST_CASE("deployments survive a dead node, a partition hold and a drain, and routes follow",
          "[planner][e2e][podman]") {
  PlannerCluster c({.nodes = 3});
  const std::string org = c.create_org("acme", "automatic");
  const json web = c.create_httpd(org, "web", 2);
  const std::string dep = std::to_string(web["id"].get<std::int64_t>());
  CHECK(web["service"] == "web.acme");

  // Placed on two different nodes, running, each reached through its route.
  INFO(c.story());
  REQUIRE(eventually(
      [&] {
        return c.current(dep).find("starting") == std::string::npos &&
               !c.running_node(dep, 0).empty() && !c.running_node(dep, 1).empty();
      },
      60s));
  UNSCOPED_INFO(c.story());
  const std::string first_a = c.running_node(dep, 0);
  const std::string first_b = c.running_node(dep, 1);
  REQUIRE(first_a != first_b);
  ClusterNode& victim = c.node_by_id(first_a);
  ClusterNode& other = c.node_by_id(first_b);
  ClusterNode* spare = nullptr;
  for (auto& n : c.nodes) {
    if (n.id != first_a && n.id != first_b) spare = &n;
  }
  REQUIRE(spare != nullptr);
  CHECK(route_reaches(c, dep, 0, victim.address));
  CHECK(route_reaches(c, dep, 1, other.address));

  // The agent labels each container with its placement, and the labels reach the gateway in the
  // heartbeat's container list (the planner finds stale copies with them).
  const std::string placement0 =
      c.gw.db.scalar("SELECT id FROM placements WHERE deployment_id = " + dep +
                     " AND replica = 0 AND state = 'running' AND retired_at IS NULL");
  const std::string name0 =
      c.gw.db.scalar("SELECT container_name FROM placements WHERE id = " + placement0);
  CHECK(label_of(victim, name0, "fleetward.placement") == placement0);
  CHECK(label_of(victim, name0, "fleetward.deployment") == dep);
  CHECK(eventually(
      [&] {
        return c.gw.db.count(
                   "SELECT 1 FROM nodes n, jsonb_array_elements(n.container_list) e "
                   "WHERE n.worker_id = " +
                   victim.id + " AND e->>'name' = '" + name0 +
                   "' AND e->'labels'->>'fleetward.placement' = '" + placement0 +
                   "' AND e->'labels'->>'fleetward.deployment' = '" + dep + "'") == 1;
      },
      20s));
  // Its published port reaches the gateway too: the one the planner chose, on the node's address.
  const std::string host_port0 =
      c.gw.db.scalar("SELECT ports->0->>'host_port' FROM placements WHERE id = " + placement0);
  CHECK(eventually(
      [&] {
        return c.gw.db.count(
                   "SELECT 1 FROM nodes n, jsonb_array_elements(n.container_list) e, "
                   "jsonb_array_elements(e->'ports') p WHERE n.worker_id = " +
                   victim.id + " AND e->>'name' = '" + name0 + "' AND p->>'host_port' = '" +
                   host_port0 + "' AND p->>'host_ip' = '" + victim.address + "'") >= 1;
      },
      20s));

  // A deployment too big for any node stays unplaced with the reason; nothing is overcommitted.
  const std::int64_t node_mb = std::stoll(c.gw.db.scalar("SELECT max(memory_mb) FROM nodes"));
  const json huge = c.create_httpd(org, "huge", 1, node_mb * 2);
  const std::string huge_id = std::to_string(huge["id"].get<std::int64_t>());
  CHECK(eventually(
      [&] {
        return c.gw.db.count("SELECT 1 FROM placements WHERE deployment_id = " + huge_id +
                             " AND state = 'unplaced' AND reason LIKE '%memory%'") == 1;
      },
      30s));
  auto huge_detail = c.gw.as("viewer", "GET", "/api/deployments/" + huge_id);
  CHECK(huge_detail.body.value("replicas_unplaced", -1) == 1);
  CHECK(c.gw.db.count("SELECT 1 FROM placements WHERE deployment_id = " + huge_id +
                      " AND node_id IS NOT NULL") == 0);
  CHECK(c.overcommitted().empty());

  // The node of replica 0 dies: its agent is SIGKILLed and its Podman service stopped.
  c.kill_node(victim);
  REQUIRE(c.becomes(victim, "offline"));

  // Partition hold: while its site is held, nothing is planned, past the grace and many cycles.
  // (heartbeat-monitor would clear a hold its site does not justify: it is stopped meanwhile.)
  c.stop_monitor();
  const std::string site =
      c.gw.db.scalar("SELECT coalesce(site, '') FROM workers WHERE id = " + victim.id);
  c.gw.db.exec("INSERT INTO site_holds (site, reason, silent, total, held_by) VALUES ('" + site +
               "', 'e2e: held by hand', 1, 3, 'e2e')");
  std::this_thread::sleep_for(6s);  // grace 2 s + several 1 s cycles: a window, not a timing check
  CHECK(c.gw.db.count("SELECT 1 FROM migration_plans WHERE node_id = " + victim.id) == 0);
  CHECK(c.gw.db.count("SELECT 1 FROM migrations") == 0);
  CHECK(c.gw.db.count("SELECT 1 FROM placements WHERE deployment_id = " + dep +
                      " AND replica = 0") == 1);

  // The hold clears: the replica moves to the only node without a replica, the route follows
  // and a request through it reaches the moved httpd.
  c.gw.db.exec("UPDATE site_holds SET cleared_at = now() WHERE cleared_at IS NULL");
  c.start_monitor();
  REQUIRE(eventually([&] { return c.running_node(dep, 0) == spare->id; }, 60s));
  UNSCOPED_INFO(c.story());
  CHECK(route_reaches(c, dep, 0, spare->address));
  CHECK(c.running_node(dep, 1) == other.id);
  CHECK(c.gw.db.scalar("SELECT string_agg(trigger || ' ' || policy, ',') FROM migration_plans "
                       "WHERE node_id = " +
                       victim.id) == "offline automatic");
  CHECK(eventually(
      [&] {
        return c.gw.db.count(
                   "SELECT 1 FROM notifications WHERE event = 'migration.completed' "
                   "AND source = 'migration-planner'") == 1;
      },
      20s));
  CHECK(c.overcommitted().empty());

  // The dead node returns: its stale copy of replica 0 (still running under the restarted
  // Podman) is removed, and it runs no fleetward container any more.
  CHECK(c.running_containers(victim) == std::vector<std::string>{name0});
  c.revive_node(victim);
  REQUIRE(c.becomes(victim, "online"));
  CHECK(eventually([&] { return c.running_containers(victim).empty(); }, 60s));
  CHECK(eventually(
      [&] {
        return c.gw.db.count("SELECT 1 FROM migrations WHERE state = 'done' AND deployment_id = " +
                             dep) == 1;
      },
      30s));
  CHECK(route_reaches(c, dep, 0, spare->address));

  // Drain the node of replica 1: it moves to the returned node (replicas stay on different
  // nodes) and nothing of ours runs on the drained node any more.
  auto drained = c.gw.as("operator", "POST", "/api/nodes/" + other.id + "/drain",
                         json{{"reason", "e2e maintenance"}}.dump());
  REQUIRE(drained.status == 200);
  REQUIRE(eventually([&] { return c.running_node(dep, 1) == victim.id; }, 60s));
  CHECK(route_reaches(c, dep, 1, victim.address));
  CHECK(eventually([&] { return c.running_containers(other).empty(); }, 60s));
  CHECK(c.gw.db.scalar("SELECT string_agg(trigger, ',') FROM migration_plans WHERE node_id = " +
                       other.id) == "draining");
  CHECK(c.current(dep) == "0@" + spare->id + ":running 1@" + victim.id + ":running");
  CHECK(c.overcommitted().empty());

  // The demo's deployment step (deploy/local/demo-deployment.sh) against this cluster: it makes
  // web.demo and prints two routes that answer; run again, it finds what it made.
  Process::Options env;
  env.env = {{"FLEET_API_URL", "http://127.0.0.1:" + std::to_string(c.gw.port)},
             {"FLEET_DEMO_PASSWORD", GatewayFixture::kPassword},
             {"FLEET_DEMO_WAIT_S", "90"}};
  for (int pass = 0; pass < 2; ++pass) {
    auto r =
        run(std::string(FLEETTEST_SOURCE_DIR) + "/deploy/local/demo-deployment.sh", {}, env, 120s);
    INFO(r.out << r.err);
    REQUIRE(r.code == 0);
    int answered = 0;
    for (const auto& line : fleet::split(r.out, '\n')) {
      const auto at = line.find("curl http://");
      if (at == std::string::npos) continue;
      const std::string url = std::string(fleet::trim(line.substr(at + 12)));  // host:port/
      const auto colon = url.find(':');
      httplib::Client client(url.substr(0, colon), std::stoi(url.substr(colon + 1)));
      client.set_connection_timeout(2s);
      auto res = client.Get("/");
      if (res && res->status == 200 && fleet::trim(res->body).size() == 12) ++answered;
    }
    CHECK(answered == 2);
  }
  CHECK(c.gw.db.count("SELECT 1 FROM deployments d JOIN organizations o ON o.id = "
                      "d.organization_id WHERE o.name = 'demo' AND d.name = 'web'") == 1);
}

TEST_CASE(
    "manual waits for approval, none only records, a move that cannot fit fails, two "
    "planners make one plan",
    "[planner][e2e][podman]") {
  PlannerCluster c({.nodes = 3, .planners = 2});
  const std::string manual = c.create_org("manual-org", "manual");
  const std::string none = c.create_org("none-org", "none");
  const std::string automatic = c.create_org("auto-org", "automatic");
  const std::string m = std::to_string(c.create_httpd(manual, "m", 2)["id"].get<std::int64_t>());
  const std::string n = std::to_string(c.create_httpd(none, "n", 3)["id"].get<std::int64_t>());
  // One replica per node, each taking 40 % of a node's memory: none can move anywhere.
  const std::int64_t node_mb = std::stoll(c.gw.db.scalar("SELECT min(memory_mb) FROM nodes"));
  const std::string big = std::to_string(
      c.create_httpd(automatic, "big", 3, node_mb * 2 / 5)["id"].get<std::int64_t>());
  INFO(c.story());
  REQUIRE(eventually(
      [&] {
        return c.gw.db.count(
                   "SELECT 1 FROM placements WHERE state = 'running' AND retired_at IS "
                   "NULL") == 8;
      },
      90s));
  UNSCOPED_INFO(c.story());

  // The victim hosts a replica of m (and, as every node, one of n and one of big).
  ClusterNode& victim = c.node_by_id(c.running_node(m, 0));
  const std::string m_other = c.running_node(m, 1);
  ClusterNode* spare = nullptr;
  for (auto& node : c.nodes) {
    if (node.id != victim.id && node.id != m_other) spare = &node;
  }
  REQUIRE(spare != nullptr);
  c.kill_node(victim);
  REQUIRE(c.becomes(victim, "offline"));

  auto plan_state = [&](const std::string& org) {
    return c.gw.db.scalar(
        "SELECT coalesce(string_agg(state, ','), '') FROM migration_plans "
        "WHERE node_id = " +
        victim.id + " AND organization_id = " + org);
  };
  REQUIRE(eventually([&] { return plan_state(manual) == "awaiting_approval"; }, 60s));
  REQUIRE(eventually([&] { return plan_state(none) == "recorded"; }, 30s));
  // The big replica cannot fit anywhere: a failed migration with the reason.
  REQUIRE(eventually([&] { return plan_state(automatic) == "failed"; }, 30s));
  UNSCOPED_INFO(c.story());
  CHECK(c.gw.db.scalar("SELECT count(*) || ' ' || min(state) || ' ' || (min(reason) <> '') FROM "
                       "migrations WHERE deployment_id = " +
                       big + " AND from_node_id = " + victim.id) == "1 failed true");
  CHECK(c.gw.db.count(
            "SELECT 1 FROM notifications WHERE event = 'migration.failed' AND worker_id = " +
            victim.id) == 1);
  CHECK(c.gw.db.count("SELECT 1 FROM notifications WHERE event = 'migration.approval_required' "
                      "AND worker_id = " +
                      victim.id) == 1);
  CHECK(c.gw.db.count(
            "SELECT 1 FROM notifications WHERE event = 'migration.recorded' AND worker_id = " +
            victim.id) == 1);
  CHECK(c.overcommitted().empty());

  // Nothing moves without approval, whatever the cycles.
  std::this_thread::sleep_for(4s);  // several planner cycles: a window, not a timing check
  CHECK(c.gw.db.count("SELECT 1 FROM placements WHERE deployment_id = " + m + " AND replica = 0") ==
        1);
  CHECK(c.gw.db.count("SELECT 1 FROM placements WHERE migration_id IS NOT NULL") == 0);
  CHECK(c.gw.db.scalar("SELECT string_agg(state, ',') FROM migrations WHERE deployment_id = " + m +
                       " AND from_node_id = " + victim.id) == "awaiting_approval");

  // Two planners, one plan per node and organisation, each migration once.
  CHECK(c.gw.db.count("SELECT 1 FROM migration_plans WHERE node_id = " + victim.id) == 3);
  CHECK(c.gw.db.count("SELECT 1 FROM migrations WHERE from_node_id = " + victim.id) ==
        3);  // one replica of m, n and big each
  // The leader dies (SIGKILL) before the approval: the standby takes the lease over (ttl 3 s)
  // and carries the approved plan out.
  auto holds_lease = [&](std::size_t i) {
    return c.gw.db.scalar("SELECT holder FROM leases WHERE name = 'migration-planner'")
               .find("/migration-planner/" + std::to_string(c.planners[i]->pid()) + "-") !=
           std::string::npos;
  };
  const std::size_t leader = holds_lease(0) ? 0 : 1;
  REQUIRE(holds_lease(leader));
  c.planners[leader]->signal(SIGKILL);
  c.planners[leader]->wait(10s);

  // Approved through the API: the replica of m moves to the spare node and is reached there.
  const std::string plan =
      c.gw.db.scalar("SELECT id FROM migration_plans WHERE organization_id = " + manual +
                     " AND node_id = " + victim.id);
  auto approved = c.gw.as("operator", "POST", "/api/migration-plans/" + plan + "/approve",
                          json{{"note", "e2e approves"}}.dump());
  REQUIRE(approved.status == 200);
  REQUIRE(eventually([&] { return c.running_node(m, 0) == spare->id; }, 60s));
  CHECK(route_reaches(c, m, 0, spare->address));
  CHECK(c.gw.db.count("SELECT 1 FROM commands WHERE action = 'container_start' AND "
                      "idempotency_key LIKE 'placement:%:start' AND worker_id = " +
                      spare->id + " AND params->>'deployment_id' = '" + m + "'") == 1);

  CHECK(holds_lease(1 - leader));
  CHECK(c.gw.db.count("SELECT 1 FROM migration_plans WHERE node_id = " + victim.id) == 3);

  // none: recorded only — the replica of n on the dead node was not moved.
  CHECK(c.gw.db.scalar("SELECT string_agg(state, ',') FROM migrations WHERE deployment_id = " + n +
                       " AND from_node_id = " + victim.id) == "recorded");
  CHECK(c.gw.db.count("SELECT 1 FROM placements WHERE deployment_id = " + n) == 3);
  CHECK(c.overcommitted().empty());
}
