// Safety limits on hardware actions (DESIGN §6): a per-worker cooldown, a per-worker daily cap and
// a fleet-wide rate limit. The ledger starts from the recent history in `commands` and counts the
// actions decided during this evaluation, so one cycle cannot exceed a limit either. Pure logic.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

#include "rules/episode.h"

namespace fleet::rules {

struct ActionLimits {
  // No second action on the same worker within this time (any rule, any user).
  std::chrono::milliseconds worker_cooldown{std::chrono::minutes(5)};
  // At most this many actions per worker in any 24 hours (reboot-loop protection).
  int worker_daily_cap = 6;
  // At most this many actions across the fleet per window (a bad rule cannot reboot a farm).
  int fleet_max_per_window = 20;
  std::chrono::milliseconds fleet_window{std::chrono::minutes(1)};
  // A ladder whose last hardware step was taken this long ago while the alert still fires is
  // exhausted: one alert.escalation_exhausted notification, no further automatic action.
  std::chrono::milliseconds escalation_exhausted_after{std::chrono::minutes(10)};
};

class ActionLedger {
 public:
  ActionLedger(ActionLimits limits, Time now) : limits_(limits), now_(now) {}

  // History from the database: actions on a worker in the last 24 hours and the newest one.
  void add_worker_history(std::int64_t worker_id, int actions_last_day,
                          std::optional<Time> last_action);
  // Actions across the fleet within the last fleet_window.
  void set_fleet_recent(int actions_in_window) { fleet_recent_ = actions_in_window; }

  // Why an action on this worker must be skipped now, or nullopt when it may go ahead.
  std::optional<std::string> refusal(std::int64_t worker_id) const;
  // Counts an action decided now.
  void record(std::int64_t worker_id);

  const ActionLimits& limits() const { return limits_; }

 private:
  struct WorkerHistory {
    int last_day = 0;
    std::optional<Time> last;
  };
  ActionLimits limits_;
  Time now_;
  int fleet_recent_ = 0;
  std::unordered_map<std::int64_t, WorkerHistory> workers_;
};

}  // namespace fleet::rules
