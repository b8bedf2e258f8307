#include "api_notify_commands.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "client/client.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

std::optional<std::string> read_secret(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path);
  if (!in) {
    throw client::ValidationError(400, "invalid_argument", "cannot read the secret file " + path,
                                  "secret-file");
  }
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
    line.pop_back();
  return line;
}

client::NotificationChannelDraft draft_of(const ApiNotifyChannelOptions& o) {
  client::NotificationChannelDraft d;
  if (!o.name.empty()) d.name = o.name;
  if (!o.kind.empty()) d.kind = o.kind;
  if (!o.config_json.empty()) d.config_json = o.config_json;
  if (!o.extra_json.empty()) d.extra_json = o.extra_json;
  d.secret = read_secret(o.secret_file);
  d.enabled = o.enabled;
  return d;
}

void print_channel(const client::NotificationChannel& ch, std::ostream& out) {
  out << "channel " << ch.id << ": " << ch.name << " (" << ch.kind << ", "
      << (ch.enabled ? "enabled" : "disabled") << ", "
      << (ch.has_secret ? "secret set" : "no secret") << ")\n";
  if (ch.failing_since) {
    out << "  failing since " << *ch.failing_since << " (" << ch.consecutive_failures
        << " failures): " << ch.last_error << "\n";
  }
}

void print_records(const std::vector<client::NotificationRecord>& items, std::ostream& out) {
  json arr = json::array();
  for (const auto& r : items)
    arr.push_back(json::parse(r.raw, nullptr, false));
  out << arr.dump(2) << "\n";
}

}  // namespace

int api_notify_channels_list(client::Client& c, bool as_json, std::ostream& out) {
  const auto items = c.notifications().channels();
  if (as_json) {
    json arr = json::array();
    for (const auto& ch : items)
      arr.push_back(json::parse(ch.raw, nullptr, false));
    out << arr.dump(2) << "\n";
    return 0;
  }
  Table table({"ID", "NAME", "KIND", "ENABLED", "SECRET", "LAST DELIVERY", "HEALTH"});
  for (const auto& ch : items) {
    table.add({std::to_string(ch.id), ch.name, ch.kind, ch.enabled ? "yes" : "no",
               ch.has_secret ? "set" : "-", ch.last_delivery_at.value_or("-"),
               ch.failing_since ? "failing since " + *ch.failing_since : "ok"});
  }
  out << (items.empty() ? "no notification channels\n" : table.render());
  return 0;
}

int api_notify_channel_add(client::Client& c, const ApiNotifyChannelOptions& options,
                           std::ostream& out) {
  const auto ch = c.notifications().create_channel(draft_of(options));
  if (options.json) {
    out << json::parse(ch.raw, nullptr, false).dump(2) << "\n";
    return 0;
  }
  print_channel(ch, out);
  if (ch.generated_secret) {
    out << "  generated signing secret (shown only now; receivers verify "
           "X-Fleetward-Signature with it):\n  "
        << *ch.generated_secret << "\n";
  }
  return 0;
}

int api_notify_channel_update(client::Client& c, std::int64_t id,
                              const ApiNotifyChannelOptions& options, std::ostream& out) {
  print_channel(c.notifications().update_channel(id, draft_of(options)), out);
  return 0;
}

int api_notify_channel_remove(client::Client& c, std::int64_t id, std::ostream& out) {
  c.notifications().remove_channel(id);
  out << "removed notification channel " << id << "\n";
  return 0;
}

int api_notify_test(client::Client& c, std::int64_t channel, std::ostream& out) {
  const auto notification = c.notifications().test_channel(channel);
  out << "test notification " << notification << " written for channel " << channel
      << "; follow it with `fleetctl api notify messages --channel " << channel << "`\n";
  return 0;
}

int api_notify_routes_list(client::Client& c, std::ostream& out) {
  print_records(c.notifications().routes(), out);
  return 0;
}

int api_notify_route_add(client::Client& c, const std::string& body_json, std::ostream& out) {
  const auto r = c.notifications().create_route(body_json);
  out << "route " << r.id << " added\n";
  return 0;
}

int api_notify_route_remove(client::Client& c, std::int64_t id, std::ostream& out) {
  c.notifications().remove_route(id);
  out << "removed route " << id << "\n";
  return 0;
}

int api_notify_subscriptions_list(client::Client& c, std::ostream& out) {
  print_records(c.notifications().subscriptions(), out);
  return 0;
}

int api_notify_subscribe(client::Client& c, const std::string& body_json, std::ostream& out) {
  const auto r = c.notifications().subscribe(body_json);
  out << "subscription " << r.id << " added\n";
  return 0;
}

int api_notify_unsubscribe(client::Client& c, std::int64_t id, std::ostream& out) {
  c.notifications().unsubscribe(id);
  out << "removed subscription " << id << "\n";
  return 0;
}

int api_notify_messages(client::Client& c, const ApiNotifyMessagesOptions& options,
                        std::ostream& out) {
  client::MessageFilter filter;
  if (!options.state.empty()) filter.state = options.state;
  if (options.channel > 0) filter.channel_id = options.channel;
  filter.limit = options.limit;
  const auto items = c.notifications().messages(filter);
  if (options.json) {
    json arr = json::array();
    for (const auto& m : items)
      arr.push_back(json::parse(m.raw, nullptr, false));
    out << arr.dump(2) << "\n";
    return 0;
  }
  Table table({"ID", "CHANNEL", "STATE", "ATTEMPTS", "NOTIFICATIONS", "LAST", "CREATED"});
  for (const auto& m : items) {
    std::string last = m.last_status ? std::to_string(*m.last_status) : "-";
    if (m.dead_reason) last += " (" + *m.dead_reason + ")";
    table.add({std::to_string(m.id), m.channel, m.state, std::to_string(m.attempts),
               std::to_string(m.notifications), last, m.created_at});
  }
  out << (items.empty() ? "no messages\n" : table.render());
  return 0;
}

int api_notify_retry(client::Client& c, std::int64_t message, std::ostream& out) {
  const auto m = c.notifications().retry(message);
  out << "message " << m.id << " to " << m.channel << " is " << m.state << ": sent again now\n";
  return 0;
}

}  // namespace fleet::cli
