// Container host nodes and their registration tokens as the client returns them (issue 13,
// docs/services/api-gateway.md "Node administration"). `raw` keeps the server's JSON for
// printing (--json) and for fields this version does not model (a node's container list, ...).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/types.h"

namespace fleet::client {

struct Node {
  std::int64_t id = 0;  // the node's worker id
  std::string name;
  std::string status;  // pending, online, unhealthy, draining, offline, unreachable, removed
  std::optional<std::string> status_reason;
  std::string status_since;
  std::optional<std::string> site;
  std::string pool;
  std::string hostname;
  std::vector<std::string> addresses;
  std::int64_t cpu_cores = 0;
  std::int64_t memory_mb = 0;
  double disk_gb = 0;
  // The last heartbeat's load; nullopt before the first one.
  std::optional<double> cpu_percent, memory_percent, disk_percent, load_average;
  std::optional<std::int64_t> containers, containers_running;
  std::optional<std::string> last_heartbeat_at;
  std::optional<std::int64_t> heartbeat_age_s;
  bool draining = false;
  bool credential_revoked = false;
  std::string raw;
};

struct NodeFilter {
  std::optional<std::string> status;  // removed nodes are listed only with status "removed"
  std::optional<std::string> site;
  std::optional<std::string> pool;
  std::optional<std::string> q;  // name, hostname or address contains
  int limit = 0;                 // 1..1000; 0 = the server's default (100)
  std::int64_t offset = 0;
};

struct NodePage {
  std::vector<Node> items;
  std::int64_t total = 0;  // every node the filter matches
  std::int64_t limit = 0;
  std::int64_t offset = 0;
};

struct NodeStats {
  std::int64_t total = 0;  // nodes not removed
  std::map<std::string, std::int64_t> by_status;
  double capacity_cpu_cores = 0, capacity_memory_mb = 0, capacity_disk_gb = 0;
  double used_cpu_cores = 0, used_memory_mb = 0, used_disk_gb = 0;
  std::optional<double> average_cpu_percent, average_memory_percent, average_disk_percent,
      average_overall;
  std::string raw;
};

struct StatusChange {
  std::string from, to, reason, at, changed_by;
};

// Whether removing a node that still runs containers of fleetward deployments is refused.
enum class NodeRemoval { kRefuseWithDeployments, kForce };

struct RegistrationToken {
  std::int64_t id = 0;
  std::string token_id;  // public part, shown in lists
  std::string description;
  std::optional<std::string> site;
  std::string pool;
  std::int64_t max_uses = 0;
  std::int64_t uses = 0;
  std::string expires_at;
  std::optional<std::string> revoked_at;
  std::string state;  // active, expired, used, revoked
  std::string created_by;
  std::string created_at;
  std::int64_t nodes = 0;  // registered with it
  // Only in the answer that created it.
  std::optional<std::string> token;
  std::optional<std::string> install_command;
  std::string raw;
};

// A new token; unset fields take the server's defaults (pool "default", 1 use, 24 hours).
struct RegistrationTokenRequest {
  std::optional<std::string> description;
  std::optional<std::string> site;
  std::optional<std::string> pool;
  Labels labels;
  std::optional<int> max_uses;
  std::optional<int> expires_in_hours;
};

}  // namespace fleet::client
