// What a node agent sends to the gateway (issue 13): its heartbeat, validated, and the gateway's
// settings for node traffic. Pure code: no database, no network (heartbeat_batcher.h writes).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace fleet::config {
class Config;
class Schema;
}  // namespace fleet::config

namespace fleet::gateway {

// A heartbeat is "over limit" when a resource is above its limit (shared with heartbeat-monitor).
struct NodeLimits {
  double cpu_percent = 90;
  double memory_percent = 95;
  double disk_percent = 90;
};

struct NodeIngestOptions {
  NodeLimits limits;
  // A heartbeat later than this after the previous one starts a new streak (streak_since).
  std::chrono::seconds gap{75};
  // Told to agents at registration and in every heartbeat reply.
  std::chrono::seconds heartbeat_interval{30};
  std::chrono::seconds command_poll{5};
  // History rows (readings) per node at most this often; every heartbeat updates nodes and
  // metrics_latest. 10,000 nodes x 5 metrics every heartbeat would be 50,000 rows/s.
  std::chrono::seconds readings_min_interval{60};
  // How far ahead of the gateway's clock an agent's sent_at may be before it is replaced by the
  // gateway's time (and logged): a wrong agent clock must not stop its heartbeats.
  std::chrono::seconds max_clock_skew{60};
  int writers = 2;                 // batch-writing threads, each with its own connection
  std::size_t max_batch = 2'000;   // heartbeats per transaction at most
  std::size_t max_queue = 50'000;  // waiting heartbeats at most; more are answered 503
};

void declare_node_config(config::Schema& schema);
NodeIngestOptions node_options_from(const config::Config& config);

// One validated heartbeat (POST /api/nodes/{id}/heartbeat).
struct Heartbeat {
  std::int64_t worker_id = 0;
  std::int64_t seq = 0;
  std::string sent_at;  // RFC 3339 UTC as stored (the gateway's time when the agent's was ahead)
  double cpu_percent = 0;
  double memory_percent = 0;
  double disk_percent = 0;
  std::int64_t containers = 0;
  std::int64_t containers_running = 0;
  std::string container_list;  // JSON array, validated
  bool clock_ahead = false;    // sent_at was beyond max_clock_skew and was replaced
};

// Parses and validates a heartbeat body; throws ApiError 400 naming the first bad field. `now` is
// the gateway's wall time.
Heartbeat parse_heartbeat(std::string_view body, std::int64_t worker_id, Clock::WallTime now,
                          std::chrono::seconds max_clock_skew);

// The limits a heartbeat breaks: "cpu_percent", "memory_percent", "disk_percent".
std::vector<std::string> limits_broken(const Heartbeat& heartbeat, const NodeLimits& limits);

// RFC 3339 in UTC ("2026-12-04T08:00:00Z", optional fraction, "Z" or "+00:00"); nullopt when
// malformed or not UTC.
std::optional<Clock::WallTime> parse_utc_timestamp(std::string_view text);
std::string format_utc_timestamp(Clock::WallTime time);

}  // namespace fleet::gateway
