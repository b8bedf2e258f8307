// discovery-worker: sweeps the configured networks for Vnish miners, records them by MAC, keeps
// models and presets, provisions API keys, and marks vanished miners offline.
// See docs/services/discovery-worker.md.
#include "asic/firmware_config.h"
#include "db/session.h"
#include "discovery_cycle.h"
#include "firmware/curl_transport.h"
#include "runtime/worker.h"

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {.name = "discovery-worker",
       .description = "finds Vnish miners on the configured networks and provisions their API keys",
       .default_interval = std::chrono::seconds(30),
       .required_tables = {"workers", "miners", "models", "miner_rescan_requests"},
       .leader_lease = "discovery-worker",
       .declare_config = [](config::Schema& schema) { discovery::declare_config(schema); },
       .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
         discovery::DiscoveryOptions options = discovery::options_from(setup.config);
         auto box = secrets::box_from(setup.config);
         if (!box.ok()) throw runtime::ConfigError(box.error().message());
         auto transport =
             firmware::CurlTransport::create(asic::transport_options(options.firmware));
         if (!transport.ok()) throw std::runtime_error(transport.error().message());
         auto cycle = std::make_shared<discovery::DiscoveryCycle>(
             std::move(options), std::move(*box), setup.instance_id, std::move(*transport));
         return [cycle](runtime::CycleContext& ctx) { return cycle->run(ctx); };
       }});
}
