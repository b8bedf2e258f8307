// notifier: delivers the `notifications` rows to webhooks, MQTT topics and e-mail, routed by
// severity, event, site, farm and labels and to owners' subscriptions, grouped, retried with
// backoff, dead-lettered, at least once and once per channel however many replicas run. See
// docs/services/notifier.md and docs/notifications.md.
#include <unistd.h>

#include <memory>

#include <spdlog/spdlog.h>

#include "db/listener.h"
#include "db/session.h"
#include "notifier_engine.h"
#include "notifier_options.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace {

// The engine and its wake-up listener; the listener goes first (it calls into the engine).
struct Service {
  std::unique_ptr<fleet::notifier::Notifier> notifier;
  std::unique_ptr<fleet::db::Listener> listener;
  ~Service() { listener.reset(); }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {
          .name = "notifier",
          .description = "delivers notifications to webhooks, MQTT and e-mail: routed, grouped, "
                         "retried, dead-lettered",
          .default_interval = std::chrono::seconds(1),
          .required_tables = {"notifications", "notification_channels", "notification_routes",
                              "notification_subscriptions", "notification_messages",
                              "notification_deliveries", "notification_attempts",
                              "notification_groups", "workers"},
          // No leader: every replica claims with FOR UPDATE SKIP LOCKED and leases.
          .declare_config = [](config::Schema& schema) { notifier::declare_config(schema); },
          .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
            notifier::NotifierOptions options = notifier::options_from(setup.config);
            const std::string ca_file = options.ca_file;
            if (!ca_file.empty() && access(ca_file.c_str(), R_OK) != 0) {
              spdlog::error("notifier.ca_file {} cannot be read: https webhooks will fail",
                            ca_file);
            }
            options.instance_id = setup.instance_id;
            if (!setup.dry_run) options.record_database = setup.db.options();
            std::optional<secrets::SecretBox> box;
            if (auto opened = secrets::box_from(setup.config); opened.ok()) {
              box.emplace(std::move(*opened));
            } else {
              spdlog::warn("{}: channels with a secret cannot send", opened.error().message());
            }
            auto service = std::make_shared<Service>();
            service->notifier = std::make_unique<notifier::Notifier>(
                std::move(options), notifier::default_sender_factory(ca_file), std::move(box));
            if (!setup.dry_run) {
              notifier::Notifier* engine = service->notifier.get();
              service->listener = std::make_unique<db::Listener>(
                  setup.db.options(), "fleet_notifications", [engine, wake = setup.wake] {
                    engine->wake();
                    if (wake) wake();
                  });
            }
            return
                [service](runtime::CycleContext& ctx) { return service->notifier->run_cycle(ctx); };
          },
      });
}
