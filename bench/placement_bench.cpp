// Placement core benchmark (docs/benchmarks.md § placement): the scenario — 100 failed
// nodes with 100 containers each, 10,000 replicas placed onto 1,000 healthy nodes (10 sites, pools
// default and gpu, anti-affinity by deployment and by key) — through fleet::placement, beside two
// baselines measured in the same run on the same input:
//   naive  the same rules written the obvious way over the Node structs (string pools, linear
//          anti-affinity searches, the score recomputed on every visit);
//   floor  one read of each candidate node's free CPU per request: the least an exact scan does.
// Afterwards it checks the plan: nothing overcommitted, no two replicas of a deployment (or two
// containers of one organisation's key) on a node, every unplaced replica with a reason.
//
//   placement_bench [--runs 7] [--seed 14]
//
// Prints a Markdown table and the reasons; exit 1 when a check fails.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "placement/placement.h"

namespace {

using fleet::placement::Choice;
using fleet::placement::Cluster;
using fleet::placement::Node;
using fleet::placement::Request;
using fleet::placement::Resources;
using Clock = std::chrono::steady_clock;

constexpr int kHealthy = 1000, kFailed = 100, kPerFailed = 100, kSites = 10;
constexpr int kDeployments = 2000, kReplicasOnFailed = 5, kReplicasOnHealthy = 2;

struct Scenario {
  std::vector<Node> nodes;  // healthy 1..1000, failed 1001..1100
  std::vector<Request> requests;
};

std::string key_of(std::int64_t deployment) {
  return deployment % 10 == 3 ? "db" : "";
}
std::int64_t org_of(std::int64_t deployment) {
  return deployment % 50 + 1;
}
std::string pool_of(std::int64_t deployment) {
  return deployment % 10 == 0 ? "gpu" : "default";
}

Scenario build(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&rng](const auto& values) {
    return values[std::uniform_int_distribution<std::size_t>(0, values.size() - 1)(rng)];
  };
  auto uniform = [&rng](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const std::vector<double> cores = {16, 32, 64}, memories = {65536, 131072, 262144},
                            disks = {500, 1000};
  Scenario s;
  for (int i = 0; i < kHealthy + kFailed; ++i) {
    Node n;
    n.id = i + 1;
    n.site = "site-" + std::to_string(i % kSites);
    n.pool = i % 10 == 9 ? "gpu" : "default";
    n.schedulable = i < kHealthy;
    n.capacity = {pick(cores), pick(memories), pick(disks)};
    n.reserved = {n.capacity.cpu_cores * uniform(0.2, 0.6),
                  n.capacity.memory_mb * uniform(0.2, 0.6), n.capacity.disk_gb * uniform(0.1, 0.5)};
    n.cpu_percent = uniform(5, 80);
    n.memory_percent = uniform(5, 80);
    n.disk_percent = uniform(5, 80);
    s.nodes.push_back(std::move(n));
  }
  // Each deployment: 5 replicas on 5 different failed nodes, 2 on healthy nodes of its pool.
  const std::vector<double> cpus = {0.25, 0.5, 1, 2}, mems = {256, 512, 1024, 2048, 4096},
                            disk = {1, 5, 10};
  std::vector<Resources> need(kDeployments);
  std::vector<std::vector<Request>> on_failed(kFailed);
  for (std::int64_t d = 1; d <= kDeployments; ++d) {
    need[static_cast<std::size_t>(d - 1)] = {pick(cpus), pick(mems), pick(disk)};
    // A few deployments too big for any node: unplaced, with a reason.
    if (d % 500 == 7) need[static_cast<std::size_t>(d - 1)].memory_mb = 600 * 1024;
    const std::string key = key_of(d);
    for (int placed = 0; placed < kReplicasOnHealthy;) {
      Node& n = s.nodes[std::uniform_int_distribution<std::size_t>(0, kHealthy - 1)(rng)];
      if (n.pool != pool_of(d) ||
          std::find(n.deployments.begin(), n.deployments.end(), d) != n.deployments.end()) {
        continue;
      }
      n.deployments.push_back(d);
      if (!key.empty()) n.anti_affinity_keys.push_back(std::to_string(org_of(d)) + "/" + key);
      ++placed;
    }
    for (int r = 0; r < kReplicasOnFailed; ++r) {
      const int failed = static_cast<int>((d * kReplicasOnFailed + r) % kFailed);
      Node& n = s.nodes[static_cast<std::size_t>(kHealthy + failed)];
      n.deployments.push_back(d);
      Request q;
      q.deployment_id = d;
      q.replica = r + kReplicasOnHealthy;
      q.organization_id = org_of(d);
      q.pool = pool_of(d);
      q.need = need[static_cast<std::size_t>(d - 1)];
      q.anti_affinity_key = key;
      q.avoid = {n.id};
      on_failed[static_cast<std::size_t>(failed)].push_back(std::move(q));
    }
  }
  for (auto& requests : on_failed) {  // the planner's order: failed node by failed node
    for (auto& r : requests)
      s.requests.push_back(std::move(r));
  }
  return s;
}

// The same rules, written the obvious way: the baseline the core's layout is measured against.
std::vector<std::int64_t> place_naively(std::vector<Node> nodes,
                                        const std::vector<Request>& requests) {
  std::vector<Resources> planned(nodes.size());
  std::vector<std::int64_t> out;
  out.reserve(requests.size());
  constexpr double eps = 1e-9;
  for (const auto& r : requests) {
    const std::string key = r.anti_affinity_key.empty()
                                ? ""
                                : std::to_string(r.organization_id) + "/" + r.anti_affinity_key;
    auto load = [&](std::size_t i) {
      const Node& n = nodes[i];
      const Resources& p = planned[i];
      return (n.cpu_percent + p.cpu_cores / n.capacity.cpu_cores * 100 + n.memory_percent +
              p.memory_mb / n.capacity.memory_mb * 100 + n.disk_percent +
              p.disk_gb / n.capacity.disk_gb * 100) /
             3;
    };
    auto site_replicas = [&](std::size_t i) {
      int count = 0;
      for (const auto& n : nodes) {
        if (n.site == nodes[i].site) {
          count += static_cast<int>(
              std::count(n.deployments.begin(), n.deployments.end(), r.deployment_id));
        }
      }
      return count;
    };
    std::size_t best = nodes.size();
    double best_load = 0;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      const Resources& p = planned[i];
      if (!n.schedulable || n.pool != r.pool ||
          std::find(r.avoid.begin(), r.avoid.end(), n.id) != r.avoid.end() ||
          n.reserved.cpu_cores + p.cpu_cores + r.need.cpu_cores > n.capacity.cpu_cores + eps ||
          n.reserved.memory_mb + p.memory_mb + r.need.memory_mb > n.capacity.memory_mb + eps ||
          n.reserved.disk_gb + p.disk_gb + r.need.disk_gb > n.capacity.disk_gb + eps ||
          std::find(n.deployments.begin(), n.deployments.end(), r.deployment_id) !=
              n.deployments.end() ||
          (!key.empty() && std::find(n.anti_affinity_keys.begin(), n.anti_affinity_keys.end(),
                                     key) != n.anti_affinity_keys.end())) {
        continue;
      }
      const double l = load(i);
      if (best == nodes.size() || l < best_load ||
          (l == best_load && site_replicas(i) < site_replicas(best))) {
        best = i;
        best_load = l;
      }
    }
    if (best == nodes.size()) {
      out.push_back(0);
      continue;
    }
    planned[best].cpu_cores += r.need.cpu_cores;
    planned[best].memory_mb += r.need.memory_mb;
    planned[best].disk_gb += r.need.disk_gb;
    nodes[best].deployments.push_back(r.deployment_id);
    if (!key.empty()) nodes[best].anti_affinity_keys.push_back(key);
    out.push_back(nodes[best].id);
  }
  return out;
}

