// notifier's settings (the `notifier.*` configuration keys, docs/services/notifier.md).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "db/connection_options.h"

namespace fleet::config {
class Schema;
class Config;
}  // namespace fleet::config

namespace fleet::notifier {

using std::chrono::milliseconds;

struct NotifierOptions {
  int batch = 500;  // notifications routed, groups flushed, messages claimed per step
  // Per channel: messages sent at once (threads of its lane, started when needed); also at most
  // `batch` messages of one channel and 4 x `batch` in all are in flight here.
  int senders = 16;
  // A message being sent is leased this long; a notifier that dies mid-delivery loses it and
  // another (or its restart) sends it again. Longer than any channel timeout (60 s at most).
  milliseconds lease{std::chrono::seconds(90)};
  int failing_after = 3;  // consecutive failed attempts before a channel is failing
  milliseconds retry_initial{std::chrono::seconds(10)};
  milliseconds retry_max{std::chrono::hours(1)};
  // PEM CA bundle https webhooks are verified against instead of the system's ("" = system).
  std::string ca_file;
  // When set, finished attempts are recorded by a thread of the notifier's own on a connection of
  // its own, while the loop goes on routing, flushing and claiming; otherwise the loop records.
  std::optional<db::ConnectionOptions> record_database;
  // The service_instances id of this process (notification_attempts.notifier, leases).
  std::string instance_id = "notifier";
};

void declare_config(config::Schema& schema);
NotifierOptions options_from(const config::Config& config);

}  // namespace fleet::notifier
