// One hiveos-sync cycle: every enabled account in turn (token opened, an Api built for it, each
// request through the shared budget), written through PgSink (or DryRunSink under --dry-run).
// Keeps the failing accounts for /ready's detail.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "hiveos/api.h"
#include "hiveos/budget.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"
#include "sync_options.h"
#include "sync_sink.h"

namespace fleet::hiveos_sync {

struct SyncDeps {
  secrets::SecretBox box;
  // Builds the Api of an account from its opened token.
  std::function<std::unique_ptr<hiveos::Api>(const Account&, const std::string& token)> api;
  // The shared budget (PgBudget); null: a memory budget per account and cycle (--dry-run).
  std::unique_ptr<hiveos::Budget> budget;
};

class SyncCycle {
 public:
  SyncCycle(SyncOptions options, SyncDeps deps);

  runtime::CycleReport run_cycle(runtime::CycleContext& ctx);

  // {"failing_accounts": [{"id", "name", "reason"}]} as of the last cycle. Thread-safe.
  std::string ready_detail() const;

 private:
  const SyncOptions options_;
  SyncDeps deps_;
  std::uint64_t cycles_ = 0;
  mutable std::mutex mu_;
  std::string detail_;  // guarded by mu_
};

// The Api factory of the real binary: hiveos::make_http_api with the options' timeouts.
std::function<std::unique_ptr<hiveos::Api>(const Account&, const std::string&)> http_api_factory(
    const SyncOptions& options);

}  // namespace fleet::hiveos_sync
