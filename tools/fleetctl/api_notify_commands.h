// fleetctl api notify ...: notification channels, routes, subscriptions, messages and retry now
// through the REST API (issue 12; docs/notifications-channels.md). A channel's secret is read
// from a file (never from the command line, which other users can see) and never printed, except
// a webhook's generated key, shown once when the channel is added.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace fleet::client {
class Client;
}

namespace fleet::cli {

struct ApiNotifyChannelOptions {
  std::string name;
  std::string kind;
  std::string config_json;
  std::string secret_file;  // "" = none; first line is the secret
  std::string extra_json;   // other fields: template, group_by, group_wait_ms...
  std::optional<bool> enabled;
  bool json = false;
};

int api_notify_channels_list(client::Client& c, bool json, std::ostream& out);
int api_notify_channel_add(client::Client& c, const ApiNotifyChannelOptions& options,
                           std::ostream& out);
int api_notify_channel_update(client::Client& c, std::int64_t id,
                              const ApiNotifyChannelOptions& options, std::ostream& out);
int api_notify_channel_remove(client::Client& c, std::int64_t id, std::ostream& out);
int api_notify_test(client::Client& c, std::int64_t channel, std::ostream& out);

// Routes and subscriptions take their body as JSON (the API's fields).
int api_notify_routes_list(client::Client& c, std::ostream& out);
int api_notify_route_add(client::Client& c, const std::string& body_json, std::ostream& out);
int api_notify_route_remove(client::Client& c, std::int64_t id, std::ostream& out);
int api_notify_subscriptions_list(client::Client& c, std::ostream& out);
int api_notify_subscribe(client::Client& c, const std::string& body_json, std::ostream& out);
int api_notify_unsubscribe(client::Client& c, std::int64_t id, std::ostream& out);

struct ApiNotifyMessagesOptions {
  std::string state;  // "" = any
  std::int64_t channel = 0;
  int limit = 50;
  bool json = false;
};
int api_notify_messages(client::Client& c, const ApiNotifyMessagesOptions& options,
                        std::ostream& out);
int api_notify_retry(client::Client& c, std::int64_t message, std::ostream& out);

}  // namespace fleet::cli
