#include "churn.h"

#include "rng.h"

namespace fleet::minersim {

std::optional<ChurnEvent> churn_event(uint64_t seed, int index, uint64_t tick,
                                      double events_per_hour, int num_chains) {
  if (events_per_hour <= 0) return std::nullopt;
  const uint64_t h = hash_keys(seed, static_cast<uint64_t>(index), tick, 0xc4e7);
  if (unit_interval(h) >= events_per_hour / 3600.0) return std::nullopt;
  const uint64_t h2 = mix64(h);
  const double kind = unit_interval(h2);
  const uint64_t h3 = mix64(h2);
  ChurnEvent e;
  if (kind < 0.5) {
    e.kind = ChurnEvent::Kind::kReboot;
  } else if (kind < 0.7) {
    e.kind = ChurnEvent::Kind::kOffline;
    e.duration = std::chrono::seconds(30 + static_cast<int64_t>(h3 % 91));
  } else if (kind < 0.85) {
    e.kind = ChurnEvent::Kind::kMove;
  } else {
    e.kind = ChurnEvent::Kind::kFailingChain;
    e.duration = std::chrono::seconds(120 + static_cast<int64_t>(h3 % 481));
    e.chain = 1 + static_cast<int>((h3 >> 20) % static_cast<uint64_t>(num_chains));
  }
  return e;
}

}  // namespace fleet::minersim
