// A whole cluster for the migration-planner's end-to-end tests (issue 14): PostgreSQL, the real
// api-gateway, heartbeat-monitor and migration-planner(s), and node-agents each on a real Podman
// service of its own (tests/support/podman.h), registered under their own name and their own
// loopback address (127.x.y.z), so the planner publishes every container on its node's address
// (planner.publish_on = node_address) and a route can be followed with a plain HTTP request.
//
// Timeouts are short: heartbeats every second, silent after 10 s (a loaded machine delays a 1 s
// heartbeat by several seconds at times: 6 s made healthy nodes flap), offline nodes fail after
// 2 s of grace, planner cycles every second.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway_fixture.h"
#include "podman.h"

namespace fleet::test {

struct ClusterNode {
  std::string name;
  std::string address;  // its own 127.x.y.z
  std::string config;   // the agent's config file
  std::string id;       // workers.id
  std::unique_ptr<PodmanService> podman;
  std::unique_ptr<Process> agent;
};

struct ClusterOptions {
  int nodes = 3;
  int planners = 1;
};

class PlannerCluster {
 public:
  explicit PlannerCluster(ClusterOptions options);
  ~PlannerCluster();

  // The agent is SIGKILLed and its Podman service stopped (its containers keep running, as
  // after a crash of the agent and the engine's API).
  void kill_node(ClusterNode& node);
  // The Podman service and the agent start again (same storage, same config).
  void revive_node(ClusterNode& node);
  void start_monitor();
  void stop_monitor();

  ClusterNode& node_by_id(const std::string& id);
  std::string status(const ClusterNode& node);
  bool becomes(const ClusterNode& node, const std::string& status,
               std::chrono::milliseconds within = std::chrono::seconds(60));

  // POST /api/organizations as admin; returns the id.
  std::string create_org(const std::string& name, const std::string& policy);
  // POST /api/deployments as operator: a busybox httpd on container port 8080 that serves its own
  // hostname (the container id's first 12 characters); returns the deployment as answered.
  nlohmann::json create_httpd(const std::string& org_id, const std::string& name, int replicas,
                              std::int64_t memory_mb = 64);

  // "replica@node:state" of the deployment's current placements, ordered by replica.
  std::string current(const std::string& deployment_id);
  // The node id of the replica's current running placement ("" when none).
  std::string running_node(const std::string& deployment_id, int replica);
  // The container id of the replica's current running placement.
  std::string running_container(const std::string& deployment_id, int replica);
  // GET / through the replica's route from GET /api/routes (status 0 when no route or no answer).
  HttpAnswer through_route(const std::string& deployment_id, int replica, std::string* address);
  // Names of fleetward's running containers on the node (podman ps against its storage).
  std::vector<std::string> running_containers(const ClusterNode& node);
  // Nodes whose current placements ask for more CPU or memory than they have ("" = none).
  std::string overcommitted();
  // Placements, plans, migrations and the planners' last log lines, for a failure's message.
  std::string story();

  GatewayFixture gw;
  std::vector<ClusterNode> nodes;
  std::vector<std::unique_ptr<Process>> planners;
  std::unique_ptr<Process> monitor;
  std::string dir;

 private:
  void start_agent(ClusterNode& node);
};

}  // namespace fleet::test
