// Safety limits on hardware actions, enforced when a command is about to be sent (DESIGN §6;
// the alert-evaluator applies its own when it decides). Pure logic: the dispatcher loads the
// recent history from `commands` and `workers` under a lock shared by every replica, asks for a
// decision per due command, and every "send" counts against the limits of the next one.
//
//   per worker   a minimum interval between actions (hold until it has passed), a daily cap
//                (skip), reboot-loop protection: N reboots/power-cycles in a window (skip, notify)
//   per site     a rate limit (hold), and the partition hold: while heartbeat-monitor holds the
//                site (an open site_holds row), or when more than a share of a site's workers
//                are unreachable, suspect our own network and hold its actions
//   fleet-wide   a rate limit (hold)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace fleet::dispatch {

struct SafetyLimits {
  std::chrono::milliseconds worker_min_interval{std::chrono::minutes(5)};
  int worker_daily_cap = 6;   // limited actions per worker per 24 h
  int reboot_loop_count = 3;  // reboots / power cycles per worker within reboot_loop_window
  std::chrono::milliseconds reboot_loop_window{std::chrono::hours(1)};
  int fleet_max_per_window = 20;
  std::chrono::milliseconds fleet_window{std::chrono::minutes(1)};
  int site_max_per_window = 10;
  std::chrono::milliseconds site_window{std::chrono::minutes(1)};
  double partition_share = 0.5;   // hold a site when more than this share is unreachable...
  int partition_min_workers = 3;  // ...and at least this many
  std::chrono::milliseconds partition_recheck{std::chrono::seconds(30)};
};

// Actions the limits apply to: everything but the locate LED.
bool is_limited(std::string_view action);
// Actions that take the worker down (reboot-loop protection counts them).
bool takes_worker_down(std::string_view action);

// A worker's limited actions sent recently.
struct WorkerHistory {
  int sent_last_day = 0;
  int downs_in_loop_window = 0;  // reboots / power cycles within reboot_loop_window
  std::optional<std::chrono::milliseconds> since_last;  // time since the newest one
};

struct SiteState {
  int workers = 0;      // not removed
  int unreachable = 0;  // status 'unreachable'
  int sent_in_window = 0;
  // Since when heartbeat-monitor holds the site (its open site_holds row, as text), if it does.
  std::optional<std::string> held_since;
};

struct Candidate {
  std::int64_t worker_id = 0;
  std::string site;  // "" = no site
  std::string action;
};

struct Decision {
  enum class Kind { kSend, kHold, kSkip };
  Kind kind = Kind::kSend;
  std::string reason;                     // for kHold / kSkip
  std::chrono::milliseconds hold_for{0};  // kHold: try again after this long
  bool reboot_loop = false;               // kSkip by reboot-loop protection (notify once)
};

class SafetyGate {
 public:
  explicit SafetyGate(SafetyLimits limits) : limits_(limits) {}

  void set_worker(std::int64_t worker_id, WorkerHistory history) { workers_[worker_id] = history; }
  void set_site(const std::string& site, SiteState state) { sites_[site] = state; }
  void set_fleet_sent(int sent_in_window) { fleet_sent_ = sent_in_window; }

  // The decision for one due command. A kSend counts at once against the limits.
  Decision decide(const Candidate& candidate);

  const SafetyLimits& limits() const { return limits_; }

 private:
  SafetyLimits limits_;
  std::unordered_map<std::int64_t, WorkerHistory> workers_;
  std::unordered_map<std::string, SiteState> sites_;
  int fleet_sent_ = 0;
};

}  // namespace fleet::dispatch
