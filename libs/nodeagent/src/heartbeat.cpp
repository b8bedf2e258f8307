#include "nodeagent/heartbeat.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include <nlohmann/json.hpp>

namespace fleet::nodeagent {
namespace {

double percent(double v) {
  if (!std::isfinite(v)) return 0;
  return std::round(std::clamp(v, 0.0, 100.0) * 100.0) / 100.0;
}

}  // namespace

std::string format_rfc3339_utc(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string heartbeat_body(const HeartbeatState& s) {
  using nlohmann::json;
  json list = json::array();
  std::int64_t running = 0;
  for (const auto& c : s.containers) {
    if (c.state == "running") ++running;
    if (list.size() >= kMaxContainerList) continue;
    json labels = json::object();
    for (const auto& [k, v] : c.labels)
      labels[k] = v;
    json ports = json::array();
    for (const auto& p : c.ports) {
      json port = {{"container_port", p.container_port},
                   {"host_port", p.host_port},
                   {"protocol", p.protocol}};
      if (!p.host_ip.empty()) port["host_ip"] = p.host_ip;
      ports.push_back(std::move(port));
    }
    list.push_back({{"id", c.id},
                    {"name", c.name},
                    {"image", c.image},
                    {"state", c.state},
                    {"status", c.status},
                    {"labels", labels},
                    {"ports", ports}});
  }
  json body = {{"seq", s.seq},
               {"sent_at", format_rfc3339_utc(s.sent_at)},
               {"cpu_percent", percent(s.load.cpu_percent)},
               {"memory_percent", percent(s.load.memory_percent)},
               {"disk_percent", percent(s.load.disk_percent)},
               {"containers", static_cast<std::int64_t>(s.containers.size())},
               {"containers_running", running},
               {"container_list", list}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::chrono::milliseconds jittered_interval(std::chrono::milliseconds base, double unit_random) {
  const double u = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(
      static_cast<std::int64_t>(std::llround(static_cast<double>(base.count()) * (0.9 + 0.2 * u))));
}

BackoffPolicy send_retry_policy(std::chrono::milliseconds heartbeat_interval) {
  BackoffPolicy p;
  p.initial = std::min<std::chrono::milliseconds>(std::chrono::seconds(1), heartbeat_interval);
  p.max = heartbeat_interval;
  p.multiplier = 2.0;
  p.jitter = 0.5;
  return p;
}

void HeartbeatBuffer::offer(HeartbeatState state) {
  if (pending_) ++replaced_;
  pending_ = std::move(state);
}

void HeartbeatBuffer::sent(std::int64_t seq) {
  if (pending_ && pending_->seq == seq) pending_.reset();
}

}  // namespace fleet::nodeagent
