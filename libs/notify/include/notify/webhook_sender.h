// The webhook channel (docs/notifications.md): POSTs the notification document as is, signed with
// the channel's secret, over libcurl with TLS verification on, no redirects, no proxy from the
// environment, the response body read at most max_reply_bytes, and the channel's timeout.
//
//   X-Fleetward-Delivery:  <idempotency key>      (receivers drop duplicates with it)
//   X-Fleetward-Timestamp: <unix seconds>
//   X-Fleetward-Signature: t=<unix seconds>,v1=<lowercase hex HMAC-SHA256(secret, "<t>.<body>")>
//
// 2xx -> delivered; anything else, a refused connection or a timeout before the body was sent ->
// failed; a timeout or a broken connection after the body was sent -> uncertain (retried too).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "notify/sender.h"

namespace fleet::notify {

// A webhook channel's config object: {"url": "http(s)://host[:port]/path", "timeout_ms": 5000}.
struct WebhookConfig {
  std::string url;
  int timeout_ms = 5000;  // 100..60000
};

// kInvalidArgument naming the field (config.url, config.timeout_ms) when malformed.
Result<WebhookConfig> parse_webhook_config(std::string_view config_json);

// Lowercase hex HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// The X-Fleetward-Signature value: "t=<t>,v1=<hmac_sha256_hex(secret, "<t>.<body>")>".
std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body);

struct WebhookOptions {
  std::size_t max_reply_bytes = 64 * 1024;  // the rest of an answer is not read
  std::size_t max_excerpt = 200;            // SendResult::reply keeps this much
  std::function<std::int64_t()> unix_now;   // the timestamp signed; the real clock when empty
  // A PEM file of CA certificates that https receivers are verified against instead of the
  // system's bundle (a private CA); "" = the system's. Verification is never switched off.
  std::string ca_file;
};

// Thread-safe: each calling thread keeps its own libcurl handle (and its kept-alive connections).
std::unique_ptr<Sender> make_webhook_sender(WebhookOptions options = {});

}  // namespace fleet::notify
