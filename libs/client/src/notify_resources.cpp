// Notification channels, routes, subscriptions and messages (issue 12).
#include "client/client.h"
#include "record_reader.h"
#include "session.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;

NotificationChannel channel_of(const json& j) {
  record::Reader r(j, "notification channel");
  return {.id = r.i64("id"),
          .name = r.str("name"),
          .kind = r.str("kind"),
          .enabled = r.boolean("enabled"),
          .has_secret = r.boolean("has_secret"),
          .consecutive_failures = r.opt_i64("consecutive_failures").value_or(0),
          .failing_since = r.opt_str("failing_since"),
          .last_delivery_at = r.opt_str("last_delivery_at"),
          .last_error = r.opt_str("last_error").value_or(""),
          .generated_secret = r.opt_str("secret"),
          .raw = record::dump(j)};
}

NotificationMessage message_of(const json& j) {
  record::Reader r(j, "notification message");
  return {.id = r.i64("id"),
          .channel_id = r.i64("channel_id"),
          .channel = r.str("channel"),
          .state = r.str("state"),
          .attempts = r.i64("attempts"),
          .notifications = r.opt_i64("notifications").value_or(0),
          .last_status = r.opt_i64("last_status"),
          .last_reply = r.opt_str("last_reply").value_or(""),
          .dead_reason = r.opt_str("dead_reason"),
          .created_at = r.opt_str("created_at").value_or(""),
          .raw = record::dump(j)};
}

NotificationRecord record_of(const json& j) {
  record::Reader r(j, "notification record");
  return {.id = r.i64("id"), .raw = record::dump(j)};
}

json parse_object(const std::string& text, const char* what) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    throw ValidationError(400, "invalid_argument", std::string(what) + " is not a JSON object",
                          what);
  }
  return j;
}

json draft_json(const NotificationChannelDraft& d) {
  json j = d.extra_json ? parse_object(*d.extra_json, "extra") : json::object();
  if (d.name) j["name"] = *d.name;
  if (d.kind) j["kind"] = *d.kind;
  if (d.config_json) j["config"] = parse_object(*d.config_json, "config");
  if (d.secret) j["secret"] = *d.secret;
  if (d.enabled) j["enabled"] = *d.enabled;
  return j;
}

template <class T, class Parse>
std::vector<T> all_pages(Session& s, const std::string& path, const char* cursor, Parse parse) {
  std::vector<T> out;
  std::optional<std::string> from;
  for (;;) {
    Query q(path);
    q.add_limit(path.find("messages") != std::string::npos ? 500 : 1000).add(cursor, from);
    const json page = s.call("GET", q.str());
    if (!page.is_object() || !page.contains("items") || !page["items"].is_array()) {
      throw ProtocolError("a page of " + path + " has no items");
    }
    for (const auto& item : page["items"])
      out.push_back(parse(item));
    if (!page.contains("next") || !page["next"].is_string()) break;
    const std::string next = page["next"].get<std::string>();
    if (from && *from == next) break;
    from = next;
  }
  return out;
}

std::string channel_path(std::int64_t id, const char* rest = "") {
  return "/api/notifications/channels/" + std::to_string(id) + rest;
}

}  // namespace

std::vector<NotificationChannel> NotificationsApi::channels() {
  return all_pages<NotificationChannel>(s_, "/api/notifications/channels", "after", channel_of);
}

NotificationChannel NotificationsApi::channel(std::int64_t id) {
  return channel_of(s_.call("GET", channel_path(id)));
}

NotificationChannel NotificationsApi::create_channel(const NotificationChannelDraft& draft) {
  const json body = draft_json(draft);
  return channel_of(s_.call("POST", "/api/notifications/channels", &body));
}

NotificationChannel NotificationsApi::update_channel(std::int64_t id,
                                                     const NotificationChannelDraft& change) {
  const json body = draft_json(change);
  return channel_of(s_.call("PATCH", channel_path(id), &body));
}

void NotificationsApi::remove_channel(std::int64_t id) {
  s_.call("DELETE", channel_path(id));
}

std::int64_t NotificationsApi::test_channel(std::int64_t id) {
  const json empty = json::object();
  const json answer = s_.call("POST", channel_path(id, "/test"), &empty);
  if (!answer.is_object() || !answer.contains("notification_id") ||
      !answer["notification_id"].is_number_integer()) {
    throw ProtocolError("the answer to a channel test has no notification_id");
  }
  return answer["notification_id"].get<std::int64_t>();
}

std::vector<NotificationRecord> NotificationsApi::routes() {
  return all_pages<NotificationRecord>(s_, "/api/notifications/routes", "after", record_of);
}

NotificationRecord NotificationsApi::create_route(const std::string& route_json) {
  const json body = parse_object(route_json, "route");
  return record_of(s_.call("POST", "/api/notifications/routes", &body));
}

void NotificationsApi::remove_route(std::int64_t id) {
  s_.call("DELETE", "/api/notifications/routes/" + std::to_string(id));
}

std::vector<NotificationRecord> NotificationsApi::subscriptions() {
  const json answer = s_.call("GET", "/api/notifications/subscriptions");
  std::vector<NotificationRecord> out;
  if (!answer.is_object() || !answer.contains("items") || !answer["items"].is_array()) {
    throw ProtocolError("the subscriptions answer has no items");
  }
  for (const auto& item : answer["items"])
    out.push_back(record_of(item));
  return out;
}

NotificationRecord NotificationsApi::subscribe(const std::string& subscription_json) {
  const json body = parse_object(subscription_json, "subscription");
  return record_of(s_.call("POST", "/api/notifications/subscriptions", &body));
}

void NotificationsApi::unsubscribe(std::int64_t id) {
  s_.call("DELETE", "/api/notifications/subscriptions/" + std::to_string(id));
}

std::vector<NotificationMessage> NotificationsApi::messages(const MessageFilter& filter) {
  Query q("/api/notifications/messages");
  q.add_limit(filter.limit > 0 ? filter.limit : 50)
      .add("state", filter.state)
      .add("channel", filter.channel_id);
  const json page = s_.call("GET", q.str());
  if (!page.is_object() || !page.contains("items") || !page["items"].is_array()) {
    throw ProtocolError("a page of messages has no items");
  }
  std::vector<NotificationMessage> out;
  for (const auto& item : page["items"])
    out.push_back(message_of(item));
  return out;
}

NotificationMessage NotificationsApi::message(std::int64_t id) {
  return message_of(s_.call("GET", "/api/notifications/messages/" + std::to_string(id)));
}

NotificationMessage NotificationsApi::retry(std::int64_t id) {
  const json empty = json::object();
  return message_of(
      s_.call("POST", "/api/notifications/messages/" + std::to_string(id) + "/retry", &empty));
}

}  // namespace fleet::client
