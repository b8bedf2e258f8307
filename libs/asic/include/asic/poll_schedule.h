// When a claimed miner is due again. Pure functions, so the policy is tested without a clock.
#pragma once

#include <chrono>

namespace fleet::asic {

struct PollSchedule {
  std::chrono::milliseconds interval{15'000};      // the loop's period (seed 003: status 15 s)
  std::chrono::milliseconds max_backoff{600'000};  // a dead miner is still tried every 10 min
};

// After a success: one interval after the claim, less 10% so a replica's next cycle (which
// starts one interval after the previous one ended) always finds it due.
// After failure number `failures` (1 = the first): interval * 2^(failures-1), capped at
// max_backoff, minus up to a quarter chosen by `unit_random` in [0, 1) so replicas spread out.
std::chrono::system_clock::time_point next_due(const PollSchedule& schedule, bool ok, int failures,
                                               std::chrono::system_clock::time_point claimed_at,
                                               std::chrono::system_clock::time_point now,
                                               double unit_random);

}  // namespace fleet::asic
