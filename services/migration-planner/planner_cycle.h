// One migration-planner cycle: expire overdue agent commands, load the cluster, decide
// (planner_engine.h), then write everything in one transaction fenced by the leader lease; after
// a route change, the route file. Under --dry-run the decisions are printed and nothing is written.
#pragma once

#include <map>
#include <string>

#include "planner_options.h"
#include "runtime/worker.h"

namespace fleet::metrics {
class Registry;
class Gauge;
class Histogram;
}  // namespace fleet::metrics

namespace fleet::planner {

class MigrationPlanner {
 public:
  // With a registry, exports fleet_migration_planner_migrations{state} (open moves by state after
  // the cycle) and fleet_migration_planner_plan_seconds (time spent deciding).
  explicit MigrationPlanner(PlannerOptions options, metrics::Registry* registry = nullptr);

  runtime::CycleReport run_cycle(runtime::CycleContext& ctx);

 private:
  const PlannerOptions options_;
  std::map<std::string, metrics::Gauge*> by_state_;
  metrics::Histogram* plan_seconds_ = nullptr;
};

}  // namespace fleet::planner
