#include "planner_rules.h"

#include <algorithm>

namespace fleet::planner {

bool is_reachable(const NodeView& n, const PlannerOptions& o) {
  const bool alive_status = n.status == "online" || n.status == "unhealthy" ||
                            n.status == "draining" || n.status == "pending";
  return alive_status && n.heartbeat_age && *n.heartbeat_age < o.reachable_within;
}

std::optional<std::string> failure_trigger(const NodeView& n, const PlannerOptions& o) {
  if (n.status == "draining") return "draining";
  if (n.status == "offline" && n.status_age >= o.offline_grace) return "offline";
  return std::nullopt;
}

bool is_schedulable(const NodeView& n, const std::set<std::string>& held_sites,
                    const PlannerOptions& o) {
  return n.status == "online" && held_sites.count(n.site) == 0 && n.heartbeat_age &&
         *n.heartbeat_age < o.reachable_within;
}

std::optional<std::vector<int>> choose_host_ports(const std::set<int>& used, const PortRange& range,
                                                  std::size_t count) {
  std::vector<int> out;
  for (int p = range.first; p <= range.last && out.size() < count; ++p) {
    if (used.count(p) == 0) out.push_back(p);
  }
  if (out.size() < count) return std::nullopt;
  return out;
}

std::string container_name(std::int64_t deployment_id, int replica, std::int64_t placement_id) {
  return "fw-" + std::to_string(deployment_id) + "-" + std::to_string(replica) + "-" +
         std::to_string(placement_id);
}

std::string service_address(const std::string& deployment, const std::string& organization) {
  return deployment + "." + organization;
}

std::string plain_container_name(const std::string& name) {
  return !name.empty() && name[0] == '/' ? name.substr(1) : name;
}

std::vector<std::string> stale_containers(const NodeView& node, const std::set<std::string>& keep,
                                          const std::set<std::string>& keep_names) {
  std::vector<std::string> out;
  for (const auto& c : node.containers) {
    if (!c.managed || c.deployment.empty()) continue;
    const std::string name = plain_container_name(c.name);
    if (name.empty()) continue;
    if (!c.placement.empty() ? keep.count(c.placement) > 0 : keep_names.count(name) > 0) continue;
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int moves_allowed(int max_per_minute, int moves_last_minute) {
  return std::max(0, max_per_minute - moves_last_minute);
}

int disruption_room(int max_unavailable, int moving) {
  return std::max(0, max_unavailable - moving);
}

AfterStartFailure after_start_failure(int attempts, int max_start_attempts) {
  return attempts < max_start_attempts ? AfterStartFailure::kRetry : AfterStartFailure::kFail;
}

}  // namespace fleet::planner
