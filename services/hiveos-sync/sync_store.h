// hiveos-sync's SQL: one prepared, set-based statement per farm (data-modifying CTEs over the
// farm's json_to_recordset batch, bound parameters only) in one transaction, so a sync of
// thousands of workers is a round trip per farm. Times are the database's (now()) except
// HiveOS's own stats_time.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "sync_sink.h"

namespace fleet::db {
class Session;
}

namespace fleet::hiveos_sync {

// The enabled accounts, by id.
std::vector<Account> load_accounts(pqxx::transaction_base& tx);

// The accounts that are failing now, for /ready: [{"id", "name", "reason", "since"}] as JSON.
std::string failing_accounts_json(pqxx::transaction_base& tx);

// The account's live (not removed) rigs whose HiveOS worker id is not in `seen`:
// [{hiveos_worker_id, worker_id, name}] (what finish_ok would remove; --dry-run prints them).
struct MissingRig {
  std::int64_t hiveos_worker_id = 0;
  std::int64_t worker_id = 0;
  std::string name;
};
std::vector<MissingRig> missing_rigs(pqxx::transaction_base& tx, std::int64_t account_id,
                                     const std::set<std::int64_t>& seen);

// How often the live workers' metrics are written (0 = every new stats_time):
//   readings: nothing unless `readings`; else a worker's metrics at most once per
//     readings_interval (rigs.readings_at the last time);
//   metrics_latest: a changed value always; an unchanged one (only its observed_at would move)
//     at most once per latest_refresh.
struct StorePolicy {
  bool readings = true;
  std::chrono::milliseconds readings_interval{0};
  std::chrono::milliseconds latest_refresh{0};
};

// The sink that writes to PostgreSQL through `session`.
class PgSink final : public SyncSink {
 public:
  PgSink(db::Session& session, StorePolicy policy) : session_(session), policy_(policy) {}
  void save_farms(const Account& account, const std::vector<hiveos::Farm>& farms) override;
  FarmWrite save_farm(const Account& account, const hiveos::Farm& farm,
                      const std::vector<WorkerRow>& rows) override;
  std::int64_t finish_ok(const Account& account, const std::set<std::int64_t>& seen,
                         std::int64_t farms) override;
  void finish_failing(const Account& account, const std::string& reason,
                      const std::set<std::int64_t>& seen) override;

 private:
  db::Session& session_;
  StorePolicy policy_;
};

// "{1,2,3}": a bigint[] literal for a bound parameter (libpqxx 6.4 binds no vectors).
std::string id_array(const std::set<std::int64_t>& ids);

}  // namespace fleet::hiveos_sync
