#include "firmware/concurrency_limit.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace fleet::firmware {

ConcurrencyLimit::ConcurrencyLimit(Options options) : options_(options) {
  options_.max = std::max<std::size_t>(options_.max, 1);
  options_.min = std::clamp<std::size_t>(options_.min, 1, options_.max);
  limit_ = std::clamp(options_.initial, options_.min, options_.max);
}

void ConcurrencyLimit::on_answer(std::chrono::microseconds latency) {
  latency = std::max(latency, std::chrono::microseconds(0));
  window_sum_us_ += static_cast<double>(latency.count());
  // A window is a quarter of the requests in flight (at least 16): long enough to average, short
  // enough that the limit follows the load within a few round trips.
  if (++window_samples_ >= std::max<std::size_t>(limit_ / 4, 16)) end_window();
}

void ConcurrencyLimit::end_window() {
  const double mean = window_sum_us_ / static_cast<double>(window_samples_);
  window_samples_ = 0;
  window_sum_us_ = 0;
  const double target =
      static_cast<double>(std::max<std::int64_t>(options_.latency_target.count(), 1));
  const double current = static_cast<double>(limit_);
  double next;
  if (mean <= target) {
    next = congested_ ? current + std::sqrt(current) : 2 * current;
  } else {
    congested_ = true;
    next = current * std::max(target / mean, 0.5);
  }
  limit_ = std::clamp(static_cast<std::size_t>(std::lround(next)), options_.min, options_.max);
}

}  // namespace fleet::firmware
