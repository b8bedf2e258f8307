// One heartbeat-monitor cycle: load the workers that might change, decide (status_rules.h),
// apply partition protection, then write statuses, site holds and notifications in one
// transaction fenced by the leader lease. Now and then it also expires old status history.
#pragma once

#include "monitor_options.h"
#include "runtime/periodic_chore.h"
#include "runtime/worker.h"

namespace fleet::heartbeat {

class HeartbeatMonitor {
 public:
  explicit HeartbeatMonitor(MonitorOptions options);

  // Under --dry-run prints each transition and hold as a JSON line and writes nothing.
  runtime::CycleReport run_cycle(runtime::CycleContext& ctx);

 private:
  std::int64_t expire_history(runtime::CycleContext& ctx);

  const MonitorOptions options_;
  runtime::PeriodicChore retention_{{.period = std::chrono::minutes(10)}};
};

}  // namespace fleet::heartbeat
