// Properties of the placement core over random clusters generated from fixed seeds
// (std::mt19937_64): the test keeps its own model of the cluster and finds the feasible nodes by
// brute force before every placement, then checks what the core chose against it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "placement/placement.h"

using namespace fleet::placement;

namespace {

constexpr double kEpsilon = 1e-9;

struct World {
  std::vector<Node> nodes;
  std::vector<Request> requests;
};

std::string key_of(std::int64_t deployment) {
  return deployment % 4 == 0 ? "k1" : deployment % 4 == 1 ? "k2" : "";
}
std::int64_t org_of(std::int64_t deployment) {
  return deployment % 3 + 1;
}

// Small value sets make exact ties (equal loads, equal sites) common; cpu in tenths exercises
// binary fractions (0.1 + 0.2 != 0.3 in doubles).
World generate(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  auto chance = [&pick](int percent) { return pick(1, 100) <= percent; };
  const std::vector<std::string> pools = {"default", "default", "default", "gpu"};
  const std::vector<std::string> sites = {"", "a", "b", "c"};
  const std::vector<double> cpus = {0, 1, 2, 4, 8}, memories = {0, 1024, 4096, 8192},
                            disks = {0, 10, 50}, loads = {0, 10, 20, 50};

  World world;
  std::vector<std::int64_t> ids(200);
  for (std::size_t i = 0; i < ids.size(); ++i)
    ids[i] = static_cast<std::int64_t>(i) + 1;
  std::shuffle(ids.begin(), ids.end(), rng);
  const int node_count = pick(1, 40);
  for (int i = 0; i < node_count; ++i) {
    Node n;
    n.id = ids[static_cast<std::size_t>(i)];
    n.pool = pools[static_cast<std::size_t>(pick(0, 3))];
    n.site = sites[static_cast<std::size_t>(pick(0, 3))];
    n.schedulable = chance(85);
    n.capacity = {cpus[static_cast<std::size_t>(pick(chance(10) ? 0 : 1, 4))],
                  memories[static_cast<std::size_t>(pick(chance(10) ? 0 : 1, 3))],
                  disks[static_cast<std::size_t>(pick(chance(10) ? 0 : 1, 2))]};
    n.reserved = {pick(0, static_cast<int>(n.capacity.cpu_cores * 10)) * 0.1,
                  pick(0, static_cast<int>(n.capacity.memory_mb / 256)) * 256.0,
                  static_cast<double>(pick(0, static_cast<int>(n.capacity.disk_gb)))};
    auto load = [&] {
      return chance(20) ? std::uniform_real_distribution<double>(0, 100)(rng)
                        : loads[static_cast<std::size_t>(pick(0, 3))];
    };
    n.cpu_percent = load();
    n.memory_percent = load();
    n.disk_percent = load();
    for (std::int64_t d = 1; d <= 8; ++d) {
      if (!chance(15)) continue;
      n.deployments.push_back(d);
      if (!key_of(d).empty())
        n.anti_affinity_keys.push_back(std::to_string(org_of(d)) + "/" + key_of(d));
    }
    world.nodes.push_back(std::move(n));
  }
  const int request_count = pick(0, 120);
  const std::vector<double> request_memories = {0, 256, 512, 1024, 3000};
  for (int i = 0; i < request_count; ++i) {
    Request r;
    r.deployment_id = pick(1, 8);
    r.replica = i;
    r.organization_id = org_of(r.deployment_id);
    r.anti_affinity_key = key_of(r.deployment_id);
    r.pool = chance(85) ? "default" : "gpu";
    r.need = {pick(0, 30) * 0.1, request_memories[static_cast<std::size_t>(pick(0, 4))],
              static_cast<double>(pick(0, 5))};
    for (int a = pick(0, 2); a > 0; --a)
      r.avoid.push_back(pick(1, 220));
    world.requests.push_back(std::move(r));
  }
  return world;
}

// The test's own view of the cluster: plain doubles, no indexes.
struct Model {
  explicit Model(const std::vector<Node>& given) : nodes(given), placed(given.size()) {
    for (const auto& n : nodes) {
      running.emplace_back(n.deployments.begin(), n.deployments.end());
      keys.emplace_back(n.anti_affinity_keys.begin(), n.anti_affinity_keys.end());
    }
  }

  static bool fits(double reserved, double placed_here, double capacity, double need) {
    return need == 0 || reserved + placed_here + need <= capacity + kEpsilon;
  }

