// One cycle of the alert-evaluator (docs/services/alert-evaluator.md): load the fleet in bulk,
// evaluate every rule × worker pair, write only the changes in one transaction (fenced by the
// leader lease when the runtime holds one), and report seed 001's statistics.
//
// Under --dry-run nothing is written: each decision is printed as one JSON line instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "rules/action_ledger.h"
#include "rules/engine.h"
#include "runtime/worker.h"

namespace fleet::alerting {

struct EvaluatorOptions {
  rules::ActionLimits limits;
  // Decisions logged at info per cycle; the rest go to debug, so a storm cannot flood the log.
  int log_decisions = 100;
  std::string instance_id = "alert-evaluator";  // commands.requested_by
  // No cycle for longer than this (the evaluator or the whole system was down): for each rule's
  // stale_after after it, missing data neither resolves nor opens an alert (db/watch.h).
  std::chrono::milliseconds watch_gap{std::chrono::minutes(2)};
};

// The counts a cycle reports (CycleReport.counts): total_alerts, evaluated, triggered, resolved,
// errors, skipped, then pending, no_data, commands, actions_skipped, notifications, suppressed.
std::vector<std::pair<std::string, std::int64_t>> cycle_counts(const rules::EngineStats& stats);

runtime::CycleReport run_alert_cycle(runtime::CycleContext& ctx, const EvaluatorOptions& options);

}  // namespace fleet::alerting
