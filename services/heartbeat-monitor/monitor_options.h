// heartbeat-monitor's settings (the `monitor.*` configuration keys,
// docs/services/heartbeat-monitor.md).
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace fleet::config {
class Schema;
class Config;
}  // namespace fleet::config

namespace fleet::heartbeat {

using std::chrono::milliseconds;

struct MonitorOptions {
  // Silence after which a worker is offline, per kind (devices: a multiple of their own
  // devices.expected_interval).
  milliseconds node_timeout{std::chrono::seconds(120)};  // seed 002: 2 minutes
  milliseconds asic_timeout{std::chrono::minutes(10)};   // a backstop: status-poller acts first
  milliseconds rig_timeout{std::chrono::minutes(5)};
  double device_timeout_factor = 2;  // × devices.expected_interval (seed 001)
  // A node is unhealthy after this many consecutive heartbeats over a limit.
  int unhealthy_after = 3;
  // Back for this long before a worker counts as recovered (DESIGN §6 flap damping)...
  milliseconds recovery_hold{std::chrono::seconds(60)};
  // ...or for flap_hold when it changed status more than flap_changes times within flap_window.
  int flap_changes = 4;
  milliseconds flap_window{std::chrono::minutes(15)};
  milliseconds flap_hold{std::chrono::minutes(5)};
  // Partition protection: more than this share of a site's workers silent in one cycle, and at
  // least partition_min_workers of them, hold the site instead of marking them offline.
  double partition_share = 0.5;
  int partition_min_workers = 3;
  // Heartbeats are spread over an interval, so the workers of a cut-off site pass their timeout
  // in different cycles. A worker silent for more than this share of its timeout already counts
  // towards its site's partition (it is "quiet"): when the first of them times out, the others
  // are quiet, and the site is held at once instead of losing one third per cycle to 'offline'.
  double partition_quiet_share = 0.5;
  // Kinds whose offline / unhealthy / recovered transitions are notified (site holds always are).
  std::vector<std::string> notify_kinds{"node"};
  // The node limits the gateway's ingest applies (gateway nodes.limits.*), for the messages.
  double limit_cpu_percent = 90;
  double limit_memory_percent = 95;
  double limit_disk_percent = 90;
  // No cycle for longer than this (the monitor, or the whole system, was down): the monitor
  // watches every worker for its full timeout again before calling it silent (db/watch.h).
  milliseconds watch_gap{std::chrono::minutes(2)};
  // worker_status_history rows older than this are deleted.
  milliseconds history_retention{std::chrono::hours(24 * 90)};
  int history_batch = 10'000;  // rows per DELETE

  // The service_instances id of this process (site_holds.held_by).
  std::string instance_id = "heartbeat-monitor";

  bool notifies(const std::string& kind) const;
};

void declare_config(config::Schema& schema);

// Reads the keys declared above. Throws runtime::ConfigError for a bad value (an unknown kind in
// monitor.notify_kinds).
MonitorOptions options_from(const config::Config& config);

}  // namespace fleet::heartbeat
