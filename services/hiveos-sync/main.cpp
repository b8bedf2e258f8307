// hiveos-sync: reads every HiveOS account's farms and workers (one request per farm per cycle:
// identity and stats together) into farms, workers, rigs, metrics_latest and readings, within
// each account's shared request budget. See docs/services/hiveos-sync.md.
#include <memory>

#include "db/session.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"
#include "sync_cycle.h"
#include "sync_options.h"

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {
          .name = "hiveos-sync",
          .description = "syncs HiveOS farms, workers and their stats into farms, workers, rigs, "
                         "metrics_latest and readings",
          .default_interval = std::chrono::seconds(30),
          .required_tables = {"hiveos_accounts", "farms", "workers", "rigs", "metrics_latest",
                              "readings"},
          // One process reads HiveOS at a time: two would spend the accounts' budgets twice.
          .leader_lease = "hiveos-sync",
          .declare_config = [](config::Schema& schema) { hiveos_sync::declare_config(schema); },
          .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
            hiveos_sync::SyncOptions options = hiveos_sync::options_from(setup.config);
            auto box = secrets::box_from(setup.config);
            if (!box.ok()) throw runtime::ConfigError(box.error().message());
            hiveos_sync::SyncDeps deps{.box = std::move(*box),
                                       .api = hiveos_sync::http_api_factory(options),
                                       .budget = nullptr};
            // --dry-run sends no request it would have to account for in the shared budget: a
            // memory budget per account stands in.
            if (!setup.dry_run) deps.budget = hiveos::make_pg_budget(setup.db.options());
            auto cycle = std::make_shared<hiveos_sync::SyncCycle>(options, std::move(deps));
            if (setup.set_ready_detail) {
              setup.set_ready_detail([cycle] { return cycle->ready_detail(); });
            }
            return [cycle](runtime::CycleContext& ctx) { return cycle->run_cycle(ctx); };
          },
      });
}
