// How many CPUs this process may use, for sizing thread and connection pools.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fleet {

// The CPUs in this process's affinity mask (a container's --cpuset-cpus), capped by the CPU quota
// of its cgroup and the cgroups above it, rounded up (a container's --cpus, a systemd unit's
// CPUQuota=; cgroup v2 cpu.max or v1 cpu.cfs_quota_us); at least 1.
int usable_cpus();

// The CPUs a cgroup v2 cpu.max line allows, rounded up: "200000 100000" -> 2, "150000 100000"
// -> 2, "50000 100000" -> 1; no limit ("max 100000", or v1's "-1 100000") or a line that is not
// one -> nullopt.
std::optional<int> cpus_of_quota(std::string_view cpu_max);

// This process's cgroups as /proc/self/cgroup names them: the v2 (unified) path and the path in
// the v1 hierarchy that has the "cpu" controller; empty when there is none.
struct CgroupPaths {
  std::string unified;
  std::string cpu_v1;
};
CgroupPaths cgroup_paths(std::string_view proc_self_cgroup);

}  // namespace fleet
