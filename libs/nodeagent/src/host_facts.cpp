#include "nodeagent/host_facts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/strings.h"

namespace fleet::nodeagent {
namespace {

Error data_loss(std::string m) {
  return {ErrorKind::kDataLoss, std::move(m)};
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t')
      ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    fn(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace

Result<CpuTimes> parse_proc_stat(std::string_view text) {
  std::optional<Result<CpuTimes>> found;
  for_each_line(text, [&](std::string_view line) {
    if (found) return;
    auto f = fields(line);
    if (f.empty() || f[0] != "cpu") return;
    // user nice system idle iowait irq softirq steal [guest guest_nice]: at least idle is needed.
    if (f.size() < 5) {
      found = Result<CpuTimes>(data_loss("/proc/stat: the cpu line has fewer than 4 counters"));
      return;
    }
    CpuTimes t;
    // guest and guest_nice (columns 9 and 10) are already counted in user and nice.
    const std::size_t last = std::min<std::size_t>(f.size(), 9);
    for (std::size_t i = 1; i < last; ++i) {
      std::uint64_t v = 0;
      if (!parse_u64(f[i], v)) {
        found = Result<CpuTimes>(
            data_loss("/proc/stat: cpu counter " + std::to_string(i) + " is not a number"));
        return;
      }
      t.total += v;
      if (i != 4 && i != 5) t.busy += v;  // idle, iowait
    }
    found = Result<CpuTimes>(t);
  });
  if (!found) return data_loss("/proc/stat: no aggregate 'cpu' line");
  return *found;
}

int count_cpu_lines(std::string_view text) {
  int n = 0;
  for_each_line(text, [&](std::string_view line) {
    if (line.size() > 3 && line.substr(0, 3) == "cpu" && line[3] >= '0' && line[3] <= '9') ++n;
  });
  return n;
}

std::optional<double> cpu_percent_between(const CpuTimes& earlier, const CpuTimes& later) {
  if (later.total <= earlier.total || later.busy < earlier.busy) return std::nullopt;
  const double busy = static_cast<double>(later.busy - earlier.busy);
  const double total = static_cast<double>(later.total - earlier.total);
  return std::clamp(100.0 * busy / total, 0.0, 100.0);
}

Result<MemoryInfo> parse_meminfo(std::string_view text) {
  std::optional<std::uint64_t> total, available;
  std::optional<std::string> bad;
  for_each_line(text, [&](std::string_view line) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return;
    auto key = line.substr(0, colon);
    if (key != "MemTotal" && key != "MemAvailable") return;
    auto f = fields(line.substr(colon + 1));
    std::uint64_t v = 0;
    if (f.empty() || !parse_u64(f[0], v)) {
      if (!bad) bad = std::string(key);
      return;
    }
    (key == "MemTotal" ? total : available) = v;
  });
  if (bad) return data_loss("/proc/meminfo: " + *bad + " is not a number");
  if (!total) return data_loss("/proc/meminfo: no MemTotal");
  if (!available) return data_loss("/proc/meminfo: no MemAvailable");
  if (*total == 0) return data_loss("/proc/meminfo: MemTotal is 0");
  if (*available > *total) return data_loss("/proc/meminfo: MemAvailable exceeds MemTotal");
  return MemoryInfo{.total_kb = *total, .available_kb = *available};
}

double memory_percent(const MemoryInfo& info) {
  return 100.0 * static_cast<double>(info.total_kb - info.available_kb) /
         static_cast<double>(info.total_kb);
}

std::string parse_os_release(std::string_view text) {
  std::string pretty, name;
  for_each_line(text, [&](std::string_view line) {
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return;
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    if (key == "PRETTY_NAME") pretty = std::string(value);
    if (key == "NAME") name = std::string(value);
  });
  return sanitize_utf8(pretty.empty() ? name : pretty);
}

Result<DiskUsage> disk_usage(const std::string& path) {
  struct statvfs s {};
  if (statvfs(path.c_str(), &s) != 0) {
    return Error::unavailable("cannot statvfs disk_path '" + path + "'");
  }
  const double unit = static_cast<double>(s.f_frsize);
  const double used = static_cast<double>(s.f_blocks - s.f_bfree) * unit;
  const double avail = static_cast<double>(s.f_bavail) * unit;
  DiskUsage d;
  d.capacity_bytes = static_cast<std::uint64_t>(s.f_blocks) * s.f_frsize;
  d.used_percent = used + avail > 0 ? std::clamp(100.0 * used / (used + avail), 0.0, 100.0) : 0.0;
  return d;
}

Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::unavailable("cannot read " + path);
  std::string text;
  char buf[8192];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) return Error::unavailable(path + " is larger than expected");
  }
  return text;
}

