// Why a request fits nowhere: the first constraint, in filter order, that no node passes, in the
// words an operator reads ("no node has 4 GiB memory free in pool gpu").
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "placement/placement.h"
#include "units.h"

namespace fleet::placement {

namespace {

// Up to `decimals` decimals, trailing zeros dropped: 4 -> "4", 1.5 -> "1.5", 0.125 -> "0.125".
std::string number(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  std::string out = text;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0')
      out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

double whole(std::int64_t amount) {
  return static_cast<double>(amount) / units::kPerWhole;
}

std::string describe_cores(std::int64_t amount) {
  const std::string n = number(whole(amount), 3);
  return n + (n == "1" ? " core" : " cores");
}

// "a", "a and b", "a, b and c".
std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += i + 1 == parts.size() ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

bool contains(const std::vector<std::uint32_t>& list, std::uint32_t value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

std::string describe_memory_mb(double mb) {
  if (!std::isfinite(mb) || mb < 0)
    return "an invalid amount of memory (" + number(mb, 3) + " MiB)";
  const double gib = mb / 1024;
  // GiB only when exact to two decimals, so "4 GiB" never stands for 4097 MiB.
  if (mb >= 1024 && std::fabs(gib * 100 - std::round(gib * 100)) < 1e-9) {
    return number(gib, 2) + " GiB";
  }
  return number(mb, 3) + " MiB";
}

std::string Cluster::why_unplaced(const Request& request, const Amount& need) const {
  const std::string in_pool = " in pool " + request.pool;
  auto pool = pools_.find(request.pool);
  if (pool == pools_.end() || pool->second.empty()) return "no schedulable node" + in_pool;

  std::vector<std::uint32_t> open;
  std::vector<std::string> avoided;
  for (auto i : pool->second) {
    const auto id = nodes_[i].id;
    if (std::find(request.avoid.begin(), request.avoid.end(), id) == request.avoid.end()) {
      open.push_back(i);
    } else {
      avoided.push_back(std::to_string(id));
    }
  }
  if (open.empty()) {
    return "no schedulable node" + in_pool + " other than the avoided node" +
           (avoided.size() == 1 ? " " : "s ") + join(avoided);
  }

  // Room: per resource, does any open node have it free; does any have all of it at once.
  bool fits_somewhere[3] = {false, false, false};
  std::vector<std::uint32_t> roomy;
  for (auto i : open) {
    const Amount& room = free_[i];
    const bool fits[3] = {need.cpu == 0 || room.cpu >= need.cpu,
                          need.memory == 0 || room.memory >= need.memory,
                          need.disk == 0 || room.disk >= need.disk};
    for (int r = 0; r < 3; ++r)
      fits_somewhere[r] = fits_somewhere[r] || fits[r];
    if (fits[0] && fits[1] && fits[2]) roomy.push_back(i);
  }
  if (roomy.empty()) {
    const std::string words[3] = {describe_cores(need.cpu),
                                  describe_memory_mb(whole(need.memory)) + " memory",
                                  number(whole(need.disk), 3) + " GB disk"};
    const std::int64_t amounts[3] = {need.cpu, need.memory, need.disk};
    std::vector<std::string> nowhere, requested;
    for (int r = 0; r < 3; ++r) {
      if (amounts[r] == 0) continue;
      requested.push_back(words[r]);
      if (!fits_somewhere[r]) nowhere.push_back(words[r]);
    }
    if (!nowhere.empty()) return "no node has " + join(nowhere) + " free" + in_pool;
    return "no node has " + join(requested) + " free together" + in_pool;
  }

  // Every node with room is anti-affine (place() found none it could use).
  static const std::vector<std::uint32_t> kNoHosts;
  auto hosts_of = [](const auto& map, const auto& key) -> const std::vector<std::uint32_t>& {
    auto at = map.find(key);
    return at == map.end() ? kNoHosts : at->second;
  };
  const auto& replicas = hosts_of(hosts_, request.deployment_id);
  const auto& keyed = request.anti_affinity_key.empty()
                          ? kNoHosts
                          : hosts_of(key_hosts_, std::to_string(request.organization_id) + "/" +
                                                     request.anti_affinity_key);
  std::size_t by_replica = 0, by_key = 0;
  for (auto i : roomy) {
    if (contains(replicas, i)) {
      ++by_replica;
    } else if (contains(keyed, i)) {
      ++by_key;
    }
  }
  const std::string prefix = "every node with room" + in_pool + " already runs ";
  const std::string key_words = "a container with anti-affinity key \"" +
                                request.anti_affinity_key + "\" of this organisation";
  if (by_replica == roomy.size()) return prefix + "a replica of this deployment (anti-affinity)";
  if (by_key == roomy.size()) return prefix + key_words + " (anti-affinity)";
  if (by_replica + by_key == roomy.size()) {
    return prefix + "a replica of this deployment or " + key_words + " (anti-affinity)";
  }
  return "no feasible node" + in_pool;  // unreachable while place() and this agree
}

}  // namespace fleet::placement
