// One migration-planner cycle: expire overdue agent commands, load the cluster, decide
// (planner_engine.h), then write everything in one transaction fenced by the leader lease; after
// a route change, the route file. Under --dry-run the decisions are printed and nothing is written.
#pragma once

#include "planner_options.h"
#include "runtime/worker.h"

namespace fleet::planner {

class MigrationPlanner {
 public:
  explicit MigrationPlanner(PlannerOptions options);

  runtime::CycleReport run_cycle(runtime::CycleContext& ctx);

 private:
  const PlannerOptions options_;
};

}  // namespace fleet::planner
