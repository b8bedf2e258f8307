// Spontaneous fleet churn for demos and soak tests (--churn): miners now and then reboot, drop off
// the network for a while, come back at another address, or lose a chain for a few minutes.
// The decision is a pure function of (seed, miner, second), so a run is reproducible.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace fleet::minersim {

struct ChurnEvent {
  enum class Kind { kReboot, kOffline, kMove, kFailingChain } kind = Kind::kReboot;
  std::chrono::seconds duration{0};  // offline / failing time (reboot: --reboot-seconds)
  int chain = 1;                     // kFailingChain: which chain (1-based)
};

// What happens to miner `index` during second `tick`, if anything, at `events_per_hour` events
// per miner per hour on average. Shares: reboot 50%, offline 20% (30-120 s), move 15%,
// failing chain 15% (2-10 min).
std::optional<ChurnEvent> churn_event(uint64_t seed, int index, uint64_t tick,
                                      double events_per_hour, int num_chains);

}  // namespace fleet::minersim
