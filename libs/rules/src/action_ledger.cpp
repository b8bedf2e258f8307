#include "rules/action_ledger.h"

#include "core/duration.h"

namespace fleet::rules {

void ActionLedger::add_worker_history(std::int64_t worker_id, int actions_last_day,
                                      std::optional<Time> last_action) {
  workers_[worker_id] = {actions_last_day, last_action};
}

std::optional<std::string> ActionLedger::refusal(std::int64_t worker_id) const {
  if (fleet_recent_ >= limits_.fleet_max_per_window) {
    return "fleet-wide rate limit: " + std::to_string(fleet_recent_) + " actions in the last " +
           format_duration(limits_.fleet_window) + " (limit " +
           std::to_string(limits_.fleet_max_per_window) + ")";
  }
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return std::nullopt;
  const WorkerHistory& h = it->second;
  if (h.last_day >= limits_.worker_daily_cap) {
    return "daily cap: " + std::to_string(h.last_day) + " actions on this worker in the last 24h " +
           "(limit " + std::to_string(limits_.worker_daily_cap) + ")";
  }
  if (h.last && now_ - *h.last < limits_.worker_cooldown) {
    return "cooldown: last action on this worker " + format_duration(now_ - *h.last) +
           " ago (cooldown " + format_duration(limits_.worker_cooldown) + ")";
  }
  return std::nullopt;
}

void ActionLedger::record(std::int64_t worker_id) {
  ++fleet_recent_;
  WorkerHistory& h = workers_[worker_id];
  ++h.last_day;
  h.last = now_;
}

}  // namespace fleet::rules
