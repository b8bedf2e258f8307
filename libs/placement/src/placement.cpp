// The placement core: filter, score, reserve (placement.h). Reasons for requests that fit nowhere
// are in reasons.cpp.
#include "placement/placement.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "units.h"

namespace fleet::placement {

namespace {

// Observed load: not finite -> 100 (an unknown load is never preferred), clamped to 0..100.
double percent(double value) {
  if (!std::isfinite(value)) return 100;
  return std::clamp(value, 0.0, 100.0);
}

double per_unit(std::int64_t capacity) {
  return capacity > 0 ? 100.0 / capacity : 0.0;
}

bool valid_amount(double value) {
  return std::isfinite(value) && value >= 0;
}

std::string anti_affinity_key(const Request& request) {
  if (request.anti_affinity_key.empty()) return {};
  return std::to_string(request.organization_id) + "/" + request.anti_affinity_key;
}

void erase_one(std::vector<std::uint32_t>& list, std::uint32_t value) {
  auto it = std::find(list.begin(), list.end(), value);
  if (it != list.end()) list.erase(it);
}

}  // namespace

Cluster::Cluster(std::vector<Node> nodes) : nodes_(std::move(nodes)) {
  const auto count = nodes_.size();
  observed_.resize(count);
  percent_per_unit_.resize(count);
  site_.resize(count, -1);
  free_.resize(count);
  planned_.resize(count);
  load_.resize(count);
  excluded_.resize(count, 0);
  std::unordered_map<std::string, int> sites;
  for (std::uint32_t i = 0; i < count; ++i) {
    const Node& node = nodes_[i];
    const Amount capacity{units::capacity(node.capacity.cpu_cores),
                          units::capacity(node.capacity.memory_mb),
                          units::capacity(node.capacity.disk_gb)};
    free_[i] = {capacity.cpu - units::need(node.reserved.cpu_cores),
                capacity.memory - units::need(node.reserved.memory_mb),
                capacity.disk - units::need(node.reserved.disk_gb)};
    observed_[i] =
        percent(node.cpu_percent) + percent(node.memory_percent) + percent(node.disk_percent);
    percent_per_unit_[i] = {per_unit(capacity.cpu), per_unit(capacity.memory),
                            per_unit(capacity.disk)};
    if (!node.site.empty()) {
      site_[i] = sites.emplace(node.site, static_cast<int>(sites.size())).first->second;
    }
    load_[i] = load_of(i);
    for (auto deployment : node.deployments) {
      hosts_[deployment].push_back(i);
    }
    for (const auto& key : node.anti_affinity_keys) {
      key_hosts_[key].push_back(i);
    }
    const bool usable = node.id > 0 && position_.emplace(node.id, i).second;
    if (usable && node.schedulable) pools_[node.pool].push_back(i);
  }
}

double Cluster::load_of(std::uint32_t node) const {
  const Amount& planned = planned_[node];
  const auto& per = percent_per_unit_[node];
  return (observed_[node] + static_cast<double>(planned.cpu) * per[0] +
          static_cast<double>(planned.memory) * per[1] +
          static_cast<double>(planned.disk) * per[2]) /
         3.0;
}

int Cluster::site_replicas(std::uint32_t node, std::int64_t deployment_id) const {
  auto hosts = hosts_.find(deployment_id);
  if (hosts == hosts_.end()) return 0;
  int count = 0;
  for (auto host : hosts->second) {
    if (site_[node] < 0 ? host == node : site_[host] == site_[node]) ++count;
  }
  return count;
}

// Between two nodes of equal load: fewer replicas of the deployment in the site, then the lower id.
bool Cluster::better(std::uint32_t candidate, std::uint32_t best,
                     std::int64_t deployment_id) const {
  const int a = site_replicas(candidate, deployment_id);
  const int b = site_replicas(best, deployment_id);
  if (a != b) return a < b;
  return nodes_[candidate].id < nodes_[best].id;
}

Choice Cluster::place(const Request& request) {
  const Resources& n = request.need;
  for (auto [name, value] :
       {std::pair{"cpu_cores", n.cpu_cores}, std::pair{"memory_mb", n.memory_mb},
        std::pair{"disk_gb", n.disk_gb}}) {
    if (!valid_amount(value)) {
      return {.reason = std::string("invalid request: ") + name + " must be a finite number >= 0"};
    }
  }
  const Amount need{units::need(n.cpu_cores), units::need(n.memory_mb), units::need(n.disk_gb)};

  // Exclusions are stamped, so each node visit checks them in O(1) without clearing anything.
  ++stamp_;
  if (auto hosts = hosts_.find(request.deployment_id); hosts != hosts_.end()) {
    for (auto host : hosts->second) {
      excluded_[host] = stamp_;
    }
  }
  const std::string key = anti_affinity_key(request);
  if (!key.empty()) {
    if (auto hosts = key_hosts_.find(key); hosts != key_hosts_.end()) {
      for (auto host : hosts->second) {
        excluded_[host] = stamp_;
      }
    }
  }
  for (auto id : request.avoid) {
    if (auto at = position_.find(id); at != position_.end()) excluded_[at->second] = stamp_;
  }

  std::uint32_t best = kNone;
  if (auto pool = pools_.find(request.pool); pool != pools_.end()) {
    for (auto i : pool->second) {
      if (excluded_[i] == stamp_) continue;
      const Amount& room = free_[i];
      if ((need.cpu > 0 && room.cpu < need.cpu) || (need.memory > 0 && room.memory < need.memory) ||
          (need.disk > 0 && room.disk < need.disk)) {
        continue;
      }
      if (best == kNone || load_[i] < load_[best] ||
          (load_[i] == load_[best] && better(i, best, request.deployment_id))) {
        best = i;
      }
    }
  }
  if (best == kNone) return {.reason = why_unplaced(request, need)};
  Choice choice{.node_id = nodes_[best].id, .score = load_[best]};
  reserve(best, request, need, key);
  return choice;
}

void Cluster::reserve(std::uint32_t node, const Request& request, const Amount& need,
                      const std::string& key) {
  free_[node].cpu -= need.cpu;
  free_[node].memory -= need.memory;
  free_[node].disk -= need.disk;
  planned_[node].cpu += need.cpu;
  planned_[node].memory += need.memory;
  planned_[node].disk += need.disk;
  load_[node] = load_of(node);
  hosts_[request.deployment_id].push_back(node);
  if (!key.empty()) key_hosts_[key].push_back(node);
  placed_[request.deployment_id].push_back(node);
}

void Cluster::release(std::int64_t node_id, const Request& request) {
  auto at = position_.find(node_id);
  if (at == position_.end()) return;
  const std::uint32_t node = at->second;
  auto placed = placed_.find(request.deployment_id);
  if (placed == placed_.end()) return;
  auto mine = std::find(placed->second.begin(), placed->second.end(), node);
  if (mine == placed->second.end()) return;  // nothing this Cluster placed there: nothing to forget
  placed->second.erase(mine);

  const Resources& n = request.need;
  Amount& planned = planned_[node];
  Amount& room = free_[node];
  const Amount back{std::min(units::need(n.cpu_cores), planned.cpu),
                    std::min(units::need(n.memory_mb), planned.memory),
                    std::min(units::need(n.disk_gb), planned.disk)};
  planned.cpu -= back.cpu;
  planned.memory -= back.memory;
  planned.disk -= back.disk;
  room.cpu += back.cpu;
  room.memory += back.memory;
  room.disk += back.disk;
  load_[node] = load_of(node);
  erase_one(hosts_[request.deployment_id], node);
  if (const auto key = anti_affinity_key(request); !key.empty()) erase_one(key_hosts_[key], node);
}

const std::vector<Node>& Cluster::nodes() const {
  return nodes_;
}

double Cluster::projected_load(std::int64_t node_id) const {
  auto at = position_.find(node_id);
  return at == position_.end() ? -1 : load_[at->second];
}

std::vector<Choice> place_all(Cluster& cluster, const std::vector<Request>& requests) {
  std::vector<Choice> choices;
  choices.reserve(requests.size());
  for (const auto& request : requests)
    choices.push_back(cluster.place(request));
  return choices;
}

}  // namespace fleet::placement
