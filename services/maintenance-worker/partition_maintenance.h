// Housekeeping that keeps the database healthy: daily partitions made ahead of time and dropped
// after their retention (partition_policies), and service_instances rows of processes long gone.
#pragma once

#include <chrono>

#include "runtime/worker.h"

namespace fleet::maintenance {

struct MaintenanceOptions {
  // Rows of stopped or vanished processes are deleted after this long.
  std::chrono::milliseconds instance_retention{std::chrono::hours(24 * 7)};
  // Partitions are also made this many days into the past (late readings).
  int back_days = 1;
};

// One maintenance pass. Under --dry-run it reports what it would create and drop, as JSON lines.
runtime::CycleReport run_maintenance(runtime::CycleContext& ctx, const MaintenanceOptions& options);

}  // namespace fleet::maintenance
