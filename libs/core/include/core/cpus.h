// How many CPUs this process may use, for sizing thread and connection pools.
#pragma once

#include <optional>
#include <string_view>

namespace fleet {

// The CPUs in this process's affinity mask (a container's --cpuset-cpus), capped by its cgroup v2
// CPU quota rounded up (/sys/fs/cgroup/cpu.max: a container's --cpus); at least 1.
int usable_cpus();

// The CPUs a cgroup v2 cpu.max line allows, rounded up: "200000 100000" -> 2, "150000 100000"
// -> 2, "50000 100000" -> 1; no limit ("max 100000") or a line that is not one -> nullopt.
std::optional<int> cpus_of_quota(std::string_view cpu_max);

}  // namespace fleet
