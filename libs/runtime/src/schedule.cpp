#include "runtime/schedule.h"

#include <algorithm>

namespace fleet::runtime {

Schedule::Schedule(ScheduleOptions options, std::uint64_t seed)
    : options_(options), backoff_(options.failure_backoff, seed) {}

std::chrono::milliseconds Schedule::after_success(bool more_work) {
  backoff_.reset();
  return more_work ? std::min(options_.active_interval, options_.interval) : options_.interval;
}

std::chrono::milliseconds Schedule::after_failure() {
  return backoff_.fail();
}

}  // namespace fleet::runtime
