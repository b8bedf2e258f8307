// When a claimed miner is due again. Pure functions, so the policy is tested without a clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

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

// How long one poll may take. A miner's deadline follows its own answer times, as TCP's
// retransmission timer follows the round trip: a miner that answers in 50 ms is not given the
// whole request timeout to hang in, so a tenth of the fleet hanging costs a cycle seconds less.
struct AdaptiveTimeout {
  std::chrono::milliseconds max{3000};    // firmware.request_timeout: never longer
  std::chrono::milliseconds floor{1000};  // never shorter (0 = adaptivity off: always max)
  double multiplier = 4;                  // times the miner's latency estimate
};

// `latency_ms`: the miner's estimate (next_latency_estimate), none before its first answer.
// A miner without an estimate, or that failed its last poll, gets `max`: a single slow answer
// then costs one poll, never a run of them. `fleet_latency_ms`, the recent mean of all answers,
// bounds the estimate from below: when every answer slows down (our side, the network), that is no
// miner's fault and shortens no deadline.
std::chrono::milliseconds poll_timeout(const AdaptiveTimeout& policy, std::optional<int> latency_ms,
                                       int failures, double fleet_latency_ms = 0);

// The latency estimate after an answer that took `observed_ms`: up at once to a slower answer,
// down by a quarter of the difference after a faster one (quick to give more time, slow to take
// it away).
int next_latency_estimate(std::optional<int> previous_ms, int observed_ms);

// Whether a poll at `now` appends the miner's metrics to readings, the history rule windows read,
// given when it last did: the first time, then once per window of length `every` (0: every poll).
// Each worker's windows are shifted by a phase taken from its id, so a fleet polled in step still
// spreads its readings over the polls of a window instead of writing them all in one.
bool readings_due(std::int64_t worker_id, std::optional<std::chrono::system_clock::time_point> last,
                  std::chrono::system_clock::time_point now, std::chrono::milliseconds every);

}  // namespace fleet::asic
