// migration-planner's settings (the `planner.*` configuration keys,
// docs/services/migration-planner.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace fleet::config {
class Schema;
class Config;
}  // namespace fleet::config

namespace fleet::planner {

using std::chrono::milliseconds;

struct PortRange {
  int first = 20000;
  int last = 29999;
};

struct PlannerOptions {
  // An offline node's containers move this long after it went offline (workers.status_since).
  milliseconds offline_grace{std::chrono::seconds(60)};
  // A node is reachable while its last heartbeat is younger than this.
  milliseconds reachable_within{std::chrono::seconds(90)};
  // A container_start not done within this is expired (the start failed).
  milliseconds start_timeout{std::chrono::seconds(300)};
  PortRange port_range;
  // "any" publishes on 0.0.0.0; "node_address" on the node's first registered address.
  std::string publish_on = "any";
  int max_moves_per_minute = 120;
  int max_start_attempts = 2;
  // A failed placement (start failed) is placed again after this.
  milliseconds retry_failed_after{std::chrono::seconds(60)};
  std::string route_file;  // "" = none

  // migration-planner:<instance id> (commands.requested_by, migration_plans.created_by).
  std::string instance_id = "migration-planner";
};

void declare_config(config::Schema& schema);

// Reads the keys declared above. Throws runtime::ConfigError for a bad value (a port range that is
// not "first-last" within 1..65535, an unknown publish_on).
PlannerOptions options_from(const config::Config& config);

// "20000-29999" -> {20000, 29999}; nullopt-like: returns false for anything else.
bool parse_port_range(const std::string& text, PortRange& out);

}  // namespace fleet::planner
