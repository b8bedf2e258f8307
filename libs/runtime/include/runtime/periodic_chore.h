// A chore a long-running worker does now and then inside its cycles (partition upkeep, retention
// drops, ...): due at once on the first call, then again `period` after it last succeeded.
//
// "Never ran" is a state of its own, never a time. A steady clock counts from boot, so on a host
// up for ten minutes `now - steady_clock::time_point{}` is ten minutes: a chore that took
// time_point{} for "long ago" was skipped for its whole first period (issue 15.6).
//
// After a failed run the chore is due again `retry_after` later (default: at the next call),
// not a whole period later: missed upkeep such as tomorrow's partition must not wait 30 minutes
// because the database blinked. The worker's own failure backoff already spaces those calls out.
//
// Time comes from the caller (ctx.clock().steady_now() in a cycle), so tests drive it with a
// fleet::ManualClock. Not thread-safe: one worker thread owns each chore.
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "core/clock.h"

namespace fleet::runtime {

struct ChoreOptions {
  std::chrono::milliseconds period{std::chrono::minutes(30)};  // between successful runs
  std::chrono::milliseconds retry_after{0};  // after a failed run; 0 = due at the next call
};

class PeriodicChore {
 public:
  explicit PeriodicChore(ChoreOptions options) : options_(options) {}

  // Whether the chore should run at `now`: it never ran, or its period (after a failure:
  // retry_after) has passed since it last ran.
  bool due(Clock::SteadyTime now) const { return !next_due_ || now >= *next_due_; }

  // Runs `chore` when due at `now` and returns true; returns false without running it otherwise.
  // When `chore` throws, the run counts as failed and the exception propagates to the caller.
  bool run_if_due(Clock::SteadyTime now, const std::function<void()>& chore);

  // Records a run made after checking due() by hand. `now` is when it started.
  void succeeded(Clock::SteadyTime now) { next_due_ = now + options_.period; }
  void failed(Clock::SteadyTime now) { next_due_ = now + options_.retry_after; }

  // When the chore is next due; nullopt while it has never run (due at once).
  std::optional<Clock::SteadyTime> next_due() const { return next_due_; }
  const ChoreOptions& options() const { return options_; }

 private:
  ChoreOptions options_;
  std::optional<Clock::SteadyTime> next_due_;  // nullopt: never ran
};

}  // namespace fleet::runtime
