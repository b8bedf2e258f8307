// status-poller: polls /summary of every managed miner and stores statuses, fans, chain
// snapshots, metrics and readings. See docs/services/status-poller.md.
#include "db/session.h"
#include "firmware/curl_transport.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"
#include "status_poller.h"

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {.name = "status-poller",
       .description = "polls managed ASIC miners' /summary into statuses, metrics and readings",
       .default_interval = std::chrono::seconds(15),
       .required_tables = {"miners", "models", "statuses", "status_fans", "chain_snapshots",
                           "metrics_latest", "readings"},
       .declare_config = [](config::Schema& schema) { poller::declare_config(schema); },
       .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
         poller::PollerOptions options = poller::options_from(setup.config);
         auto box = secrets::box_from(setup.config);
         if (!box.ok()) throw runtime::ConfigError(box.error().message());
         auto transport =
             firmware::CurlTransport::create(asic::transport_options(options.firmware));
         if (!transport.ok()) throw std::runtime_error(transport.error().message());
         auto poller = std::make_shared<poller::StatusPoller>(std::move(options), std::move(*box),
                                                              setup.db.options(), setup.instance_id,
                                                              std::move(*transport));
         return [poller](runtime::CycleContext& ctx) { return poller->run_cycle(ctx); };
       }});
}
