// The request budget shared by every process through PostgreSQL: hiveos_reserve_request() moves
// the account's next_request_at forward under a row lock (sql/0046_hiveos.sql), and a Retry-After
// moves blocked_until for everyone.
#include <mutex>

#include <pqxx/pqxx>

#include "db/errors.h"
#include "db/session.h"
#include "hiveos/budget.h"

namespace fleet::hiveos {
namespace {

using std::chrono::milliseconds;

class PgBudget final : public Budget {
 public:
  explicit PgBudget(db::ConnectionOptions options) : session_(std::move(options)) {}

  Result<milliseconds> reserve(std::int64_t account_id) override {
    std::lock_guard lock(mu_);
    try {
      return session_.transact([&](pqxx::transaction_base& tx) -> Result<milliseconds> {
        auto r = tx.exec_params(
            "SELECT (extract(epoch FROM hiveos_reserve_request($1)) * 1000)::bigint", account_id);
        return milliseconds(r[0][0].as<std::int64_t>());
      });
    } catch (const std::exception& e) {
      return db::to_error(e);
    }
  }

  Status block(std::int64_t account_id, milliseconds for_how_long) override {
    std::lock_guard lock(mu_);
    try {
      session_.transact([&](pqxx::transaction_base& tx) {
        tx.exec_params(
            "UPDATE hiveos_accounts SET blocked_until = greatest(coalesce(blocked_until, "
            "'-infinity'), clock_timestamp() + $2 * interval '1 millisecond') WHERE id = $1",
            account_id, static_cast<std::int64_t>(for_how_long.count()));
      });
      return Status::success();
    } catch (const std::exception& e) {
      return db::to_error(e);
    }
  }

 private:
  std::mutex mu_;
  db::Session session_;
};

}  // namespace

std::unique_ptr<Budget> make_pg_budget(db::ConnectionOptions database) {
  return std::make_unique<PgBudget>(std::move(database));
}

}  // namespace fleet::hiveos
