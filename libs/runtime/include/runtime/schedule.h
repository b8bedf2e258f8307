// When the next cycle runs: adaptive polling while there is work, the normal interval when idle,
// and exponential backoff with jitter after failures (DESIGN §2). Pure logic, no clock.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/backoff.h"

namespace fleet::runtime {

struct ScheduleOptions {
  std::chrono::milliseconds interval{30'000};        // wait after an idle successful cycle
  std::chrono::milliseconds active_interval{1'000};  // wait after a cycle that left work waiting
  BackoffPolicy failure_backoff{};                   // 1 s ... 300 s, with jitter
};

class Schedule {
 public:
  explicit Schedule(ScheduleOptions options, std::uint64_t seed = 0x5eed);

  // The wait before the next cycle after a successful one.
  std::chrono::milliseconds after_success(bool more_work);
  // The wait before the next cycle after a failed one; grows with consecutive failures.
  std::chrono::milliseconds after_failure();

  int consecutive_failures() const { return backoff_.failures(); }
  const ScheduleOptions& options() const { return options_; }

 private:
  ScheduleOptions options_;
  Backoff backoff_;
};

}  // namespace fleet::runtime
