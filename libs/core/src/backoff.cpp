#include "core/backoff.h"

#include <algorithm>
#include <cmath>

namespace fleet {

std::chrono::milliseconds backoff_delay(const BackoffPolicy& policy, int attempt,
                                        double unit_random) {
  const double initial = static_cast<double>(policy.initial.count());
  const double max = static_cast<double>(policy.max.count());
  const int exponent = std::clamp(attempt - 1, 0, 64);
  double base = initial * std::pow(std::max(policy.multiplier, 1.0), exponent);
  base = std::min(base, max);
  const double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  const double u = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<long long>(base * (1.0 - jitter * u)));
}

Backoff::Backoff(BackoffPolicy policy, std::uint64_t seed) : policy_(policy), rng_(seed) {}

std::chrono::milliseconds Backoff::fail() {
  ++failures_;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  return backoff_delay(policy_, failures_, unit(rng_));
}

}  // namespace fleet
