// runtime::PeriodicChore: chores inside worker cycles (partition upkeep, retention drops).
#include <catch2/catch.hpp>

#include <stdexcept>

#include "core/clock.h"
#include "runtime/periodic_chore.h"

using namespace fleet;
using namespace fleet::runtime;
using namespace std::chrono_literals;

namespace {

// A host that has just booted: the steady clock reads zero.
ManualClock fresh_boot() {
  return ManualClock(Clock::SteadyTime{}, std::chrono::system_clock::now());
}

}  // namespace

TEST_CASE("a chore runs on the first call even at zero uptime, then once per period",
          "[runtime][chore]") {
  ManualClock clock = fresh_boot();
  PeriodicChore chore({.period = 30min});
  int runs = 0;
  auto run = [&] { return chore.run_if_due(clock.steady_now(), [&] { ++runs; }); };

  CHECK(chore.due(clock.steady_now()));
  CHECK(run());
  CHECK(runs == 1);
  clock.advance(29min);
  CHECK_FALSE(run());
  CHECK(runs == 1);
  clock.advance(1min);
  CHECK(run());
  CHECK(runs == 2);
  CHECK_FALSE(run());
  CHECK(runs == 2);
}

TEST_CASE("a failed chore propagates its error and is due again at the next call",
          "[runtime][chore]") {
  ManualClock clock = fresh_boot();
  PeriodicChore chore({.period = 1h});
  auto failing = [] { throw std::runtime_error("database unavailable"); };
  CHECK_THROWS_WITH(chore.run_if_due(clock.steady_now(), failing), "database unavailable");
  // Not left for a whole period: the next cycle tries again.
  CHECK(chore.due(clock.steady_now()));
  int runs = 0;
  CHECK(chore.run_if_due(clock.steady_now(), [&] { ++runs; }));
  CHECK(runs == 1);
  clock.advance(59min);
  CHECK_FALSE(chore.due(clock.steady_now()));
}

TEST_CASE("a failed chore with retry_after waits that long, not a period", "[runtime][chore]") {
  ManualClock clock = fresh_boot();
  PeriodicChore chore({.period = 1h, .retry_after = 1min});
  CHECK_THROWS(chore.run_if_due(clock.steady_now(), [] { throw std::runtime_error("x"); }));
  CHECK_FALSE(chore.due(clock.steady_now()));
  clock.advance(1min);
  CHECK(chore.due(clock.steady_now()));
}

TEST_CASE("ManualClock can start at steady time zero", "[core][clock]") {
  ManualClock clock = fresh_boot();
  CHECK(clock.steady_now().time_since_epoch().count() == 0);
  clock.advance(5s);
  CHECK(clock.steady_now() - Clock::SteadyTime{} == 5s);
}
