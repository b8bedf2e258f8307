#include "core/cpus.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <thread>

#include "core/strings.h"

namespace fleet {
namespace {

std::optional<long long> number(std::string_view text) {
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// "/a/b" -> "/a/b", "/a", "/": the cgroup and those above it (each may have a quota of its own).
template <typename Fn>
void for_each_ancestor(std::string path, Fn&& fn) {
  while (true) {
    fn(path == "/" ? std::string() : path);
    if (path.empty() || path == "/") return;
    const auto slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
}

}  // namespace

std::optional<int> cpus_of_quota(std::string_view cpu_max) {
  const auto fields = split(trim(cpu_max), ' ');
  if (fields.size() != 2) return std::nullopt;
  const auto quota = number(fields[0]);  // "max" (no limit) is not a number
  const auto period = number(fields[1]);
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  const long long cpus = (*quota + *period - 1) / *period;
  return static_cast<int>(std::min<long long>(cpus, 1 << 20));
}

CgroupPaths cgroup_paths(std::string_view text) {
  CgroupPaths paths;
  for (const std::string& line : split(text, '\n')) {
    // "hierarchy-id:controller,controller:path"; v2's line is "0::path". A path may hold ':'.
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      paths.unified = path;
      continue;
    }
    for (const std::string& controller : split(controllers, ',')) {
      if (controller == "cpu") paths.cpu_v1 = path;
    }
  }
  return paths;
}

int usable_cpus() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = static_cast<int>(std::thread::hardware_concurrency());
  auto cap = [&cpus](std::optional<int> quota) {
    if (quota && (cpus <= 0 || *quota < cpus)) cpus = *quota;
  };
  const CgroupPaths paths = cgroup_paths(read_text("/proc/self/cgroup"));
  if (!paths.unified.empty()) {
    for_each_ancestor(paths.unified, [&](const std::string& dir) {
      cap(cpus_of_quota(read_text("/sys/fs/cgroup" + dir + "/cpu.max")));
    });
  }
  if (!paths.cpu_v1.empty()) {
    // A container without its own cgroup namespace sees the host's path for its cgroup, mounted
    // at the hierarchy's root: the root is read too.
    for (const char* mount : {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"}) {
      for_each_ancestor(paths.cpu_v1, [&](const std::string& dir) {
        const std::string base = mount + dir;
        cap(cpus_of_quota(std::string(trim(read_text(base + "/cpu.cfs_quota_us"))) + " " +
                          std::string(trim(read_text(base + "/cpu.cfs_period_us")))));
      });
    }
  }
  return cpus > 0 ? cpus : 1;
}

}  // namespace fleet
