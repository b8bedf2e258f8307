#include "core/cpus.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <thread>

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

std::string first_line(std::string text) {
  text.erase(std::find(text.begin(), text.end(), '\n'), text.end());
  return text;
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
  while (!cpu_max.empty() && (cpu_max.back() == '\n' || cpu_max.back() == ' ')) {
    cpu_max.remove_suffix(1);
  }
  const auto space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota = number(cpu_max.substr(0, space));  // "max" (no limit) is not a number
  const auto period = number(cpu_max.substr(space + 1));
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  const long long cpus = (*quota + *period - 1) / *period;
  return static_cast<int>(std::min<long long>(cpus, 1 << 20));
}

CgroupPaths cgroup_paths(std::string_view text) {
  CgroupPaths paths;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    // "hierarchy-id:controller,controller:path"; v2's line is "0::path".
    const auto first = line.find(':');
    if (first == std::string_view::npos) continue;
    const auto second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string path(line.substr(second + 1));
    if (line.substr(0, first) == "0" && controllers.empty()) {
      paths.unified = path;
      continue;
    }
    for (std::string_view rest = controllers; !rest.empty();) {
      const auto comma = rest.find(',');
      if (rest.substr(0, comma) == "cpu") paths.cpu_v1 = path;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
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
        cap(cpus_of_quota(first_line(read_text(base + "/cpu.cfs_quota_us")) + " " +
                          first_line(read_text(base + "/cpu.cfs_period_us"))));
      });
    }
  }
  return cpus > 0 ? cpus : 1;
}

}  // namespace fleet
