// The notifier's per-channel sending lanes: a channel whose job never returns holds only its own
// lane; one channel's jobs run in order, at most per_channel at once.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>

#include "send_lanes.h"

using fleet::notifier::SendLanes;
using std::chrono::seconds;

TEST_CASE("send lanes: a blocked channel never holds another channel's jobs", "[notifier]") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::promise<void> other_ran, second_ran;
  std::atomic<bool> second_started{false};
  {
    SendLanes lanes(1);
    lanes.submit(1, [released] { released.wait(); });  // a receiver that hangs
    lanes.submit(1, [&] {
      second_started = true;
      second_ran.set_value();
    });
    lanes.submit(2, [&] { other_ran.set_value(); });
    // Generous bound, not a timing assertion: without separate lanes this never happens.
    REQUIRE(other_ran.get_future().wait_for(seconds(30)) == std::future_status::ready);
    CHECK_FALSE(second_started);  // channel 1 runs one at a time, in order
    CHECK(lanes.load(1) == 2);
    release.set_value();
    REQUIRE(second_ran.get_future().wait_for(seconds(30)) == std::future_status::ready);
  }
}

TEST_CASE("send lanes: a channel runs up to per_channel jobs at once", "[notifier]") {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> running{0};
  std::promise<void> three_running;
  SendLanes lanes(3);
  for (int i = 0; i < 5; ++i) {
    lanes.submit(7, [&, released] {
      if (++running == 3) three_running.set_value();
      released.wait();
    });
  }
  REQUIRE(three_running.get_future().wait_for(seconds(30)) == std::future_status::ready);
  CHECK(running == 3);  // the other two wait for a thread of the lane
  CHECK(lanes.load(7) == 5);
  release.set_value();
}
