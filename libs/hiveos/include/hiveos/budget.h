// An account's request budget and the backoff after failures. Every HiveOS request of any process
// first asks the budget how long to wait (Budget::reserve); after a 429 / 403 "Too many requests"
// the Retry-After is recorded for every process (Budget::block). Postgres keeps the budget
// (hiveos_reserve_request() in sql/0046_hiveos.sql, PgBudget in libs/hiveos) so two processes
// using one account share it; MemoryBudget serves tests and --dry-run.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "db/connection_options.h"

namespace fleet::hiveos {

class Budget {
 public:
  virtual ~Budget() = default;
  // Reserves one request for `account_id`; returns how long to wait before sending it.
  virtual Result<std::chrono::milliseconds> reserve(std::int64_t account_id) = 0;
  // No request for `account_id` before now + `for_how_long` (Retry-After), for every process.
  virtual Status block(std::int64_t account_id, std::chrono::milliseconds for_how_long) = 0;
};

// In memory (tests, --dry-run): the same token bucket as the SQL function. Thread-safe.
// `now` is injected so tests drive the clock.
struct MemoryBudgetOptions {
  double requests_per_minute = 20;
  int burst = 5;
};

// `now` returns a monotonic time point; tests pass a clock they move by hand.
std::unique_ptr<Budget> make_memory_budget(
    MemoryBudgetOptions options,
    std::function<std::chrono::steady_clock::time_point()> now = std::chrono::steady_clock::now);

// The shared budget in PostgreSQL: reserve() runs SELECT hiveos_reserve_request($1); block() moves
// hiveos_accounts.blocked_until forward (never back). Uses its own connection, opened lazily and
// reopened after a failure (a reserve that cannot reach the database is kUnavailable).
std::unique_ptr<Budget> make_pg_budget(db::ConnectionOptions database);

// Backoff after 5xx / 521 / transport failures uses core/backoff.h (exponential, jittered).

}  // namespace fleet::hiveos
