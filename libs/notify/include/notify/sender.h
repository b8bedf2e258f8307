// How the notifier hands one rendered message to a channel (webhook, MQTT, e-mail) and what the
// channel says back. A Sender is blocking and thread-safe (the notifier calls it from a pool of
// threads); it never logs or returns the channel's secret.
//
// The message body is the versioned notification document (docs/notifications.md):
//   {"version": 1, "id": <idempotency key>, "kind": "group"|"repeat"|"channel_alert",
//    "channel": <name>, "group_key": ..., "group": {"event": ..., "site": ..., ...},
//    "status": "firing"|"resolved"|"info", "severity": <highest>, "title": <rendered>,
//    "text": <rendered>, "count": N, "counts": {"critical": a, "warning": b, "info": c},
//    "notifications": [ first max_items of {"id", "event", "severity", "title", "body",
//                        "created_at", "worker": {"id", "name", "kind", "site"} | null,
//                        "rule_id", "alert_id", "payload"} ],
//    "truncated": N - listed, "created_at": RFC 3339}
// Each sender sends it as its medium wants: the webhook POSTs it as is (signed), MQTT publishes it
// as is, e-mail renders subject (title), text and HTML parts from it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace fleet::notify {

// A channel as the notifier loaded it (notification_channels), the secret opened.
struct ChannelSettings {
  std::int64_t id = 0;
  std::string name;
  std::string kind;         // webhook | mqtt | email
  std::string config_json;  // the row's config object
  std::string secret;       // "" when none; never log
};

struct OutgoingMessage {
  std::int64_t id = 0;
  std::string idempotency_key;  // also in the document's "id"
  std::string recipient;        // "" or the subscription's address (e-mail)
  std::string document_json;    // the versioned document above
  int attempt = 1;
};

struct SendResult {
  enum class Outcome {
    kDelivered,  // the receiver took it (2xx, MQTT PUBACK, SMTP 250 after DATA)
    kFailed,     // it did not; safe to send again later
    kUncertain,  // it may have (timeout after the request was sent): retried, receivers dedupe
  };
  Outcome outcome = Outcome::kFailed;
  bool permanent = false;  // retrying cannot help (bad configuration): dead at once
  int status = 0;          // HTTP status / SMTP reply code / MQTT reason code, 0 when none
  std::string reply;       // a short, capped excerpt of what the receiver said (no secrets)
  std::string error;       // why it failed, for logs and notification_attempts
  std::chrono::microseconds latency{0};
};

class Sender {
 public:
  virtual ~Sender() = default;
  virtual SendResult send(const ChannelSettings& channel, const OutgoingMessage& message) = 0;
};

}  // namespace fleet::notify
