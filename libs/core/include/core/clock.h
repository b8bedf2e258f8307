// Time comes through this interface so tests can drive it (leveldb's Env::NowMicros idea).
#pragma once

#include <chrono>
#include <mutex>

namespace fleet {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual SteadyTime steady_now() const = 0;
  // Wall-clock time, for timestamps shown to people or stored.
  virtual WallTime wall_now() const = 0;

  // The process-wide real clock. Thread-safe.
  static Clock& real();
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  // Starts at the real time of construction.
  ManualClock();
  // Starts at the given times, e.g. steady time zero: a host that has just booted.
  ManualClock(SteadyTime steady_start, WallTime wall_start);
  SteadyTime steady_now() const override;
  WallTime wall_now() const override;
  void advance(std::chrono::nanoseconds d);

 private:
  mutable std::mutex mu_;
  SteadyTime steady_;  // guarded by mu_
  WallTime wall_;      // guarded by mu_
};

}  // namespace fleet
