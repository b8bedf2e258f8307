// migration-planner's engine over crafted snapshots (no database): one cycle's plans, moves and
// routes, no overcommit within a cycle, determinism.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "planner_engine.h"

using namespace fleet::planner;
using std::chrono::seconds;

namespace {

NodeView alive(std::int64_t id, double memory_mb = 8192, double load = 10) {
  NodeView n;
  n.id = id;
  n.name = "node-" + std::to_string(id);
  n.status = "online";
  n.heartbeat_age = seconds(5);
  n.cpu_cores = 8;
  n.memory_mb = memory_mb;
  n.disk_gb = 100;
  n.cpu_percent = n.memory_percent = n.disk_percent = load;
  n.address = "127.0.0." + std::to_string(id);
  return n;
}

Deployment deployment(std::int64_t id, double memory_mb, int replicas = 1) {
  Deployment d;
  d.id = id;
  d.organization_id = 1;
  d.name = "d" + std::to_string(id);
  d.image = "busybox";
  d.memory_mb = memory_mb;
  d.cpu_cores = 0.1;
  d.replicas = replicas;
  d.ports = {{80, "tcp"}};
  return d;
}

Placement running(std::int64_t id, const Deployment& d, int replica, std::int64_t node) {
  Placement p;
  p.id = id;
  p.deployment_id = d.id;
  p.replica = replica;
  p.node_id = node;
  p.container_name =
      "fw-" + std::to_string(d.id) + "-" + std::to_string(replica) + "-" + std::to_string(id);
  p.state = "running";
  p.ports = {{80, 20000, "tcp"}};
  p.cpu_cores = d.cpu_cores;
  p.memory_mb = d.memory_mb;
  p.disk_gb = d.disk_gb;
  return p;
}

Snapshot base(const std::string& policy = "automatic") {
  Snapshot s;
  s.organizations[1] = {.id = 1, .name = "acme", .policy = policy, .owners = {42}};
  return s;
}

IdSource counter() {
  auto next = std::make_shared<std::int64_t>(1000);
  return [next](const std::string&) { return (*next)++; };
}

int count(const EngineResult& r, const std::string& action) {
  int n = 0;
  for (const auto& line : r.decisions)
    n += nlohmann::json::parse(line)["action"] == action;
  return n;
}

}  // namespace

TEST_CASE("engine: moves off an offline node never overcommit a target within one cycle",
          "[planner]") {
  Snapshot s = base();
  NodeView dead = alive(1);
  dead.status = "offline";
  dead.status_age = seconds(120);
  dead.heartbeat_age = seconds(300);
  s.nodes[1] = dead;
  s.nodes[2] = alive(2, 2048);
  s.nodes[3] = alive(3, 1024);
  // Ten 512 MiB replicas on the dead node; the survivors hold 3 GiB between them: six fit.
  for (int i = 0; i < 10; ++i) {
    s.deployments[10 + i] = deployment(10 + i, 512);
    s.placements.push_back(running(100 + i, s.deployments[10 + i], 0, 1));
  }
  PlannerOptions o;
  auto r = run_engine(s, o, counter());
  CHECK(r.plans_opened == 1);
  CHECK(r.migrations_started == 6);
  CHECK(r.migrations_failed == 4);
  std::map<std::int64_t, double> reserved;
  for (const auto& p : s.placements) {
    if (p.is_new) reserved[p.node_id] += p.memory_mb;
  }
  CHECK(reserved[2] == 2048);
  CHECK(reserved[3] == 1024);
  // The old placements of started moves are lost at once (their node is offline).
  int lost = 0;
  for (const auto& p : s.placements)
    lost += p.state == "lost";
  CHECK(lost == 6);
  CHECK(s.notifications.size() == 4);  // four migration.failed
  for (const auto& n : s.notifications)
    CHECK(n.event == "migration.failed");
}

