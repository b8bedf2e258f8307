// The small decisions of migration-planner, as pure functions (unit-tested in tests/unit/planner):
// which nodes are reachable, failed or schedulable, which host ports a container gets, which
// containers on a node are stale copies, how many moves the rate limit allows.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "planner_model.h"
#include "planner_options.h"

namespace fleet::planner {

// Status online/unhealthy/draining/pending and a heartbeat younger than reachable_within.
bool is_reachable(const NodeView& node, const PlannerOptions& options);

// "offline" when offline for longer than offline_grace, "draining" when draining (no grace),
// else nullopt. Unreachable (a held partition) is not failed.
std::optional<std::string> failure_trigger(const NodeView& node, const PlannerOptions& options);

// Online, its site not held, heartbeat fresh. (The pool is the placement core's filter.)
bool is_schedulable(const NodeView& node, const std::set<std::string>& held_sites,
                    const PlannerOptions& options);

// The lowest `count` ports of the range not in `used`, or nullopt when the range has too few.
std::optional<std::vector<int>> choose_host_ports(const std::set<int>& used, const PortRange& range,
                                                  std::size_t count);

// fw-<deployment id>-<replica>-<placement id>
std::string container_name(std::int64_t deployment_id, int replica, std::int64_t placement_id);

// <deployment>.<organisation>, e.g. web.acme
std::string service_address(const std::string& deployment, const std::string& organization);

// The names of the managed containers on `node` that belong to a deployment but to none of
// `keep` (placement ids, as text: current placements on the node and starts in flight). A
// container without a fleetward.placement label is stale unless its name is in `keep_names`.
std::vector<std::string> stale_containers(const NodeView& node, const std::set<std::string>& keep,
                                          const std::set<std::string>& keep_names);

// How many migrations may start now under the fleet-wide rate limit.
int moves_allowed(int max_per_minute, int moves_last_minute);

// How many more replicas of a deployment may move now (its disruption budget).
int disruption_room(int max_unavailable, int moving);

// Where a failed start leaves its migration: retry on another node while attempts remain.
enum class AfterStartFailure { kRetry, kFail };
AfterStartFailure after_start_failure(int attempts, int max_start_attempts);

// The agent's container name without Docker's leading '/'.
std::string plain_container_name(const std::string& name);

}  // namespace fleet::planner