  bool feasible(std::size_t i, const Request& r) const {
    const Node& n = nodes[i];
    const std::string key = r.anti_affinity_key.empty()
                                ? ""
                                : std::to_string(r.organization_id) + "/" + r.anti_affinity_key;
    return n.schedulable && n.pool == r.pool &&
           std::find(r.avoid.begin(), r.avoid.end(), n.id) == r.avoid.end() &&
           fits(n.reserved.cpu_cores, placed[i].cpu_cores, n.capacity.cpu_cores,
                r.need.cpu_cores) &&
           fits(n.reserved.memory_mb, placed[i].memory_mb, n.capacity.memory_mb,
                r.need.memory_mb) &&
           fits(n.reserved.disk_gb, placed[i].disk_gb, n.capacity.disk_gb, r.need.disk_gb) &&
           running[i].count(r.deployment_id) == 0 && (key.empty() || keys[i].count(key) == 0);
  }

  // (CPU + memory + disk) / 3 of observed percent plus this plan's placements in percent.
  double score(std::size_t i) const {
    const Node& n = nodes[i];
    auto term = [](double observed, double added, double capacity) {
      return observed + (capacity > 0 ? added / capacity * 100 : 0);
    };
    return (term(n.cpu_percent, placed[i].cpu_cores, n.capacity.cpu_cores) +
            term(n.memory_percent, placed[i].memory_mb, n.capacity.memory_mb) +
            term(n.disk_percent, placed[i].disk_gb, n.capacity.disk_gb)) /
           3;
  }

  int site_replicas(std::size_t i, std::int64_t deployment) const {
    int count = 0;
    for (std::size_t j = 0; j < nodes.size(); ++j) {
      const bool same_site = nodes[i].site.empty() ? i == j : nodes[j].site == nodes[i].site;
      if (same_site) count += static_cast<int>(running[j].count(deployment));
    }
    return count;
  }

  void add(std::size_t i, const Request& r) {
    placed[i].cpu_cores += r.need.cpu_cores;
    placed[i].memory_mb += r.need.memory_mb;
    placed[i].disk_gb += r.need.disk_gb;
    running[i].insert(r.deployment_id);
    if (!r.anti_affinity_key.empty()) {
      keys[i].insert(std::to_string(r.organization_id) + "/" + r.anti_affinity_key);
    }
  }

  std::size_t index_of(std::int64_t id) const {
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].id == id) return i;
    }
    return nodes.size();
  }

  std::vector<Node> nodes;
  std::vector<Resources> placed;
  std::vector<std::multiset<std::int64_t>> running;
  std::vector<std::multiset<std::string>> keys;
};

std::vector<std::uint64_t> seeds() {
  std::vector<std::uint64_t> out;
  for (std::uint64_t s = 1; s <= 400; ++s)
    out.push_back(s * 0x9E3779B97F4A7C15ULL);
  return out;
}

bool same(const std::vector<Choice>& a, const std::vector<Choice>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].node_id != b[i].node_id || a[i].score != b[i].score || a[i].reason != b[i].reason) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("placement property: every placement is the best feasible node, by brute force",
          "[placement][property]") {
  int placed = 0, unplaced = 0, ties = 0, by_site = 0;
  for (auto seed : seeds()) {
    const World world = generate(seed);
    Cluster cluster(world.nodes);
    Model model(world.nodes);
    for (const auto& r : world.requests) {
      INFO("seed " << seed << " deployment " << r.deployment_id << " replica " << r.replica);
      std::vector<std::size_t> feasible;
      std::map<std::size_t, double> load;
      for (std::size_t i = 0; i < model.nodes.size(); ++i) {
        if (!model.feasible(i, r)) continue;
        feasible.push_back(i);
        load[i] = cluster.projected_load(model.nodes[i].id);
        REQUIRE(std::fabs(load[i] - model.score(i)) < kEpsilon);
      }
      const Choice choice = cluster.place(r);
      if (feasible.empty()) {
        // Unplaced only when nothing is feasible, and then with a reason naming the pool.
        REQUIRE_FALSE(choice.placed());
        REQUIRE_THAT(choice.reason, Catch::Matchers::Contains("pool " + r.pool));
        ++unplaced;
        continue;
      }
      REQUIRE(choice.placed());
      REQUIRE(choice.reason.empty());
      const std::size_t chosen = model.index_of(choice.node_id);
      REQUIRE(std::find(feasible.begin(), feasible.end(), chosen) != feasible.end());
      REQUIRE(choice.score == load[chosen]);
      for (auto other : feasible) {
        REQUIRE(load[chosen] <= load[other]);
        REQUIRE(model.score(chosen) <= model.score(other) + kEpsilon);
        if (other == chosen || load[other] != load[chosen]) continue;
        ++ties;
        const int mine = model.site_replicas(chosen, r.deployment_id);
        const int theirs = model.site_replicas(other, r.deployment_id);
        REQUIRE(mine <= theirs);
        if (mine < theirs) ++by_site;
        if (mine == theirs) REQUIRE(model.nodes[chosen].id < model.nodes[other].id);
      }
      model.add(chosen, r);
      ++placed;
    }
  }
  // The generator exercises every branch: placements, refusals and exact ties.
  CHECK(placed > 1000);
  CHECK(unplaced > 1000);
  CHECK(ties > 100);
  CHECK(by_site > 10);
}

