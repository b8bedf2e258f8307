// Exponential backoff with jitter, for retries after failures (database reconnects, failed cycles,
// unreachable miners).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace fleet {

struct BackoffPolicy {
  std::chrono::milliseconds initial{1000};  // delay before the first retry
  std::chrono::milliseconds max{300'000};   // delays never exceed this (5 min: DESIGN §2)
  double multiplier = 2.0;                  // growth per consecutive failure
  double jitter = 0.5;  // share of each delay that is randomised, so replicas spread out (0..1)
};

// The delay before retry number `attempt` (1 = after the first failure). `unit_random` in [0, 1)
// picks the point inside the jitter band: delay = base * (1 - jitter * unit_random).
// Pure function: the same inputs give the same delay.
std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int attempt,
                                        double unit_random);

// Counts consecutive failures and hands out the next delay. Not thread-safe.
class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy, std::uint64_t seed = std::random_device{}());

  // Records a failure and returns how long to wait before the next attempt.
  std::chrono::milliseconds fail();
  // Records a success: the next failure starts from the initial delay again.
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }
  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  int failures_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace fleet
