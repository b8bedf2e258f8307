// One cycle's decisions of migration-planner over a Snapshot (planner_model.h), without I/O: the
// steps 2-7 of docs/services/migration-planner.md. The engine changes the snapshot in place
// (marking rows new or dirty, queueing commands and notifications); the store writes them.
// Placement goes through one placement::Cluster per cycle, so capacity reserved by a start
// queued in this cycle counts for the next request: nothing is ever overcommitted.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "planner_model.h"
#include "planner_options.h"

namespace fleet::planner {

// Hands out the id of a new row of "placements", "migrations" or "migration_plans" (the store
// reserves them from the sequences; --dry-run counts down from -1).
using IdSource = std::function<std::int64_t(const std::string& table)>;

struct EngineResult {
  std::int64_t placements_made = 0;  // container_start queued
  std::int64_t unplaceable = 0;      // replicas or moves no node fits
  std::int64_t plans_opened = 0;
  std::int64_t migrations_started = 0;
  std::int64_t migrations_failed = 0;
  std::int64_t migrations_completed = 0;  // route switched to the new container
  std::int64_t migrations_done = 0;       // old container removed too
  std::int64_t routes_changed = 0;
  std::int64_t removes = 0;        // container_remove queued for placements
  std::int64_t stale_removes = 0;  // container_remove queued for stale copies
  std::int64_t held_nodes = 0;     // failed nodes not planned: their site is held
  std::int64_t rate_limited = 0;   // pending moves left for later (rate limit, budget)
  bool more_work = false;          // (unused so far: held-back moves wait for the window to slide)
  // One JSON object per decision (printed under --dry-run, logged otherwise).
  std::vector<std::string> decisions;
};

EngineResult run_engine(Snapshot& snapshot, const PlannerOptions& options, const IdSource& ids);

}  // namespace fleet::planner
