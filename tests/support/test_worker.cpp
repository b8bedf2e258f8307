// test-worker: a worker on the runtime whose cycle is steered by configuration, for the runtime's
// end-to-end tests (exit codes, dry-run, SIGTERM rollback, probes, leases). Not deployed.
//
// Each cycle, in one transaction: inserts a row into test_marks (created by the test), optionally
// sleeps inside the database (test.cycle_sleep), then fails if test.mode is "fail".
#include <cstdlib>
#include <stdexcept>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "db/lease.h"
#include "db/session.h"
#include "runtime/worker.h"

int main(int argc, char** argv) {
  using namespace fleet;
  using std::chrono::milliseconds;
  // The lease is part of a worker's definition, not its configuration; the tests pick it here.
  const char* lease = std::getenv("FLEETTEST_LEASE");
  std::vector<std::string> tables{"test_marks"};
  if (const char* extra = std::getenv("FLEETTEST_REQUIRE_TABLE")) tables.push_back(extra);

  return runtime::run(argc, argv, {
      .name = "test-worker",
      .description = "configurable worker for runtime tests",
      .default_interval = std::chrono::seconds(1),
      .required_tables = tables,
      .leader_lease = lease != nullptr ? lease : "",
      .declare_config =
          [](config::Schema& schema) {
            schema.add({.name = "test.mode",
                        .type = config::Type::kString,
                        .help = "ok or fail",
                        .default_value = std::string("ok"),
                        .choices = {"ok", "fail", "bad-setup"}});
            schema.add({.name = "test.cycle_sleep",
                        .type = config::Type::kDuration,
                        .help = "pg_sleep inside the cycle's transaction",
                        .default_value = milliseconds(0)});
            schema.add({.name = "test.write_in_dry_run",
                        .type = config::Type::kBool,
                        .help = "try to write even under --dry-run (must fail)",
                        .default_value = false});
            schema.add({.name = "test.more_work",
                        .type = config::Type::kBool,
                        .help = "report more work after each cycle",
                        .default_value = false});
          },
      .setup =
          [](const runtime::Setup& setup) -> runtime::CycleFn {
            const std::string mode = setup.config.str("test.mode");
            if (mode == "bad-setup") throw runtime::ConfigError("test.mode bad-setup rejected");
            const milliseconds sleep = setup.config.duration("test.cycle_sleep");
            const bool force_write = setup.config.boolean("test.write_in_dry_run");
            const bool more = setup.config.boolean("test.more_work");
            const std::string instance = setup.instance_id;
            setup.db.prepare("test_insert_mark",
                             "INSERT INTO test_marks (instance, fenced) VALUES ($1, $2)");
            return [=](runtime::CycleContext& ctx) {
              if (ctx.dry_run() && !force_write) {
                ctx.emit(R"({"action":"insert_mark"})");
                return runtime::CycleReport{.items = 1, .counts = {{"marks", 0}}};
              }
              ctx.db().transact([&](pqxx::transaction_base& tx) {
                bool fenced = ctx.lease() != nullptr && ctx.lease()->still_held(tx);
                tx.exec_prepared("test_insert_mark", instance, fenced);
                if (sleep.count() > 0) {
                  tx.exec_params("SELECT pg_sleep($1)", static_cast<double>(sleep.count()) / 1000.0);
                }
                if (mode == "fail") throw std::runtime_error("injected failure");
              });
              return runtime::CycleReport{.items = 1, .more_work = more, .counts = {{"marks", 1}}};
            };
          },
  });
}
