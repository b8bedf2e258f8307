// CLI11 wiring of `fleetctl api notify ...` (the logic is in api_notify_commands.h).
#include <memory>

#include <CLI/CLI.hpp>

#include "api_cli.h"
#include "api_notify_commands.h"

namespace fleet::cli {
namespace {

struct NotifyCliState {
  ApiNotifyChannelOptions channel;
  ApiNotifyMessagesOptions messages;
  std::int64_t id = 0;
  std::string body;
  bool json = false;
  bool enable = false, disable = false;
};

}  // namespace

void add_api_notify_commands(CLI::App& api, const ApiCommandSetter& set) {
  auto st = std::make_shared<NotifyCliState>();
  auto* n = api.add_subcommand(
      "notify", "notification channels, routes, subscriptions and messages (issue 12)");
  n->require_subcommand(1);

  auto* ch = n->add_subcommand("channels", "webhook, MQTT and e-mail channels (admin)");
  ch->require_subcommand(1);
  auto* chl = ch->add_subcommand("list", "every channel and its health");
  chl->add_flag("--json", st->json, "print JSON");
  chl->callback([st, set] {
    set([st](client::Client& c) { return api_notify_channels_list(c, st->json, std::cout); });
  });
  auto* cha = ch->add_subcommand("add", "add a channel");
  cha->add_option("name", st->channel.name, "channel name")->required();
  cha->add_option("--kind", st->channel.kind, "webhook, mqtt or email")
      ->required()
      ->check(CLI::IsMember({"webhook", "mqtt", "email"}));
  cha->add_option("--config", st->channel.config_json, "the config object (JSON)")->required();
  cha->add_option("--secret-file", st->channel.secret_file,
                  "file whose first line is the secret (HMAC key, MQTT/SMTP password)");
  cha->add_option("--extra", st->channel.extra_json,
                  "other fields as JSON (template, group_by, group_wait_ms, max_attempts...)");
  cha->add_flag("--json", st->channel.json, "print JSON");
  cha->callback([st, set] {
    set([st](client::Client& c) { return api_notify_channel_add(c, st->channel, std::cout); });
  });
  auto* chu = ch->add_subcommand("update", "change a channel (only what is given)");
  chu->add_option("id", st->id, "channel id")->required()->check(CLI::PositiveNumber);
  chu->add_option("--config", st->channel.config_json, "the whole new config object (JSON)");
  chu->add_option("--secret-file", st->channel.secret_file, "file with the new secret");
  chu->add_option("--extra", st->channel.extra_json, "other fields as JSON");
  chu->add_flag("--enable", st->enable, "enable it");
  chu->add_flag("--disable", st->disable, "disable it (pending deliveries are suppressed)");
  chu->callback([st, set] {
    if (st->enable) st->channel.enabled = true;
    if (st->disable) st->channel.enabled = false;
    set([st](client::Client& c) {
      return api_notify_channel_update(c, st->id, st->channel, std::cout);
    });
  });
  auto* chr = ch->add_subcommand("remove", "remove a channel and its history");
  chr->add_option("id", st->id, "channel id")->required()->check(CLI::PositiveNumber);
  chr->callback([st, set] {
    set([st](client::Client& c) { return api_notify_channel_remove(c, st->id, std::cout); });
  });

  auto* t = n->add_subcommand("test", "send a test notification to one channel (admin)");
  t->add_option("channel", st->id, "channel id")->required()->check(CLI::PositiveNumber);
  t->callback([st, set] {
    set([st](client::Client& c) { return api_notify_test(c, st->id, std::cout); });
  });

  auto* r = n->add_subcommand("routes", "which notifications go to which channel (admin)");
  r->require_subcommand(1);
  r->add_subcommand("list", "every route (JSON)")->callback([set] {
    set([](client::Client& c) { return api_notify_routes_list(c, std::cout); });
  });
  auto* ra = r->add_subcommand("add", "add a route");
  ra->add_option("route", st->body,
                 R"(JSON: {"name", "channel_id", "severities", "events", "sites", "farm_ids", )"
                 R"("worker_labels"})")
      ->required();
  ra->callback([st, set] {
    set([st](client::Client& c) { return api_notify_route_add(c, st->body, std::cout); });
  });
  auto* rr = r->add_subcommand("remove", "remove a route");
  rr->add_option("id", st->id, "route id")->required()->check(CLI::PositiveNumber);
  rr->callback([st, set] {
    set([st](client::Client& c) { return api_notify_route_remove(c, st->id, std::cout); });
  });

  auto* s = n->add_subcommand("subscriptions", "your notifications about your own nodes");
  s->require_subcommand(1);
  s->add_subcommand("list", "your subscriptions (an admin: everyone's)")->callback([set] {
    set([](client::Client& c) { return api_notify_subscriptions_list(c, std::cout); });
  });
  auto* sa = s->add_subcommand("add", "subscribe");
  sa->add_option("subscription", st->body,
                 R"(JSON: {"channel_id", "events", "min_severity", "address"})")
      ->required();
  sa->callback([st, set] {
    set([st](client::Client& c) { return api_notify_subscribe(c, st->body, std::cout); });
  });
  auto* sr = s->add_subcommand("remove", "unsubscribe");
  sr->add_option("id", st->id, "subscription id")->required()->check(CLI::PositiveNumber);
  sr->callback([st, set] {
    set([st](client::Client& c) { return api_notify_unsubscribe(c, st->id, std::cout); });
  });

  auto* m = n->add_subcommand("messages", "messages the notifier sent (operator)");
  m->add_option("--state", st->messages.state, "pending, sending, retrying, delivered or dead")
      ->check(CLI::IsMember({"pending", "sending", "retrying", "delivered", "dead"}));
  m->add_option("--channel", st->messages.channel, "only this channel id");
  m->add_option("--limit", st->messages.limit, "newest N (1..500)")->check(CLI::Range(1, 500));
  m->add_flag("--json", st->messages.json, "print JSON");
  m->callback([st, set] {
    set([st](client::Client& c) { return api_notify_messages(c, st->messages, std::cout); });
  });

  auto* re = n->add_subcommand("retry", "send a dead or retrying message again now (operator)");
  re->add_option("message", st->id, "message id")->required()->check(CLI::PositiveNumber);
  re->callback([st, set] {
    set([st](client::Client& c) { return api_notify_retry(c, st->id, std::cout); });
  });
}

}  // namespace fleet::cli
