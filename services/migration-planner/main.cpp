// migration-planner: moves the containers of failed (offline past a grace) and draining nodes to
// healthy nodes with room and the lowest load, under each organisation's policy (automatic,
// manual approval, none); places new deployments; switches routes; removes stale copies. See
// docs/services/migration-planner.md.
#include <memory>

#include "db/listener.h"
#include "db/session.h"
#include "planner_cycle.h"
#include "planner_options.h"
#include "runtime/worker.h"

namespace {

// The planner and its wake-up listener; the listener goes first.
struct Service {
  std::unique_ptr<fleet::planner::MigrationPlanner> planner;
  std::unique_ptr<fleet::db::Listener> listener;
  ~Service() { listener.reset(); }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {
          .name = "migration-planner",
          .description = "moves containers off failed and draining nodes, places deployments, "
                         "switches routes (policies automatic, manual, none)",
          .default_interval = std::chrono::seconds(15),
          .required_tables = {"workers", "nodes", "site_holds", "organizations",
                              "organization_members", "deployments", "placements",
                              "migration_plans", "migrations", "routes", "commands",
                              "notifications"},
          // Plans are made once in the cluster: replicas stand by and take over on expiry.
          .leader_lease = "migration-planner",
          .declare_config = [](config::Schema& schema) { planner::declare_config(schema); },
          .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
            planner::PlannerOptions options = planner::options_from(setup.config);
            options.instance_id = setup.instance_id;
            auto service = std::make_shared<Service>();
            service->planner =
                std::make_unique<planner::MigrationPlanner>(std::move(options), &setup.metrics);
            // Deployments, approvals, policies and node statuses wake it (NOTIFY fleet_planner,
            // 0044's triggers); the interval is the fallback.
            if (setup.wake) {
              service->listener = std::make_unique<db::Listener>(
                  setup.db.options(), "fleet_planner", [wake = setup.wake] { wake(); });
            }
            return
                [service](runtime::CycleContext& ctx) { return service->planner->run_cycle(ctx); };
          },
      });
}
