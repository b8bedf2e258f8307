// Fixed-point conversions of the placement core (private). One unit is a thousandth of a core, of a
// MB or of a GB. Capacities round down and requests round up (with a tolerance for binary
// fractions such as 0.3 * 1000 = 300.00000000000006), so a request that fits in units also fits in
// the doubles the caller gave.
#pragma once

#include <cmath>
#include <cstdint>

namespace fleet::placement::units {

inline constexpr double kPerWhole = 1000.0;
// Bounds keep every sum far from int64 overflow: absurd sizes saturate. A request bigger than the
// cap never fits a node at the cap.
inline constexpr double kMaxCapacity = 1e15;
inline constexpr double kMaxNeed = 1e15 + 1;

// A capacity or reservation from a double: not finite or not positive -> 0.
inline std::int64_t capacity(double whole) {
  if (!std::isfinite(whole) || whole <= 0) return 0;
  return static_cast<std::int64_t>(std::fmin(std::floor(whole * kPerWhole + 1e-6), kMaxCapacity));
}

// A reservation already on a node: rounds up like a request (it took that much).
inline std::int64_t need(double whole) {
  if (!std::isfinite(whole) || whole <= 0) return 0;
  return static_cast<std::int64_t>(std::fmin(std::ceil(whole * kPerWhole - 1e-6), kMaxNeed));
}

}  // namespace fleet::placement::units
