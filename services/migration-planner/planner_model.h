// What migration-planner knows in one cycle, as plain data: the store loads it (planner_store.h),
// the engine (planner_engine.h) decides over it and marks what changed, the store writes that.
// Ages are measured against the database's clock, so no process clock is involved.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fleet::planner {

using std::chrono::milliseconds;

// A container the node's agent reported in its last heartbeat (nodes.container_list).
struct AgentContainer {
  std::string name;
  bool managed = false;    // label fleetward.managed=true
  std::string deployment;  // label fleetward.deployment ("" = none)
  std::string placement;   // label fleetward.placement ("" = none)
};

struct NodeView {
  std::int64_t id = 0;
  std::string name;
  std::string status;  // workers.status
  std::string site;    // "" = none
  std::string pool = "default";
  milliseconds status_age{0};                 // now - workers.status_since
  std::optional<milliseconds> heartbeat_age;  // now - last heartbeat; nullopt = never
  double cpu_cores = 0, memory_mb = 0, disk_gb = 0;
  double cpu_percent = 0, memory_percent = 0, disk_percent = 0;
  std::string address;  // first registered address, "" = none
  std::vector<AgentContainer> containers;
};

struct Organization {
  std::int64_t id = 0;
  std::string name;
  std::string policy = "automatic";  // automatic | manual | none
  std::vector<std::int64_t> owners;  // organization_members.user_id
};

struct PortSpec {
  int container_port = 0;
  std::string protocol = "tcp";
};

struct Deployment {
  std::int64_t id = 0;
  std::int64_t organization_id = 0;
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::string env_json = "{}";
  std::vector<PortSpec> ports;
  double cpu_cores = 0.1, memory_mb = 64, disk_gb = 0;
  int replicas = 1;
  std::string labels_json = "{}";
  std::string pool = "default";
  std::string anti_affinity_key;
  int max_unavailable = 1;
  std::string state = "active";  // active | deleting | deleted
  bool dirty = false;            // state changed by the engine (deleted)
};

// The state of an agent command the planner queued, as the engine needs it.
struct CommandView {
  std::string state;         // queued | sent | claimed | succeeded | failed | expired | skipped
  std::string container_id;  // result.container_id
  std::string error;         // last_error or result text
  bool overdue = false;      // queued/sent past expires_at (expired this cycle)
  bool done() const { return state == "succeeded"; }
  bool failed() const {
    return state == "failed" || state == "expired" || state == "skipped" || overdue;
  }
};

struct HostPort {
  int container_port = 0;
  int host_port = 0;
  std::string protocol = "tcp";
};

struct Placement {
  std::int64_t id = 0;
  std::int64_t deployment_id = 0;
  int replica = 0;
  std::int64_t node_id = 0;  // 0 while unplaced
  std::string container_name;
  std::string state;  // unplaced | starting | running | failed | lost | stopping | removed
  std::string reason;
  std::vector<HostPort> ports;
  std::string host_ip = "0.0.0.0";
  double cpu_cores = 0, memory_mb = 0, disk_gb = 0;
  std::int64_t migration_id = 0;
  std::optional<CommandView> start;
  std::optional<CommandView> stop;
  std::string container_id;
  milliseconds age{0};         // now - updated_at
  bool running_since = false;  // set running_since = now() on write
  bool retired = false;
  // Engine bookkeeping.
  bool is_new = false;
  bool dirty = false;
  bool queue_start = false;   // write a container_start command
  bool queue_remove = false;  // write a container_remove command

  bool current() const { return !retired && state != "removed"; }
};

struct Step {
  std::string step;
  std::string detail;
};

struct Migration {
  std::int64_t id = 0;
  std::int64_t plan_id = 0;
  std::int64_t deployment_id = 0;
  int replica = 0;
  std::int64_t from_node_id = 0;
  std::int64_t from_placement_id = 0;
  std::int64_t to_node_id = 0;
  std::int64_t to_placement_id = 0;
  std::string state;
  std::string reason;
  int attempts = 0;
  std::vector<std::int64_t> avoid;
  bool started = false;   // set started_at = now() on write
  bool finished = false;  // set finished_at = now() on write
  bool is_new = false;
  bool dirty = false;
  std::vector<Step> new_steps;  // appended to steps on write
};

struct Plan {
  std::int64_t id = 0;
  std::int64_t node_id = 0;
  std::int64_t organization_id = 0;
  std::string trigger;  // offline | draining
  std::string policy;
  std::string state;
  std::string loaded_state;  // as read: a plan the API decided meanwhile is not overwritten
  std::string reason;
  bool is_new = false;
  bool dirty = false;
  bool finished = false;
  std::string summary_json = "{}";
};

struct RouteKey {
  std::int64_t deployment_id = 0;
  int replica = 0;
  int container_port = 0;
  std::string protocol = "tcp";
  auto operator<=>(const RouteKey&) const = default;
};

struct Route {
  std::int64_t placement_id = 0;
  std::int64_t node_id = 0;
  std::string address;
  int host_port = 0;
  bool dirty = false;    // upsert
  bool removed = false;  // delete
};

// An agent command to queue (the outbox), written with the cycle's other changes.
struct CommandToQueue {
  std::int64_t node_id = 0;
  std::string action;  // container_start | container_remove
  std::string params_json;
  std::string idempotency_key;
  milliseconds expires_in{0};
  std::int64_t placement_id = 0;  // 0 = a stale container (no placement)
  bool is_start = false;
};

struct Notification {
  std::string event;
  std::string severity;
  std::string title;
  std::string body;
  std::int64_t worker_id = 0;  // 0 = none
  std::string payload_json;
  std::string dedupe_key;
};

// The latest plan for a (node, organisation), whatever its state.
struct LatestPlan {
  std::string state;
  bool during_outage = false;  // created after the node's current status began
};

struct Snapshot {
  std::map<std::int64_t, NodeView> nodes;
  std::set<std::string> held_sites;  // sites with an open site_holds row
  std::map<std::int64_t, Organization> organizations;
  std::map<std::int64_t, Deployment> deployments;  // not deleted
  std::vector<Placement> placements;               // not removed
  std::vector<Migration> migrations;               // not terminal
  std::map<std::int64_t, Plan> plans;              // open, or with open migrations
  std::map<std::pair<std::int64_t, std::int64_t>, LatestPlan> latest_plans;  // (node, org)
  std::map<RouteKey, Route> routes;
  int moves_last_minute = 0;  // migrations that left pending within the last minute

  // Written by the engine.
  std::vector<CommandToQueue> commands;
  std::vector<Notification> notifications;
};

}  // namespace fleet::planner
