// Deterministic pseudo-random numbers for the simulator: the same --seed gives the same MACs,
// serials and drifting values on every run (tests and benchmarks depend on that).
#pragma once

#include <cmath>
#include <cstdint>

namespace fleet::minersim {

// SplitMix64 step: a good 64-bit mixer, used both as a stream and as a stateless hash.
constexpr uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A stateless hash of several keys (seed, miner, chain, chip, time bucket...).
constexpr uint64_t hash_keys(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0) {
  return mix64(mix64(mix64(mix64(a) ^ b) ^ c) ^ d);
}

// Uniform in [0, 1) from a 64-bit hash.
inline double unit_interval(uint64_t h) {
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// Standard normal from a 64-bit hash (Box-Muller on two derived uniforms).
inline double standard_normal(uint64_t h) {
  const double u1 = unit_interval(mix64(h)) + 1e-12;  // never log(0)
  const double u2 = unit_interval(mix64(h ^ 0x5bd1e995ULL));
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Approximately standard normal from one hash, cheaply: the sum of four 16-bit uniforms, scaled
// to unit variance (Irwin-Hall). For per-chip jitter, where a log/sqrt/cos per chip would cost
// more than everything else in a /chains answer.
inline double approx_normal(uint64_t h) {
  const double sum =
      static_cast<double>((h & 0xffff) + ((h >> 16) & 0xffff) + ((h >> 32) & 0xffff) + (h >> 48)) /
      65536.0;
  return (sum - 2.0) * 1.7320508075688772;  // var(sum) = 4/12
}

// A small sequential generator for places that draw many values in order.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }
  double uniform() { return unit_interval(next()); }
  double normal() { return standard_normal(next()); }
  // Uniform integer in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  uint64_t state_;
};

}  // namespace fleet::minersim
