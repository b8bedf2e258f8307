// heartbeat-monitor: decides every worker's liveness status from its signs of life (node
// heartbeats, ASIC polls, rig sightings, device readings), with recovery holds, flap damping and
// partition protection, and writes the notifications. See docs/services/heartbeat-monitor.md.
#include <memory>

#include "monitor_cycle.h"
#include "monitor_options.h"
#include "runtime/worker.h"

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {
          .name = "heartbeat-monitor",
          .description = "marks workers online, unhealthy, offline or unreachable from their "
                         "heartbeats; holds partitioned sites; notifies",
          .default_interval = std::chrono::seconds(15),
          .required_tables = {"workers", "nodes", "devices", "worker_status_history", "site_holds",
                              "notifications"},
          // Statuses are decided once in the cluster: replicas stand by and take over on expiry.
          .leader_lease = "heartbeat-monitor",
          .declare_config = [](config::Schema& schema) { heartbeat::declare_config(schema); },
          .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
            heartbeat::MonitorOptions options = heartbeat::options_from(setup.config);
            options.instance_id = setup.instance_id;
            auto monitor = std::make_shared<heartbeat::HeartbeatMonitor>(std::move(options));
            return [monitor](runtime::CycleContext& ctx) { return monitor->run_cycle(ctx); };
          },
      });
}
