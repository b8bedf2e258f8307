// A leader lease in the `leases` table: at most one holder per name at a time, with expiry, so work
// that must happen once in a cluster (evaluating rules, planning migrations) runs on one replica.
//
// Times are the database's (now()), so clocks of the replicas do not matter. The epoch grows by one
// each time the lease changes hands; a write can be fenced by checking it (still_held()).
//
// Not thread-safe; use from the thread that owns the transaction.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/transaction_base>

namespace fleet::db {

struct LeaseHolder {
  std::string holder;
  std::int64_t epoch = 0;
  bool expired = false;
};

class LeaderLease {
 public:
  // `holder` identifies this process (e.g. its service_instances id). REQUIRES: ttl >= 1 s.
  LeaderLease(std::string name, std::string holder, std::chrono::milliseconds ttl);

  // Takes the lease when it is free or expired, or renews it when this holder has it. Returns
  // true when this holder leads after the call. Commit `tx` for the result to count.
  bool acquire(pqxx::transaction_base& tx);

  // Gives the lease up now, so another replica can take it without waiting for the expiry.
  void release(pqxx::transaction_base& tx);

  // Locks the lease row (FOR SHARE: no one can take it over until `tx` ends) and checks this
  // holder still has it, unexpired, at the epoch of the last acquire(). A fence for writes.
  bool still_held(pqxx::transaction_base& tx) const;

  // Who holds `name`, if anyone ever did.
  static std::optional<LeaseHolder> current(pqxx::transaction_base& tx, const std::string& name);

  bool held() const { return held_; }
  std::int64_t epoch() const { return epoch_; }
  const std::string& name() const { return name_; }
  const std::string& holder() const { return holder_; }

 private:
  std::string name_;
  std::string holder_;
  std::chrono::milliseconds ttl_;
  bool held_ = false;
  std::int64_t epoch_ = 0;
};

}  // namespace fleet::db
