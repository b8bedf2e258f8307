// --dry-run: what the sync would write, one JSON object per line on standard output (through
// CycleContext::emit), and nothing written. Removals are found by reading (read-only session).
#pragma once

#include <functional>
#include <string_view>

#include "sync_sink.h"

namespace fleet::db {
class Session;
}

namespace fleet::hiveos_sync {

class DryRunSink final : public SyncSink {
 public:
  // `session` may be null (unit tests): removals are then not listed.
  DryRunSink(db::Session* session, std::function<void(std::string_view)> emit)
      : session_(session), emit_(std::move(emit)) {}
  void save_farms(const Account& account, const std::vector<hiveos::Farm>& farms) override;
  FarmWrite save_farm(const Account& account, const hiveos::Farm& farm,
                      const std::vector<WorkerRow>& rows) override;
  std::int64_t finish_ok(const Account& account, const std::set<std::int64_t>& seen,
                         std::int64_t farms) override;
  void finish_failing(const Account& account, const std::string& reason,
                      const std::set<std::int64_t>& seen) override;

 private:
  db::Session* session_;
  std::function<void(std::string_view)> emit_;
};

}  // namespace fleet::hiveos_sync