// One read of each candidate's free CPU per request (no placement): a lower bound for a full scan.
std::size_t scan_floor(const std::vector<Node>& nodes, const std::vector<Request>& requests) {
  std::vector<double> free_cpu;
  for (const auto& n : nodes)
    free_cpu.push_back(n.capacity.cpu_cores - n.reserved.cpu_cores);
  std::size_t fits = 0;
  for (const auto& r : requests) {
    for (double f : free_cpu)
      fits += f >= r.need.cpu_cores ? 1 : 0;
  }
  return fits;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Nothing overcommitted, anti-affinity held, every unplaced replica explained.
bool check(const Scenario& s, const std::vector<Choice>& plan,
           std::map<std::string, int>& reasons) {
  std::map<std::int64_t, Resources> added;
  std::map<std::int64_t, std::set<std::int64_t>> deployments;
  std::map<std::int64_t, std::set<std::string>> keys;
  std::map<std::int64_t, const Node*> by_id;
  for (const auto& n : s.nodes) {
    by_id[n.id] = &n;
    deployments[n.id].insert(n.deployments.begin(), n.deployments.end());
    keys[n.id].insert(n.anti_affinity_keys.begin(), n.anti_affinity_keys.end());
  }
  bool ok = true;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const Request& r = s.requests[i];
    if (!plan[i].placed()) {
      ++reasons[plan[i].reason];
      if (plan[i].reason.empty()) ok = false;
      continue;
    }
    const Node& n = *by_id.at(plan[i].node_id);
    if (!n.schedulable || n.pool != r.pool) ok = false;
    if (!deployments[n.id].insert(r.deployment_id).second) ok = false;
    if (!r.anti_affinity_key.empty() &&
        !keys[n.id].insert(std::to_string(r.organization_id) + "/" + r.anti_affinity_key).second) {
      ok = false;
    }
    added[n.id].cpu_cores += r.need.cpu_cores;
    added[n.id].memory_mb += r.need.memory_mb;
    added[n.id].disk_gb += r.need.disk_gb;
  }
  int overcommitted = 0;
  for (const auto& n : s.nodes) {
    const Resources& a = added[n.id];
    if (n.reserved.cpu_cores + a.cpu_cores > n.capacity.cpu_cores + 1e-9 ||
        n.reserved.memory_mb + a.memory_mb > n.capacity.memory_mb + 1e-9 ||
        n.reserved.disk_gb + a.disk_gb > n.capacity.disk_gb + 1e-9) {
      ++overcommitted;
    }
  }
  std::printf("overcommitted nodes: %d; anti-affinity and pools: %s\n", overcommitted,
              ok ? "held" : "VIOLATED");
  return ok && overcommitted == 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 7;
  std::uint64_t seed = 14;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--runs") == 0) runs = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--seed") == 0) seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  const Scenario s = build(seed);
  const double n = static_cast<double>(s.requests.size());
  std::vector<double> core_place, core_total, naive, floor;
  std::vector<Choice> plan;
  std::vector<std::int64_t> naive_plan;
  std::size_t sink = 0;
  for (int run = 0; run < runs; ++run) {
    auto start = Clock::now();
    Cluster cluster(s.nodes);
    auto placing = Clock::now();
    plan = place_all(cluster, s.requests);
    core_place.push_back(seconds_since(placing));
    core_total.push_back(seconds_since(start));
    start = Clock::now();
    naive_plan = place_naively(s.nodes, s.requests);
    naive.push_back(seconds_since(start));
    start = Clock::now();
    sink += scan_floor(s.nodes, s.requests);
    floor.push_back(seconds_since(start));
  }
  std::size_t placed = 0, agree = 0;
  for (std::size_t i = 0; i < plan.size(); ++i) {
    placed += plan[i].placed() ? 1 : 0;
    agree += plan[i].node_id == naive_plan[i] ? 1 : 0;
  }
  const double core = median(core_place);
  std::printf("%zu requests (%d failed nodes x %d) onto %d nodes, %d runs, medians:\n\n",
              s.requests.size(), kFailed, kPerFailed, kHealthy, runs);
  std::printf("| run | time | placements/s | time ÷ core place_all |\n|---|---|---|---|\n");
  std::printf("| placement core: place_all | %.1f ms | %.0f | 1.00 |\n", core * 1e3, n / core);
  std::printf("| placement core: Cluster built + place_all | %.1f ms | %.0f | %.2f |\n",
              median(core_total) * 1e3, n / median(core_total), median(core_total) / core);
  std::printf("| naive: same rules over the Node structs | %.1f ms | %.0f | %.2f |\n",
              median(naive) * 1e3, n / median(naive), median(naive) / core);
  std::printf("| floor: one free-CPU read per candidate | %.1f ms | %.0f | %.2f |\n\n",
              median(floor) * 1e3, n / median(floor), median(floor) / core);
  std::printf(
      "placed %zu, unplaced %zu; the naive baseline chose the same node for %zu of %zu "
      "(floor sink %zu)\n",
      placed, plan.size() - placed, agree, plan.size(), sink % 7);
  std::map<std::string, int> reasons;
  const bool ok = check(s, plan, reasons);
  for (const auto& [reason, count] : reasons)
    std::printf("unplaced %d: %s\n", count, reason.c_str());
  return ok ? 0 : 1;
}
