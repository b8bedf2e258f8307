// Validation of notification channel settings as the API receives them (issue 12; the formats
// are docs/notifications-channels.md and the notifier contract): the per-kind config object, the
// template, and the grouping and retry fields. Every refusal is an ApiError 400 naming the field
// ("config.url", "template.title", "group_by[2]"). The senders in libs/notify read what this
// returns.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "json_body.h"

namespace fleet::gateway {

// True when `host` resolves to an address (getaddrinfo by default; tests may replace it).
using HostResolves = std::function<bool(const std::string& host)>;
bool resolves_by_dns(const std::string& host);

// The config of a channel of `kind` (webhook, mqtt, email), checked field by field, with the
// defaults filled in (timeout_ms, port, starttls...). A host must resolve: 400 "host ... does not
// resolve" naming config.url / config.host / config.smtp_url.
nlohmann::json validated_channel_config(const std::string& kind, const nlohmann::json& config,
                                        const HostResolves& resolves);

// What a channel of this kind needs as secret given its config: "required" (webhook: the HMAC
// key, which the API generates when none is given), "with_username" (mqtt/email: a password
// when a username is set), so the API can refuse a missing one naming "secret".
bool channel_needs_secret(const std::string& kind, const nlohmann::json& config);

// {"title"?, "text"?}: strings passing notify::validate_template; 400 names template.title /
// template.text.
nlohmann::json validated_template(const nlohmann::json& tmpl);

// group_by: an array of event/severity/site/farm/worker/rule/source without repeats.
nlohmann::json validated_group_by(const nlohmann::json& group_by);

// Kinds the notifier knows.
bool is_channel_kind(const std::string& kind);

}  // namespace fleet::gateway
