// The decisions of heartbeat-monitor, as pure functions over what the database says about a worker
// (ages measured against the database's clock, so no process clock is involved). The store loads
// the observations and applies the transitions; docs/services/heartbeat-monitor.md has the table.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "monitor_options.h"

namespace fleet::heartbeat {

// One worker as the monitor sees it in a cycle.
struct Observation {
  std::int64_t worker_id = 0;
  std::string name;
  std::string kind;    // node | asic | rig | device
  std::string site;    // "" for none
  std::string status;  // workers.status
  // Since the last sign of life: a node's last heartbeat, else workers.last_seen_at. nullopt when
  // it was never seen.
  std::optional<milliseconds> silent_for;
  milliseconds timeout{0};         // the kind's timeout (devices: factor × expected_interval)
  milliseconds status_age{0};      // now - workers.status_since
  bool seen_since_status = false;  // the last sign of life is newer than status_since
  // Status changes within the flap window (worker_status_history).
  int recent_changes = 0;
  // Nodes only (the gateway's ingest keeps them).
  int over_limit_streak = 0;
  std::vector<std::string> over_limit;  // limits the last heartbeat broke
  std::optional<double> cpu_percent, memory_percent, disk_percent;
  std::optional<milliseconds> healthy_for;  // now - healthy_since
  std::optional<milliseconds> streak_for;   // now - streak_since (heartbeating without a gap)
  bool drain_requested = false;
  // The worker's site: an open partition hold, and since when the last hold cleared.
  bool site_held = false;
  std::optional<milliseconds> since_hold_cleared;
  // How long the monitor has been watching without a gap (db/watch.h). Silence is only judged
  // after a full timeout of watching: what the monitor did not watch, it does not count.
  std::optional<milliseconds> watching_for;
};

struct Transition {
  std::int64_t worker_id = 0;
  std::string name;
  std::string kind;
  std::string site;
  std::string from;
  std::string to;
  std::string reason;  // workers.status_reason
  // The notification event (worker.offline | worker.unhealthy | worker.recovered), "" for none.
  std::string event;
  // Went silent this cycle: counts towards a partition of its site.
  bool went_silent = false;
  std::int64_t outage_s = 0;  // worker.recovered: how long it was down (status_age)
  // worker.unhealthy: the metrics over their limit, e.g. {"disk_percent", 93.1}.
  std::map<std::string, double> metrics;
};

// The change a worker's status needs, or nullopt. Never touches 'removed'; leaves an ASIC's
// 'unhealthy' (status-poller's, from its firmware) and a held site's 'unreachable' alone.
std::optional<Transition> decide(const Observation& w, const MonitorOptions& options);

// Whether the worker showed a sign of life within its kind's timeout.
bool is_alive(const Observation& w);

// The recovery hold that applies to `w` (longer while it flaps).
milliseconds recovery_hold(const Observation& w, const MonitorOptions& options);

// Partition protection (DESIGN §6) over one cycle's transitions.
struct SiteState {
  int workers = 0;       // not removed
  int still_silent = 0;  // 'unreachable' workers still silent (before this cycle's transitions)
  // Workers still counted alive (online, unhealthy, draining) but silent for more than
  // partition_quiet_share of their timeout, including those timing out in this cycle.
  int quiet = 0;
  bool held = false;  // an open site_holds row
};

struct SiteAction {
  std::string site;
  enum class Kind { kHold, kClear } kind = Kind::kHold;
  int silent = 0;
  int workers = 0;
  std::string reason;
};

// Rewrites this cycle's went-silent transitions of a site that is (or becomes) held into
// 'unreachable' without a notification, and returns the holds to open and clear: a site is held
// when a worker of it went silent in this cycle and more than partition_share of its workers, and
// at least partition_min_workers, are silent or quiet (SiteState::quiet); a held site clears when
// its silent workers fall back to the share or below (or under the minimum).
std::vector<SiteAction> apply_partitions(std::vector<Transition>& transitions,
                                         const std::map<std::string, SiteState>& sites,
                                         const MonitorOptions& options);

// "134 s" — whole seconds, rounded down.
std::string seconds_text(milliseconds d);

}  // namespace fleet::heartbeat
