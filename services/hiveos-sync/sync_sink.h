// Where an account's sync writes: PostgreSQL (sync_store.h) or, under --dry-run, lines on
// standard output (dry_run_sink.h). The cycle logic (account_sync.h) talks only to this, so it
// is tested with a recorder. Methods throw on database errors (the cycle fails and is retried).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "hiveos/model.h"
#include "worker_rows.h"

namespace fleet::hiveos_sync {

struct Account {
  std::int64_t id = 0;
  std::string name;
  std::string base_url;
  std::string token_enc;  // sealed; opened only to build the Api
  double requests_per_minute = 20;
  int burst = 5;
};

struct FarmWrite {
  std::int64_t workers = 0;
  std::int64_t created = 0;   // workers new to fleetward
  std::int64_t metrics = 0;   // metrics_latest rows written
  std::int64_t readings = 0;  // rows appended to readings
};

class SyncSink {
 public:
  virtual ~SyncSink() = default;
  // Upserts the account's farms (GET /farms) into farms by hiveos_farm_id.
  virtual void save_farms(const Account& account, const std::vector<hiveos::Farm>& farms) = 0;
  // One farm's workers (GET /farms/{id}/workers), in one transaction: workers + rigs (renames,
  // farm moves, a removed worker back), last_seen_at of the live ones, their metrics.
  virtual FarmWrite save_farm(const Account& account, const hiveos::Farm& farm,
                              const std::vector<WorkerRow>& rows) = 0;
  // Every farm was read: the account's workers not in `seen` (HiveOS worker ids) become removed;
  // the account is ok with its counts. Returns how many workers were removed now.
  virtual std::int64_t finish_ok(const Account& account, const std::set<std::int64_t>& seen,
                                 std::int64_t farms) = 0;
  // The sync could not read everything: the account is failing with `reason`, and its rigs not
  // refreshed in this cycle (not in `seen`) are marked stale. No worker status changes.
  virtual void finish_failing(const Account& account, const std::string& reason,
                              const std::set<std::int64_t>& seen) = 0;
};

}  // namespace fleet::hiveos_sync
