// The HiveOS request budget shared through PostgreSQL (hiveos_reserve_request(), sql/0046): two
// processes' worth of budgets on one account queue behind each other, a Retry-After block holds
// for every one of them, and a block is never shortened.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include "hiveos/budget.h"
#include "pgtest.h"

using namespace fleet;
using namespace fleet::test;
using namespace std::chrono_literals;

TEST_CASE("two PostgreSQL budgets on one account share its rate and its blocks", "[hiveos]") {
  TestDatabase db;
  db.exec(
      "INSERT INTO hiveos_accounts (id, name, base_url, token_enc, created_by, "
      "requests_per_minute, "
      "burst) VALUES (1, 'a', 'http://127.0.0.1:9/api/v2', 'x', 'test', 60, 2), "
      "(2, 'b', 'http://127.0.0.1:9/api/v2', 'x', 'test', 60, 1)");
  auto one = hiveos::make_pg_budget({.conninfo = db.url()});
  auto two = hiveos::make_pg_budget({.conninfo = db.url()});
  // The burst of 2 is spent across both budgets, then each request waits one more second.
  CHECK(one->reserve(1).value() < 100ms);
  CHECK(two->reserve(1).value() < 100ms);
  const auto third = one->reserve(1).value();
  CHECK(third > 800ms);
  CHECK(third <= 1000ms);
  const auto fourth = two->reserve(1).value();
  CHECK(fourth > 1800ms);
  CHECK(fourth <= 2000ms);
  CHECK(db.scalar("SELECT requests_total FROM hiveos_accounts WHERE id = 1") == "4");
  // Another account is not affected.
  CHECK(one->reserve(2).value() < 100ms);
  // A Retry-After of 30 s from one process holds for the other.
  REQUIRE(one->block(2, 30s).ok());
  const auto blocked = two->reserve(2).value();
  CHECK(blocked > 29s);
  CHECK(blocked <= 30s);
  REQUIRE(two->block(2, 1s).ok());
  CHECK(db.scalar("SELECT blocked_until > now() + interval '25 seconds' FROM hiveos_accounts "
                  "WHERE id = 2") == "t");
  // An account that does not exist is an error, not a wait.
  auto missing = one->reserve(99);
  REQUIRE_FALSE(missing.ok());
}

TEST_CASE("a PostgreSQL budget whose database is unreachable says so", "[hiveos]") {
  auto budget = hiveos::make_pg_budget(
      {.conninfo = "postgresql://nobody@127.0.0.1:1/none", .connect_timeout = 500ms});
  auto r = budget->reserve(1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().transient());
}

TEST_CASE("a reservation does not wait for a transaction that holds the account's key share",
          "[hiveos]") {
  // hiveos-sync stores a farm (inserting rigs rows: a foreign key to the account, so a key share
  // lock on its row until the farm's transaction commits) while it requests the next farm.
  TestDatabase db;
  db.exec(
      "INSERT INTO hiveos_accounts (id, name, base_url, token_enc, created_by, "
      "requests_per_minute, burst) VALUES (1, 'a', 'http://127.0.0.1:9/api/v2', 'x', 'test', "
      "6000, 100)");
  pqxx::connection storing(db.url());
  pqxx::work farm(storing);
  farm.exec("SELECT 1 FROM hiveos_accounts WHERE id = 1 FOR KEY SHARE");
  auto budget = hiveos::make_pg_budget({.conninfo = db.url(), .lock_timeout = 2s});
  const auto r = budget->reserve(1);
  REQUIRE(r.ok());
  CHECK(r.value() < 100ms);
  farm.commit();
  CHECK(db.scalar("SELECT requests_total FROM hiveos_accounts WHERE id = 1") == "1");
}
