#include "asic/poll_schedule.h"

#include <algorithm>
#include <cmath>

#include "core/backoff.h"

namespace fleet::asic {

std::chrono::system_clock::time_point next_due(const PollSchedule& schedule, bool ok, int failures,
                                               std::chrono::system_clock::time_point claimed_at,
                                               std::chrono::system_clock::time_point now,
                                               double unit_random) {
  using std::chrono::milliseconds;
  if (ok) return claimed_at + schedule.interval * 9 / 10;
  const BackoffPolicy policy{.initial = schedule.interval,
                             .max = std::max(schedule.max_backoff, schedule.interval),
                             .multiplier = 2.0,
                             .jitter = 0.25};
  return now + backoff_delay(policy, std::max(failures, 1), std::clamp(unit_random, 0.0, 0.999));
}

}  // namespace fleet::asic
