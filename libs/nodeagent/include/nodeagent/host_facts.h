// What a container host is and how loaded it is: parsers of /proc and /etc files (pure functions,
// fed fixture text by tests) and the collectors that read the real files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fleet::nodeagent {

// Cumulative CPU time from the aggregate "cpu" line of /proc/stat, in clock ticks.
struct CpuTimes {
  std::uint64_t busy = 0;   // everything but idle and iowait
  std::uint64_t total = 0;  // every column
};

// Parses /proc/stat. Fails (kDataLoss) naming what is missing or malformed.
Result<CpuTimes> parse_proc_stat(std::string_view text);
// The number of "cpuN" lines of /proc/stat (the online cores); 0 when none.
int count_cpu_lines(std::string_view text);
// Busy share of the time between two samples, 0..100; nullopt when no time passed between them
// (or the counters went backwards: a different boot).
std::optional<double> cpu_percent_between(const CpuTimes& earlier, const CpuTimes& later);

struct MemoryInfo {
  std::uint64_t total_kb = 0;
  std::uint64_t available_kb = 0;
};
// Parses /proc/meminfo (MemTotal and MemAvailable). Fails (kDataLoss) when either is missing,
// not a number, or available exceeds total.
Result<MemoryInfo> parse_meminfo(std::string_view text);
// Used share of memory, 0..100. REQUIRES: info.total_kb > 0 (parse_meminfo guarantees it).
double memory_percent(const MemoryInfo& info);

// PRETTY_NAME from /etc/os-release (quotes removed); NAME when it has none; "" when neither.
std::string parse_os_release(std::string_view text);

struct DiskUsage {
  std::uint64_t capacity_bytes = 0;
  double used_percent = 0;  // like df: used / (used + available to unprivileged users)
};
// statvfs of `path`. Fails (kUnavailable) naming the path.
Result<DiskUsage> disk_usage(const std::string& path);

// Where the collectors look. Tests point proc_root at a directory of fixture files.
struct HostPaths {
  std::string proc_root = "/proc";
  std::string etc_root = "/etc";
  std::string disk_path = "/";
  bool include_loopback = false;  // list 127.0.0.1 / ::1 among the addresses
  // Overrides for several agents on one host (the demo, tests): "" = gethostname() and
  // /etc/machine-id; machine_id "none" = send none (every registration is a new node).
  std::string hostname;
  std::string machine_id;
  // Registered instead of the discovered addresses when not empty (each node of a demo or a test
  // on its own loopback address).
  std::vector<std::string> addresses;
};

// What a host is, sent at registration.
struct HostFacts {
  std::string hostname;
  std::string machine_id;  // "" when /etc/machine-id is missing
  std::vector<std::string> addresses;
  int cpu_cores = 0;
  std::int64_t memory_mb = 0;
  std::int64_t disk_gb = 0;
  std::string os;
  std::string kernel;
};
// Reads every fact. Fails when /proc/stat, /proc/meminfo or the disk path cannot be read.
Result<HostFacts> collect_host_facts(const HostPaths& paths);

// The host's IP addresses (getifaddrs), IPv4 first; loopback only when asked.
std::vector<std::string> host_addresses(bool include_loopback);

// Load at one moment.
struct LoadSample {
  double cpu_percent = 0;
  double memory_percent = 0;
  double disk_percent = 0;
};

// Samples load. CPU percent is the busy share since the previous sample (the first call waits
// `first_gap_ms` between two readings). Not thread-safe.
class LoadSampler {
 public:
  explicit LoadSampler(HostPaths paths, int first_gap_ms = 250)
      : paths_(std::move(paths)), first_gap_ms_(first_gap_ms) {}
  Result<LoadSample> sample();

 private:
  HostPaths paths_;
  int first_gap_ms_;
  std::optional<CpuTimes> previous_;
  double last_cpu_ = 0;
};

// The whole file, or kUnavailable naming it. Files larger than `max_bytes` are refused.
Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes = 1 << 20);

}  // namespace fleet::nodeagent