std::vector<std::string> host_addresses(bool include_loopback) {
  std::vector<std::string> v4, v6;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  for (ifaddrs* a = list; a != nullptr; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || (a->ifa_flags & IFF_UP) == 0) continue;
    if (!include_loopback && (a->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char text[INET6_ADDRSTRLEN] = {0};
    if (a->ifa_addr->sa_family == AF_INET) {
      sockaddr_in in4{};
      std::memcpy(&in4, a->ifa_addr, sizeof in4);
      inet_ntop(AF_INET, &in4.sin_addr, text, sizeof text);
      v4.emplace_back(text);
    } else if (a->ifa_addr->sa_family == AF_INET6) {
      sockaddr_in6 in6{};
      std::memcpy(&in6, a->ifa_addr, sizeof in6);
      if (IN6_IS_ADDR_LINKLOCAL(&in6.sin6_addr)) continue;  // needs a zone to be usable
      inet_ntop(AF_INET6, &in6.sin6_addr, text, sizeof text);
      v6.emplace_back(text);
    }
  }
  freeifaddrs(list);
  for (auto& a : v6)
    v4.push_back(std::move(a));
  v4.erase(std::unique(v4.begin(), v4.end()), v4.end());
  return v4;
}

Result<HostFacts> collect_host_facts(const HostPaths& paths) {
  HostFacts f;
  auto stat = read_small_file(paths.proc_root + "/stat");
  if (!stat.ok()) return stat.error();
  if (auto t = parse_proc_stat(*stat); !t.ok()) return t.error();
  f.cpu_cores = count_cpu_lines(*stat);
  if (f.cpu_cores == 0) f.cpu_cores = static_cast<int>(std::thread::hardware_concurrency());
  auto meminfo = read_small_file(paths.proc_root + "/meminfo");
  if (!meminfo.ok()) return meminfo.error();
  auto mem = parse_meminfo(*meminfo);
  if (!mem.ok()) return mem.error();
  f.memory_mb = static_cast<std::int64_t>(mem->total_kb / 1024);
  auto disk = disk_usage(paths.disk_path);
  if (!disk.ok()) return disk.error();
  f.disk_gb = static_cast<std::int64_t>(disk->capacity_bytes / (1024ull * 1024 * 1024));

  char host[256] = {0};
  if (!paths.hostname.empty()) {
    f.hostname = paths.hostname;
  } else if (gethostname(host, sizeof host - 1) == 0) {
    f.hostname = sanitize_utf8(host);
  }
  if (!paths.machine_id.empty()) {
    if (paths.machine_id != "none") f.machine_id = paths.machine_id;
  } else if (auto id = read_small_file(paths.etc_root + "/machine-id", 4096); id.ok()) {
    f.machine_id = std::string(trim(*id));
  }
  if (auto os = read_small_file(paths.etc_root + "/os-release"); os.ok()) {
    f.os = parse_os_release(*os);
  }
  utsname u{};
  if (uname(&u) == 0) f.kernel = std::string(u.sysname) + " " + u.release;
  f.addresses = paths.addresses.empty() ? host_addresses(paths.include_loopback) : paths.addresses;
  return f;
}

Result<LoadSample> LoadSampler::sample() {
  auto read_cpu = [&]() -> Result<CpuTimes> {
    auto text = read_small_file(paths_.proc_root + "/stat");
    if (!text.ok()) return text.error();
    return parse_proc_stat(*text);
  };
  auto now = read_cpu();
  if (!now.ok()) return now.error();
  if (!previous_) {
    previous_ = *now;
    std::this_thread::sleep_for(std::chrono::milliseconds(first_gap_ms_));
    now = read_cpu();
    if (!now.ok()) return now.error();
  }
  if (auto pct = cpu_percent_between(*previous_, *now)) last_cpu_ = *pct;
  previous_ = *now;

  auto meminfo = read_small_file(paths_.proc_root + "/meminfo");
  if (!meminfo.ok()) return meminfo.error();
  auto mem = parse_meminfo(*meminfo);
  if (!mem.ok()) return mem.error();
  auto disk = disk_usage(paths_.disk_path);
  if (!disk.ok()) return disk.error();
  return LoadSample{.cpu_percent = last_cpu_,
                    .memory_percent = memory_percent(*mem),
                    .disk_percent = disk->used_percent};
}

}  // namespace fleet::nodeagent
