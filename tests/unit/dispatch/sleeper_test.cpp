// The runtime's interruptible sleep: a nudge ends one wait early (the dispatcher's wake-up),
// a stop ends every wait.
#include <catch2/catch.hpp>

#include <thread>

#include "sleeper.h"

using fleet::runtime::Sleeper;
using namespace std::chrono_literals;

TEST_CASE("a nudge ends the current nudgeable sleep once", "[runtime][sleeper]") {
  Sleeper s;
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    s.nudge();
  });
  CHECK(s.sleep_until_nudged(30s, {}) == Sleeper::End::kNudged);
  t.join();
  // Consumed: the next short sleep runs its full time.
  CHECK(s.sleep_until_nudged(20ms, {}) == Sleeper::End::kElapsed);
  // A nudge before the sleep is kept for it.
  s.nudge();
  CHECK(s.sleep_until_nudged(30s, {}) == Sleeper::End::kNudged);
  // A plain sleep ignores nudges.
  s.nudge();
  CHECK(s.sleep(20ms, {}));
}

TEST_CASE("wake_all ends every sleep as stopping", "[runtime][sleeper]") {
  Sleeper s;
  s.wake_all();
  CHECK(s.sleep_until_nudged(30s, {}) == Sleeper::End::kStopping);
  CHECK_FALSE(s.sleep(30s, {}));
}
