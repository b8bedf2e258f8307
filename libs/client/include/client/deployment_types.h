// Organisations, deployments, routes, migration plans and migrations as the client returns them
// (issue 14, docs/services/api-gateway.md "Deployments"). `raw` keeps the server's JSON for
// printing (--json) and for fields this version does not model.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/types.h"

namespace fleet::client {

// {items, total, limit, offset}: the offset pages of the deployment routes.
template <class T>
struct OffsetPage {
  std::vector<T> items;
  std::int64_t total = 0;  // everything the filter matches
  std::int64_t limit = 0;
  std::int64_t offset = 0;
};

struct OrganizationMember {
  std::int64_t user_id = 0;
  std::string username;
  std::string role;  // owner, member
};

struct Organization {
  std::int64_t id = 0;
  std::string name;
  std::string display_name;
  std::string migration_policy;  // automatic, manual, none
  std::int64_t deployments = 0;  // not deleted
  std::vector<OrganizationMember> members;
  std::string raw;
};

// A new organisation; unset fields take the server's defaults ("", automatic).
struct OrganizationRequest {
  std::string name;
  std::optional<std::string> display_name;
  std::optional<std::string> migration_policy;
};

struct OrganizationChange {
  std::optional<std::string> display_name;
  std::optional<std::string> migration_policy;
};

struct PortSpec {
  int container_port = 0;
  std::string protocol = "tcp";  // tcp, udp
};

struct Deployment {
  std::int64_t id = 0;
  std::int64_t organization_id = 0;
  std::string organization;
  std::string name;
  std::string service;  // <name>.<organisation>
  std::string image;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::vector<PortSpec> ports;
  double cpu_cores = 0;
  std::int64_t memory_mb = 0;
  double disk_gb = 0;
  std::int64_t replicas = 0;
  Labels labels;
  std::string pool;
  std::optional<std::string> anti_affinity_key;
  std::int64_t max_unavailable = 0;
  std::string state;  // active, deleting, deleted
  std::string created_by;
  std::string created_at;
  std::string updated_at;
  std::int64_t replicas_running = 0;
  std::int64_t replicas_unplaced = 0;
  std::string raw;
};

struct Placement {
  std::int64_t id = 0;
  std::int64_t replica = 0;
  std::optional<std::int64_t> node_id;  // nullopt while unplaced
  std::optional<std::string> node_name;
  std::optional<std::string> container_name;
  std::string state;   // unplaced, starting, running, failed, lost, stopping, removed
  std::string reason;  // why unplaced or failed
  std::optional<std::string> running_since;
  std::optional<std::string> retired_at;
  std::optional<std::int64_t> migration_id;
};

struct Route {
  std::string service;
  std::int64_t deployment_id = 0;
  std::int64_t replica = 0;
  std::int64_t container_port = 0;
  std::string protocol;
  std::optional<std::int64_t> node_id;
  std::optional<std::string> node_name;
  std::string address;
  std::int64_t host_port = 0;
  std::int64_t version = 0;
  std::string updated_at;
};

struct MigrationStep {
  std::string at, step, detail;
};

struct Migration {
  std::int64_t id = 0;
  std::int64_t plan_id = 0;
  std::int64_t deployment_id = 0;
  std::string service;
  std::int64_t replica = 0;
  std::optional<std::int64_t> from_node_id, to_node_id;
  std::optional<std::string> from_node_name, to_node_name;
  std::string state;
  std::string reason;
  std::int64_t attempts = 0;
  std::string created_at, updated_at;
  std::optional<std::string> finished_at;
  std::vector<MigrationStep> steps;  // only from MigrationsApi::get and plan details
  std::string raw;
};

// GET /api/deployments/{id}.
struct DeploymentDetail {
  Deployment deployment;
  std::vector<Placement> placements;  // not removed, and the last 20 removed
  std::vector<Route> routes;
  std::vector<Migration> migrations;  // the last 20
  std::string raw;
};

struct DeploymentRequest {
  std::int64_t organization_id = 0;
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::vector<PortSpec> ports;
  // Unset: the server's defaults (0.1 cores, 64 MB, 0 GB, 1 replica, pool "default", 1).
  std::optional<double> cpu_cores;
  std::optional<std::int64_t> memory_mb;
  std::optional<double> disk_gb;
  std::optional<int> replicas;
  Labels labels;
  std::optional<std::string> pool;
  std::optional<std::string> anti_affinity_key;
  std::optional<int> max_unavailable;
};

// Only the fields set are sent; anti_affinity_key "" clears it; labels replace every label.
struct DeploymentChange {
  std::optional<int> replicas;
  std::optional<Labels> labels;
  std::optional<int> max_unavailable;
  std::optional<std::string> anti_affinity_key;
  std::optional<std::string> pool;
};

struct DeploymentFilter {
  std::optional<std::int64_t> organization_id;
  std::optional<std::string> state;  // deleted ones only with "deleted"
  std::optional<std::string> q;
  int limit = 0;  // 0 = the server's default (100)
  std::int64_t offset = 0;
};

enum class RouteFileFormat { kJson, kHaproxy, kNginx };

struct MigrationPlan {
  std::int64_t id = 0;
  std::int64_t node_id = 0;
  std::string node_name;
  std::int64_t organization_id = 0;
  std::string organization;
  std::string trigger;  // offline, draining
  std::string policy;   // automatic, manual, none
  std::string state;    // awaiting_approval, executing, done, failed, rejected, recorded, cancelled
  std::string reason;
  std::string created_at;
  std::optional<std::string> decided_by, decided_at, decision_note, finished_at;
  std::vector<Migration> migrations;  // only from MigrationsApi::plan / approve / reject
  std::string raw;
};

struct PlanFilter {
  std::optional<std::string> state;
  std::optional<std::int64_t> node_id;
  std::optional<std::int64_t> organization_id;
  int limit = 0;
  std::int64_t offset = 0;
};

struct MigrationFilter {
  std::optional<std::int64_t> deployment_id;
  std::optional<std::int64_t> node_id;  // from or to
  std::optional<std::int64_t> plan_id;
  std::optional<std::string> state;
  int limit = 0;
  std::int64_t offset = 0;
};

}  // namespace fleet::client
