// The request budget in memory (tests, --dry-run): the same GCRA token bucket as
// hiveos_reserve_request() in sql/0046_hiveos.sql, per account, on an injected clock.
#include <map>
#include <mutex>

#include "hiveos/budget.h"

namespace fleet::hiveos {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class MemoryBudget final : public Budget {
 public:
  MemoryBudget(MemoryBudgetOptions options, std::function<Clock::time_point()> now)
      : options_(options), now_(std::move(now)) {}

  Result<milliseconds> reserve(std::int64_t account_id) override {
    std::lock_guard lock(mu_);
    const auto now = now_();
    const auto emission = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(60.0 / options_.requests_per_minute));
    auto& a = accounts_[account_id];
    const auto tat = a.next ? std::max(*a.next, now) : now;
    auto start = std::max(tat - emission * (options_.burst - 1), now);
    if (a.blocked_until && *a.blocked_until > start) start = *a.blocked_until;
    a.next = std::max(tat, start) + emission;
    return std::chrono::duration_cast<milliseconds>(start - now);
  }

  Status block(std::int64_t account_id, milliseconds for_how_long) override {
    std::lock_guard lock(mu_);
    auto& a = accounts_[account_id];
    const auto until = now_() + for_how_long;
    if (!a.blocked_until || *a.blocked_until < until) a.blocked_until = until;
    return Status::success();
  }

 private:
  struct Account {
    std::optional<Clock::time_point> next;  // theoretical arrival time; unset = never used
    std::optional<Clock::time_point> blocked_until;
  };
  MemoryBudgetOptions options_;
  std::function<Clock::time_point()> now_;
  std::mutex mu_;
  std::map<std::int64_t, Account> accounts_;
};

}  // namespace

std::unique_ptr<Budget> make_memory_budget(MemoryBudgetOptions options,
                                           std::function<Clock::time_point()> now) {
  if (options.requests_per_minute <= 0) options.requests_per_minute = 20;
  if (options.burst < 1) options.burst = 1;
  return std::make_unique<MemoryBudget>(options, std::move(now));
}

}  // namespace fleet::hiveos
