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

std::chrono::milliseconds poll_timeout(const AdaptiveTimeout& policy, std::optional<int> latency_ms,
                                       int failures, double fleet_latency_ms) {
  using std::chrono::milliseconds;
  if (policy.floor.count() <= 0 || !latency_ms || failures > 0) return policy.max;
  const double latency = std::max({static_cast<double>(*latency_ms), fleet_latency_ms, 0.0});
  const double scaled = std::min(policy.multiplier * latency, 1e9);
  const auto ms = milliseconds(static_cast<std::int64_t>(std::ceil(scaled)));
  return std::clamp(ms, std::min(policy.floor, policy.max), policy.max);
}

bool readings_due(std::int64_t worker_id, std::optional<std::chrono::system_clock::time_point> last,
                  std::chrono::system_clock::time_point now, std::chrono::milliseconds every) {
  using std::chrono::milliseconds;
  if (!last || every.count() <= 0) return true;
  const auto period = static_cast<std::uint64_t>(every.count());
  // Fibonacci hashing spreads consecutive ids evenly over the window.
  const auto phase = static_cast<std::int64_t>(
      (static_cast<std::uint64_t>(worker_id) * 0x9E3779B97F4A7C15ULL >> 11) % period);
  auto window = [&](std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
    const auto shifted = ms + phase;
    return shifted >= 0 ? shifted / every.count() : (shifted - every.count() + 1) / every.count();
  };
  return window(now) > window(*last);
}

int next_latency_estimate(std::optional<int> previous_ms, int observed_ms) {
  observed_ms = std::max(observed_ms, 0);
  if (!previous_ms || observed_ms >= *previous_ms) return observed_ms;
  return *previous_ms - (*previous_ms - observed_ms + 3) / 4;
}

}  // namespace fleet::asic
