// Notification channels, routes, subscriptions and messages as the client returns them (issue
// 12; docs/notifications-channels.md). `raw` keeps the server's JSON for printing or fields added
// later. A channel's secret is never returned by the server, except a webhook's generated key
// once, on creation (NotificationChannel::generated_secret).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace fleet::client {

struct NotificationChannel {
  std::int64_t id = 0;
  std::string name;
  std::string kind;  // webhook | mqtt | email
  bool enabled = true;
  bool has_secret = false;
  std::int64_t consecutive_failures = 0;
  std::optional<std::string> failing_since;
  std::optional<std::string> last_delivery_at;
  std::string last_error;
  std::optional<std::string> generated_secret;  // only in the answer to a create, when made
  std::string raw;
};

// A new channel (name, kind, config_json required) or a change (only the fields set are sent).
struct NotificationChannelDraft {
  std::optional<std::string> name;
  std::optional<std::string> kind;
  std::optional<std::string> config_json;  // a JSON object, per kind
  std::optional<std::string> secret;       // never logged
  std::optional<bool> enabled;
  std::optional<std::string> extra_json;  // other fields as a JSON object (template, group_by...)
};

struct NotificationMessage {
  std::int64_t id = 0;
  std::int64_t channel_id = 0;
  std::string channel;
  std::string state;  // pending | sending | retrying | delivered | dead
  std::int64_t attempts = 0;
  std::int64_t notifications = 0;
  std::optional<std::int64_t> last_status;
  std::string last_reply;
  std::optional<std::string> dead_reason;
  std::string created_at;
  std::string raw;
};

// A route or a subscription: its id and the server's JSON (printed as is).
struct NotificationRecord {
  std::int64_t id = 0;
  std::string raw;
};

}  // namespace fleet::client
