#include <catch2/catch.hpp>

#include "runtime/schedule.h"

using namespace fleet;
using namespace fleet::runtime;
using std::chrono::milliseconds;

TEST_CASE("adaptive polling: short interval while work waits, normal when idle", "[runtime][schedule]") {
  Schedule s({.interval = milliseconds(30'000), .active_interval = milliseconds(1000)});
  CHECK(s.after_success(false) == milliseconds(30'000));
  CHECK(s.after_success(true) == milliseconds(1000));
  // The active interval never exceeds the normal one.
  Schedule fast({.interval = milliseconds(200), .active_interval = milliseconds(1000)});
  CHECK(fast.after_success(true) == milliseconds(200));
}

TEST_CASE("failures back off exponentially up to the cap, and success resets", "[runtime][schedule]") {
  Schedule s({.interval = milliseconds(10'000),
              .failure_backoff = {.initial = milliseconds(1000), .max = milliseconds(300'000),
                                  .multiplier = 2, .jitter = 0.5}},
             7);
  long long last_upper = 0;
  for (int i = 1; i <= 12; ++i) {
    const long long upper = std::min<long long>(1000LL << (i - 1), 300'000);
    const auto d = s.after_failure().count();
    CHECK(d <= upper);
    CHECK(d >= upper / 2);
    CHECK(upper >= last_upper);
    last_upper = upper;
  }
  CHECK(s.consecutive_failures() == 12);
  CHECK(s.after_success(false) == milliseconds(10'000));
  CHECK(s.consecutive_failures() == 0);
  CHECK(s.after_failure().count() <= 1000);
}
