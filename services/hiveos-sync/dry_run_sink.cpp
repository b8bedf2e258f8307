#include "dry_run_sink.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/session.h"
#include "sync_store.h"

namespace fleet::hiveos_sync {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

void DryRunSink::save_farms(const Account& account, const std::vector<hiveos::Farm>& farms) {
  for (const auto& f : farms) {
    emit_(dump({{"action", "upsert_farm"},
                {"account_id", account.id},
                {"hiveos_farm_id", f.id},
                {"name", f.name}}));
  }
}

FarmWrite DryRunSink::save_farm(const Account& account, const hiveos::Farm& farm,
                                const std::vector<WorkerRow>& rows) {
  FarmWrite w;
  for (const auto& r : rows) {
    json j = {{"action", "upsert_worker"},
              {"account_id", account.id},
              {"hiveos_farm_id", farm.id},
              {"hiveos_worker_id", r.worker.id},
              {"name", r.worker.name},
              {"kind", r.kind},
              {"live", r.live},
              {"metrics", r.live ? r.metrics.size() : 0}};
    j["ip"] = r.ip.empty() ? json(nullptr) : json(r.ip);
    if (r.worker.stats.stats_time) j["stats_time"] = *r.worker.stats.stats_time;
    emit_(dump(j));
  }
  w.workers = static_cast<std::int64_t>(rows.size());
  w.metrics = static_cast<std::int64_t>(metric_count(rows));
  return w;
}

std::int64_t DryRunSink::finish_ok(const Account& account, const std::set<std::int64_t>& seen,
                                   std::int64_t farms) {
  std::int64_t removed = 0;
  if (session_) {
    auto missing = session_->transact(
        [&](pqxx::transaction_base& tx) { return missing_rigs(tx, account.id, seen); });
    for (const auto& m : missing) {
      emit_(dump({{"action", "remove_worker"},
                  {"account_id", account.id},
                  {"hiveos_worker_id", m.hiveos_worker_id},
                  {"worker_id", m.worker_id},
                  {"name", m.name}}));
      ++removed;
    }
  }
  emit_(dump({{"action", "account_state"},
              {"account_id", account.id},
              {"state", "ok"},
              {"farms", farms},
              {"workers", seen.size()}}));
  return removed;
}

void DryRunSink::finish_failing(const Account& account, const std::string& reason,
                                const std::set<std::int64_t>& seen) {
  emit_(dump({{"action", "account_state"},
              {"account_id", account.id},
              {"state", "failing"},
              {"reason", reason},
              {"refreshed_workers", seen.size()}}));
}

}  // namespace fleet::hiveos_sync
