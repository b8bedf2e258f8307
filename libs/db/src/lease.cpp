#include "db/lease.h"

#include <stdexcept>

#include <pqxx/pqxx>

namespace fleet::db {
namespace {

// Insert when absent; take over when expired; renew when ours. Another live holder's row is left
// alone, and then no row comes back. Concurrent callers serialise on the row lock.
constexpr const char* kAcquire = R"sql(
INSERT INTO leases AS l (name, holder, epoch, acquired_at, renewed_at, expires_at)
VALUES ($1, $2, 1, now(), now(), now() + $3 * interval '1 millisecond')
ON CONFLICT (name) DO UPDATE
   SET holder      = EXCLUDED.holder,
       epoch       = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now()
                          THEN l.epoch ELSE l.epoch + 1 END,
       acquired_at = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > now()
                          THEN l.acquired_at ELSE now() END,
       renewed_at  = now(),
       expires_at  = EXCLUDED.expires_at
 WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()
RETURNING epoch
)sql";

constexpr const char* kRelease = R"sql(
UPDATE leases SET expires_at = now(), renewed_at = now()
 WHERE name = $1 AND holder = $2 AND epoch = $3
)sql";

constexpr const char* kStillHeld = R"sql(
SELECT 1 FROM leases
 WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > now()
   FOR SHARE
)sql";

constexpr const char* kCurrent = R"sql(
SELECT holder, epoch, expires_at <= now() FROM leases WHERE name = $1
)sql";

}  // namespace

LeaderLease::LeaderLease(std::string name, std::string holder, std::chrono::milliseconds ttl)
    : name_(std::move(name)), holder_(std::move(holder)), ttl_(ttl) {
  if (ttl_ < std::chrono::seconds(1)) throw std::invalid_argument("lease ttl below 1 s");
}

bool LeaderLease::acquire(pqxx::transaction_base& tx) {
  pqxx::result r = tx.exec_params(kAcquire, name_, holder_, static_cast<long long>(ttl_.count()));
  if (r.empty()) {
    held_ = false;
    return false;
  }
  held_ = true;
  epoch_ = r[0][0].as<std::int64_t>();
  return true;
}

void LeaderLease::release(pqxx::transaction_base& tx) {
  if (!held_) return;
  tx.exec_params(kRelease, name_, holder_, static_cast<long long>(epoch_));
  held_ = false;
}

bool LeaderLease::still_held(pqxx::transaction_base& tx) const {
  if (!held_) return false;
  return !tx.exec_params(kStillHeld, name_, holder_, static_cast<long long>(epoch_)).empty();
}

std::optional<LeaseHolder> LeaderLease::current(pqxx::transaction_base& tx,
                                                const std::string& name) {
  pqxx::result r = tx.exec_params(kCurrent, name);
  if (r.empty()) return std::nullopt;
  return LeaseHolder{r[0][0].as<std::string>(), r[0][1].as<std::int64_t>(), r[0][2].as<bool>()};
}

}  // namespace fleet::db
