// The placement core (issue 14): where a container goes. Plain functions over plain data: no I/O,
// no clock, no randomness, so the planner, its benchmark and its property tests all run the same
// code and the same input always gives the same plan.
//
// Filter, then score (kube-scheduler's shape):
//   filter  - the node is schedulable (the caller decides: online, not draining, its site not
//   held),
//             in the request's pool, not in `avoid`, has room for the request after everything
//             already reserved on it (placements from earlier plans and from this one: never
//             overcommitted), and runs no replica of the same deployment and nothing with the same
//             anti-affinity key (keys are compared within one organisation).
//   score   - the node's projected average load, lowest wins (seed 002: (CPU + memory + disk) / 3):
//             each resource's observed percent plus what this Cluster has placed on the node since
//             it was built, as a percent of capacity (so one plan spreads instead of filling the
//             least loaded node first). A resource with zero capacity contributes its observed
//             percent.
//   ties    - fewer replicas of the same deployment in the node's site (spread across sites), then
//             the lower node id.
// A request that fits nowhere gets a reason naming the binding constraint, e.g.
// "no node has 4 GiB memory free in pool gpu" or "no schedulable node in pool gpu".
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace fleet::placement {

struct Resources {
  double cpu_cores = 0;
  double memory_mb = 0;
  double disk_gb = 0;
};

// One node as the planner sees it at the start of a plan.
struct Node {
  std::int64_t id = 0;
  std::string site;  // "" = no site
  std::string pool = "default";
  bool schedulable = true;
  Resources capacity;
  Resources reserved;  // requests of placements already on it (not removed)
  double cpu_percent = 0, memory_percent = 0, disk_percent = 0;  // observed load, 0..100
  // What already runs there (for anti-affinity): deployment ids and "<org id>/<key>" keys.
  std::vector<std::int64_t> deployments;
  std::vector<std::string> anti_affinity_keys;
};

// One replica to place.
struct Request {
  std::int64_t deployment_id = 0;
  int replica = 0;
  std::int64_t organization_id = 0;
  std::string pool = "default";
  Resources need;
  std::string anti_affinity_key;    // "" = none (replicas are spread regardless)
  std::vector<std::int64_t> avoid;  // nodes never to use (the failed node, earlier failures)
};

struct Choice {
  std::int64_t node_id = 0;  // 0 = not placed
  double score = 0;          // the chosen node's projected load before this placement
  std::string reason;        // why nothing fits (empty when placed)
  bool placed() const { return node_id != 0; }
};

// The cluster during one plan: placing a request reserves it on the chosen node, so the next
// request sees it.
class Cluster {
 public:
  explicit Cluster(std::vector<Node> nodes);

  // Places one request (filter, score, reserve). Deterministic.
  Choice place(const Request& request);

  // Forgets a reservation made by place() (a start that failed before anything ran).
  void release(std::int64_t node_id, const Request& request);

  const std::vector<Node>& nodes() const;
  // The node's projected average load (the score place() compares), or -1 for an unknown id.
  double projected_load(std::int64_t node_id) const;

 private:
  // Fixed-point amounts: thousandths of a core, of a MB, of a GB. Sums are exact, so release()
  // undoes place() exactly and 0.1 + 0.2 cores fit a 0.3-core node.
  struct Amount {
    std::int64_t cpu = 0, memory = 0, disk = 0;
  };
  static constexpr std::uint32_t kNone = UINT32_MAX;

  double load_of(std::uint32_t node) const;
  int site_replicas(std::uint32_t node, std::int64_t deployment_id) const;
  bool better(std::uint32_t candidate, std::uint32_t best, std::int64_t deployment_id) const;
  void reserve(std::uint32_t node, const Request& request, const Amount& need,
               const std::string& key);
  std::string why_unplaced(const Request& request, const Amount& need) const;  // reasons.cpp

  // Constant after construction (one entry per node, in the order given).
  std::vector<Node> nodes_;                              // as given; never updated
  std::vector<double> observed_;                         // cpu + memory + disk percent
  std::vector<std::array<double, 3>> percent_per_unit_;  // 100 / capacity, 0 when none
  std::vector<int> site_;  // interned site; -1 = none (a site of its own)
  // Schedulable nodes with a usable id (> 0, the first node given with it), by pool.
  std::unordered_map<std::string, std::vector<std::uint32_t>> pools_;
  std::unordered_map<std::int64_t, std::uint32_t> position_;  // id -> index (first occurrence)

  // Changed by place() and release().
  std::vector<Amount> free_;     // capacity - reserved - planned (may be negative if given so)
  std::vector<Amount> planned_;  // placed by this Cluster
  std::vector<double> load_;     // load_of(), cached: only the chosen node's changes
  std::unordered_map<std::int64_t, std::vector<std::uint32_t>> hosts_;     // deployment -> nodes
  std::unordered_map<std::string, std::vector<std::uint32_t>> key_hosts_;  // "<org>/<key>" -> nodes
  std::unordered_map<std::int64_t, std::vector<std::uint32_t>> placed_;    // by this Cluster
  std::vector<std::uint64_t> excluded_;  // == stamp_: avoided or anti-affine for this request
  std::uint64_t stamp_ = 0;
};

// Places requests in the given order; result[i] belongs to requests[i].
std::vector<Choice> place_all(Cluster& cluster, const std::vector<Request>& requests);

// "4 GiB", "512 MiB", "1.5 cores", "20 GB disk": the words a reason uses.
std::string describe_memory_mb(double mb);

}  // namespace fleet::placement
