// maintenance-worker: keeps daily partitions ahead of time, drops expired ones, and forgets the
// service_instances rows of processes that are long gone. See docs/services/maintenance-worker.md.
#include "db/session.h"
#include "partition_maintenance.h"
#include "runtime/worker.h"

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(argc, argv, {
      .name = "maintenance-worker",
      .description = "creates and expires time partitions; prunes stale process rows",
      .default_interval = std::chrono::minutes(10),
      .required_tables = {"partition_policies", "service_instances", "readings"},
      .declare_config =
          [](config::Schema& schema) {
            schema.add({.name = "maintenance.instance_retention",
                        .type = config::Type::kDuration,
                        .help = "delete service_instances rows of processes gone this long",
                        .default_value = std::chrono::milliseconds(7LL * 24 * 3'600'000),
                        .min = 60,
                        .max = 365.0 * 86'400});
            schema.add({.name = "maintenance.back_days",
                        .type = config::Type::kInt,
                        .help = "also make partitions this many days into the past",
                        .default_value = std::int64_t{1},
                        .min = 0,
                        .max = 30});
          },
      .setup =
          [](const runtime::Setup& setup) -> runtime::CycleFn {
            maintenance::MaintenanceOptions options{
                .instance_retention = setup.config.duration("maintenance.instance_retention"),
                .back_days = static_cast<int>(setup.config.integer("maintenance.back_days"))};
            return [options](runtime::CycleContext& ctx) {
              return maintenance::run_maintenance(ctx, options);
            };
          },
  });
}
