// telemetry-worker: reads /chains of every managed miner into compact chip telemetry and
// surfaces chip and chain anomalies as metrics. See docs/services/telemetry-worker.md.
#include "db/session.h"
#include "firmware/curl_transport.h"
#include "runtime/worker.h"
#include "telemetry_worker.h"

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {.name = "telemetry-worker",
       .description = "reads managed ASIC miners' /chains into compact chip telemetry",
       .default_interval = std::chrono::seconds(60),
       .required_tables = {"miners", "models", "chip_telemetry", "metrics_latest", "readings",
                           "partition_policies"},
       .declare_config = [](config::Schema& schema) { telemetry::declare_config(schema); },
       .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
         telemetry::TelemetryOptions options = telemetry::options_from(setup.config);
         auto transport =
             firmware::CurlTransport::create(asic::transport_options(options.firmware));
         if (!transport.ok()) throw std::runtime_error(transport.error().message());
         auto worker = std::make_shared<telemetry::TelemetryWorker>(
             std::move(options), setup.db.options(), setup.instance_id, std::move(*transport));
         return [worker](runtime::CycleContext& ctx) { return worker->run_cycle(ctx); };
       }});
}