TEST_CASE("placement property: no overcommit and no two anti-affine containers on a node",
          "[placement][property]") {
  for (auto seed : seeds()) {
    INFO("seed " << seed);
    const World world = generate(seed);
    Cluster cluster(world.nodes);
    const auto choices = place_all(cluster, world.requests);
    std::map<std::int64_t, Resources> placed;
    std::map<std::int64_t, std::multiset<std::int64_t>> deployments;
    std::map<std::int64_t, std::multiset<std::string>> keys;
    for (const auto& n : world.nodes) {
      deployments[n.id].insert(n.deployments.begin(), n.deployments.end());
      keys[n.id].insert(n.anti_affinity_keys.begin(), n.anti_affinity_keys.end());
    }
    for (std::size_t i = 0; i < choices.size(); ++i) {
      if (!choices[i].placed()) continue;
      const Request& r = world.requests[i];
      Resources& p = placed[choices[i].node_id];
      p.cpu_cores += r.need.cpu_cores;
      p.memory_mb += r.need.memory_mb;
      p.disk_gb += r.need.disk_gb;
      REQUIRE(deployments[choices[i].node_id].count(r.deployment_id) == 0);
      deployments[choices[i].node_id].insert(r.deployment_id);
      if (r.anti_affinity_key.empty()) continue;
      const std::string key = std::to_string(r.organization_id) + "/" + r.anti_affinity_key;
      REQUIRE(keys[choices[i].node_id].count(key) == 0);
      keys[choices[i].node_id].insert(key);
    }
    for (const auto& n : world.nodes) {
      const Resources& p = placed[n.id];
      if (p.cpu_cores > 0)
        REQUIRE(n.reserved.cpu_cores + p.cpu_cores <= n.capacity.cpu_cores + kEpsilon);
      if (p.memory_mb > 0)
        REQUIRE(n.reserved.memory_mb + p.memory_mb <= n.capacity.memory_mb + kEpsilon);
      if (p.disk_gb > 0) REQUIRE(n.reserved.disk_gb + p.disk_gb <= n.capacity.disk_gb + kEpsilon);
    }
  }
}

TEST_CASE("placement property: the same input gives the same plan, whatever the node order",
          "[placement][property]") {
  for (auto seed : seeds()) {
    INFO("seed " << seed);
    const World world = generate(seed);
    Cluster first(world.nodes), again(world.nodes);
    const auto plan = place_all(first, world.requests);
    REQUIRE(same(plan, place_all(again, world.requests)));
    std::vector<Node> shuffled = world.nodes;
    std::mt19937_64 rng(seed + 1);
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    Cluster reordered(shuffled);
    REQUIRE(same(plan, place_all(reordered, world.requests)));
  }
}

TEST_CASE("placement property: releasing every placement restores the cluster exactly",
          "[placement][property]") {
  for (auto seed : seeds()) {
    INFO("seed " << seed);
    const World world = generate(seed);
    Cluster cluster(world.nodes);
    std::vector<double> before;
    for (const auto& n : world.nodes)
      before.push_back(cluster.projected_load(n.id));
    const auto plan = place_all(cluster, world.requests);
    for (std::size_t i = plan.size(); i-- > 0;) {
      if (plan[i].placed()) cluster.release(plan[i].node_id, world.requests[i]);
    }
    for (std::size_t i = 0; i < world.nodes.size(); ++i) {
      REQUIRE(cluster.projected_load(world.nodes[i].id) == before[i]);
    }
    REQUIRE(same(plan, place_all(cluster, world.requests)));
  }
}
