#include "core/clock.h"

namespace fleet {
namespace {

class RealClock final : public Clock {
 public:
  SteadyTime steady_now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
};

}  // namespace

Clock& Clock::real() {
  static RealClock clock;
  return clock;
}

ManualClock::ManualClock()
    : steady_(std::chrono::steady_clock::now()), wall_(std::chrono::system_clock::now()) {}

ManualClock::ManualClock(SteadyTime steady_start, WallTime wall_start)
    : steady_(steady_start), wall_(wall_start) {}

Clock::SteadyTime ManualClock::steady_now() const {
  std::lock_guard lock(mu_);
  return steady_;
}

Clock::WallTime ManualClock::wall_now() const {
  std::lock_guard lock(mu_);
  return wall_;
}

void ManualClock::advance(std::chrono::nanoseconds d) {
  std::lock_guard lock(mu_);
  steady_ += d;
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
}

}  // namespace fleet
