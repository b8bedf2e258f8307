// The gateway's database session pool: sessions are handed out first come, first served.
// Sessions connect lazily, so no database is needed here.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "api_error.h"
#include "db_pool.h"

using namespace fleet;
using namespace std::chrono_literals;

namespace {

db::ConnectionOptions nowhere() {
  db::ConnectionOptions o;
  o.conninfo = "postgresql://nobody@127.0.0.1:1/none";
  return o;
}

bool wait_until(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("db pool: waiting requests get a session in the order they asked") {
  gateway::DbPool pool(nowhere(), 1);
  auto held = std::make_unique<gateway::DbPool::Lease>(pool.acquire());
  std::mutex mu;
  std::vector<int> served;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 5; ++i) {
    waiters.emplace_back([&, i] {
      auto lease = pool.acquire(10s);
      {
        std::lock_guard lock(mu);
        served.push_back(i);
      }
      std::this_thread::sleep_for(5ms);
    });
    // The next one asks only after this one waits.
    REQUIRE(wait_until([&] { return pool.waiting() == static_cast<std::size_t>(i + 1); }));
  }
  held.reset();
  // A latecomer while the five are served: it must not pass any of them.
  std::thread late([&] {
    auto lease = pool.acquire(10s);
    std::lock_guard lock(mu);
    served.push_back(99);
  });
  for (auto& t : waiters)
    t.join();
  late.join();
  CHECK(served == std::vector<int>{0, 1, 2, 3, 4, 99});
  CHECK(pool.waiting() == 0);
}

TEST_CASE("db pool: a request that waits too long gets a 503 and leaves the queue") {
  gateway::DbPool pool(nowhere(), 1);
  auto held = pool.acquire();
  try {
    (void)pool.acquire(50ms);
    FAIL("acquired a session that was held");
  } catch (const gateway::ApiError& e) {
    CHECK(e.status() == 503);
  }
  CHECK(pool.waiting() == 0);
}

TEST_CASE("db pool: a released session goes to the waiter, not to a request that asks after") {
  gateway::DbPool pool(nowhere(), 1);
  auto held = std::make_unique<gateway::DbPool::Lease>(pool.acquire());
  std::atomic<bool> waiter_served{false};
  std::thread waiter([&] {
    auto lease = pool.acquire(10s);
    waiter_served = true;
    std::this_thread::sleep_for(20ms);
  });
  REQUIRE(wait_until([&] { return pool.waiting() == 1; }));
  held.reset();
  // Asked right after the release, before the woken waiter could run: it must wait its turn.
  CHECK_THROWS_AS(pool.acquire(1ms), gateway::ApiError);
  waiter.join();
  CHECK(waiter_served);
  CHECK_NOTHROW(pool.acquire(1s));
}
