#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <pqxx/pqxx>

#include "db/lease.h"
#include "pgtest.h"

using namespace fleet;
using std::chrono::milliseconds;

namespace {

bool acquire(pqxx::connection& conn, db::LeaderLease& lease) {
  pqxx::work tx(conn);
  bool held = lease.acquire(tx);
  tx.commit();
  return held;
}

}  // namespace

TEST_CASE("one holder at a time, renewal keeps the epoch, release hands over", "[lease][db]") {
  test::TestDatabase db;
  pqxx::connection ca(db.url()), cb(db.url());
  db::LeaderLease a("evaluator", "a", milliseconds(30'000));
  db::LeaderLease b("evaluator", "b", milliseconds(30'000));
  REQUIRE(acquire(ca, a));
  const auto epoch = a.epoch();
  CHECK_FALSE(acquire(cb, b));
  CHECK(acquire(ca, a));  // renew
  CHECK(a.epoch() == epoch);
  {
    pqxx::work tx(ca);
    a.release(tx);
    tx.commit();
  }
  CHECK_FALSE(a.held());
  REQUIRE(acquire(cb, b));
  CHECK(b.epoch() == epoch + 1);
  pqxx::work tx(ca);
  auto holder = db::LeaderLease::current(tx, "evaluator");
  REQUIRE(holder);
  CHECK(holder->holder == "b");
}

TEST_CASE("an expired lease is taken over and the old holder is fenced out", "[lease][db]") {
  test::TestDatabase db;
  pqxx::connection ca(db.url()), cb(db.url());
  db::LeaderLease a("planner", "a", milliseconds(1000));
  db::LeaderLease b("planner", "b", milliseconds(30'000));
  REQUIRE(acquire(ca, a));
  CHECK_FALSE(acquire(cb, b));
  std::this_thread::sleep_for(milliseconds(1200));
  REQUIRE(acquire(cb, b));  // a did not renew in time
  CHECK(b.epoch() == a.epoch() + 1);
  {
    pqxx::work tx(ca);
    CHECK_FALSE(a.still_held(tx));  // a's writes must not go ahead
  }
  CHECK_FALSE(acquire(ca, a));
  pqxx::work tx(cb);
  CHECK(b.still_held(tx));
}

TEST_CASE("racing replicas elect exactly one leader", "[lease][db]") {
  test::TestDatabase db;
  std::atomic<int> leaders{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      pqxx::connection conn(db.url());
      db::LeaderLease lease("race", "r" + std::to_string(i), milliseconds(30'000));
      if (acquire(conn, lease)) ++leaders;
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(leaders == 1);
  CHECK(db.count("leases") == 1);
}

TEST_CASE("a fenced write holds off a takeover until it commits", "[lease][db]") {
  test::TestDatabase db;
  pqxx::connection ca(db.url()), cb(db.url());
  db::LeaderLease a("fence", "a", milliseconds(1000));
  REQUIRE(acquire(ca, a));
  pqxx::work writer(ca);
  REQUIRE(a.still_held(writer));                    // row locked FOR SHARE until writer ends
  std::this_thread::sleep_for(milliseconds(1200));  // the lease expires meanwhile
  std::atomic<bool> taken{false};
  std::thread thief([&] {
    db::LeaderLease b("fence", "b", milliseconds(30'000));
    taken = acquire(cb, b);
  });
  std::this_thread::sleep_for(milliseconds(300));
  CHECK_FALSE(taken);  // blocked behind the writer's lock
  writer.commit();
  thief.join();
  CHECK(taken);
}

TEST_CASE("lease ttl must be at least a second", "[lease]") {
  CHECK_THROWS_AS(db::LeaderLease("x", "y", milliseconds(10)), std::invalid_argument);
}