TEST_CASE("engine: a draining node's old container runs until the new one runs, then is removed",
          "[planner]") {
  Snapshot s = base();
  NodeView drain = alive(1);
  drain.status = "draining";
  s.nodes[1] = drain;
  s.nodes[2] = alive(2);
  s.deployments[10] = deployment(10, 256);
  s.placements.push_back(running(100, s.deployments[10], 0, 1));
  s.routes[{10, 0, 80, "tcp"}] = {
      .placement_id = 100, .node_id = 1, .address = "127.0.0.1", .host_port = 20000};
  PlannerOptions o;
  auto r = run_engine(s, o, counter());
  CHECK(r.migrations_started == 1);
  CHECK(s.placements[0].state == "running");
  CHECK_FALSE(s.placements[0].queue_remove);

  // The agent ran the new container: the route switches and the old one is removed.
  Snapshot next = base();
  next.nodes = s.nodes;
  next.deployments = s.deployments;
  next.routes = s.routes;
  for (auto p : s.placements) {
    p.is_new = p.dirty = p.queue_start = false;
    if (p.state == "starting") p.start = CommandView{.state = "succeeded", .container_id = "abc"};
    next.placements.push_back(p);
  }
  for (auto m : s.migrations) {
    m.is_new = m.dirty = false;
    m.new_steps.clear();
    next.migrations.push_back(m);
  }
  for (auto [id, p] : s.plans) {
    p.is_new = p.dirty = false;
    p.loaded_state = p.state;
    next.plans[id] = p;
  }
  r = run_engine(next, o, counter());
  CHECK(r.migrations_completed == 1);
  const Route& route = next.routes[{10, 0, 80, "tcp"}];
  CHECK(route.node_id == 2);
  CHECK(route.dirty);
  CHECK(next.placements[0].state == "stopping");
  CHECK(next.placements[0].retired);
  CHECK(next.migrations[0].state == "cleanup");
  CHECK(next.placements[1].container_id == "abc");
}

TEST_CASE("engine: manual plans wait, none plans are recorded, both notify the owners",
          "[planner]") {
  for (const std::string policy : {"manual", "none"}) {
    Snapshot s = base(policy);
    NodeView drain = alive(1);
    drain.status = "draining";
    s.nodes[1] = drain;
    s.nodes[2] = alive(2);
    s.deployments[10] = deployment(10, 256);
    s.placements.push_back(running(100, s.deployments[10], 0, 1));
    auto r = run_engine(s, PlannerOptions{}, counter());
    CHECK(r.plans_opened == 1);
    CHECK(r.migrations_started == 0);
    CHECK(s.commands.empty());
    REQUIRE(s.migrations.size() == 1);
    CHECK(s.migrations[0].state == (policy == "manual" ? "awaiting_approval" : "recorded"));
    REQUIRE(s.notifications.size() == 1);
    CHECK(s.notifications[0].event ==
          (policy == "manual" ? "migration.approval_required" : "migration.recorded"));
    CHECK(nlohmann::json::parse(s.notifications[0].payload_json)["owners"] ==
          nlohmann::json::array({42}));
  }
}

TEST_CASE("engine: a held site's failed node is not planned", "[planner]") {
  Snapshot s = base();
  NodeView dead = alive(1);
  dead.site = "west";
  dead.status = "offline";
  dead.status_age = seconds(600);
  s.nodes[1] = dead;
  s.nodes[2] = alive(2);
  s.held_sites = {"west"};
  s.deployments[10] = deployment(10, 256);
  s.placements.push_back(running(100, s.deployments[10], 0, 1));
  auto r = run_engine(s, PlannerOptions{}, counter());
  CHECK(r.plans_opened == 0);
  CHECK(r.held_nodes == 1);
  CHECK(count(r, "held") == 1);
}

TEST_CASE("engine: the same snapshot gives the same decisions", "[planner]") {
  auto make = [] {
    Snapshot s = base();
    for (int i = 1; i <= 20; ++i)
      s.nodes[i] = alive(i, 4096, (i * 37) % 50);
    for (int d = 0; d < 15; ++d)
      s.deployments[100 + d] = deployment(100 + d, 256 + 64 * d, 1 + d % 3);
    return s;
  };
  Snapshot a = make(), b = make();
  auto ra = run_engine(a, PlannerOptions{}, counter());
  auto rb = run_engine(b, PlannerOptions{}, counter());
  CHECK(ra.placements_made == 30);
  CHECK(ra.decisions == rb.decisions);
  // Replicas of one deployment never share a node.
  std::set<std::pair<std::int64_t, std::int64_t>> seen;
  for (const auto& p : a.placements)
    CHECK(seen.insert({p.deployment_id, p.node_id}).second);
}
