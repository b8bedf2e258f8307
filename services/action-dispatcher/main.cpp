// action-dispatcher: carries out the `commands` rows others decide — firmware calls to miners,
// relay controllers over MQTT — with the safety limits enforced at execution time, and records
// each command's life. See docs/services/action-dispatcher.md and docs/actions.md.
#include <map>
#include <memory>

#include "db/listener.h"
#include "db/session.h"
#include "dispatch/dispatcher.h"
#include "dispatch/firmware_channel.h"
#include "dispatch/hiveos_channel.h"
#include "dispatch/options.h"
#include "dispatch/relay_channel.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace {

// The engine and its wake-up listener; the listener goes first (it calls into the engine).
struct Service {
  std::unique_ptr<fleet::dispatch::Dispatcher> dispatcher;
  std::unique_ptr<fleet::db::Listener> listener;
  ~Service() { listener.reset(); }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {.name = "action-dispatcher",
       .description =
           "carries out queued commands: firmware calls, relay controllers over MQTT, HiveOS",
       .default_interval = std::chrono::seconds(2),
       .required_tables = {"commands", "workers", "miners", "relay_controllers", "relay_mappings",
                           "notifications", "site_holds", "rigs", "hiveos_accounts"},
       .declare_config = [](config::Schema& schema) { dispatch::declare_config(schema); },
       .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
         dispatch::Settings settings = dispatch::settings_from(setup.config);
         settings.dispatcher.store.owner = setup.instance_id;
         // Outcomes are recorded on a connection of their own while the cycle claims.
         if (!setup.dry_run) settings.dispatcher.record_database = setup.db.options();
         std::map<std::string, std::unique_ptr<dispatch::Channel>> channels;
         if (settings.firmware_enabled) {
           auto box = secrets::box_from(setup.config);
           if (!box.ok()) throw runtime::ConfigError(box.error().message());
           auto firmware = dispatch::make_firmware_channel(settings.firmware, std::move(*box));
           if (!firmware.ok()) throw std::runtime_error(firmware.error().message());
           channels["firmware"] = std::move(*firmware);
         }
         if (settings.hiveos_enabled) {
           auto box = secrets::box_from(setup.config);
           if (!box.ok()) throw runtime::ConfigError(box.error().message());
           auto hiveos =
               dispatch::make_hiveos_channel(settings.hiveos, std::move(*box), setup.db.options());
           if (!hiveos.ok()) throw std::runtime_error(hiveos.error().message());
           channels["hiveos"] = std::move(*hiveos);
         }
         if (settings.mqtt.port > 0) {
           auto relay = dispatch::make_relay_channel(settings.mqtt, setup.db.options(),
                                                     "fleetward-dispatcher-" + setup.instance_id);
           if (!relay.ok()) throw runtime::ConfigError(relay.error().message());
           channels["relay"] = std::move(*relay);
         }
         auto service = std::make_shared<Service>();
         service->dispatcher =
             std::make_unique<dispatch::Dispatcher>(settings.dispatcher, std::move(channels));
         if (!setup.dry_run) {
           dispatch::Dispatcher* engine = service->dispatcher.get();
           auto wake = setup.wake;
           service->listener =
               std::make_unique<db::Listener>(setup.db.options(), "fleet_commands", [engine, wake] {
                 engine->wake();
                 if (wake) wake();
               });
         }
         return
             [service](runtime::CycleContext& ctx) { return service->dispatcher->run_cycle(ctx); };
       }});
}
