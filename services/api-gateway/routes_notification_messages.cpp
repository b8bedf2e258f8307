// What the notifier did (issue 12): notifications with their per-channel delivery state, the
// messages it sent (grouped, retried, dead-lettered) with every attempt, and "retry now" for a
// dead or retrying message. Reading notifications: any user; messages: operators.
#include <pqxx/pqxx>

#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

const std::string kNotificationSelect =
    "SELECT n.id, " + iso_sql("n.created_at") +
    ", n.source, n.event, n.severity, n.title, n.body, n.worker_id, n.rule_id, n.alert_id, "
    "n.payload::text, " +
    iso_sql("n.routed_at") +
    ", (SELECT coalesce(jsonb_agg(jsonb_build_object('channel_id', d.channel_id, 'channel', "
    "c.name, 'recipient', d.recipient, 'state', d.state, 'message_id', d.message_id, 'reason', "
    "d.reason) ORDER BY d.channel_id, d.recipient), '[]'::jsonb) FROM notification_deliveries d "
    "JOIN notification_channels c ON c.id = d.channel_id WHERE d.notification_id = n.id)::text "
    "FROM notifications n ";

json notification_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"created_at", r[1].as<std::string>()},
          {"source", r[2].as<std::string>()},
          {"event", r[3].as<std::string>()},
          {"severity", r[4].as<std::string>()},
          {"title", r[5].as<std::string>()},
          {"body", r[6].as<std::string>()},
          {"worker_id", opt_int(r[7])},
          {"rule_id", opt_int(r[8])},
          {"alert_id", opt_int(r[9])},
          {"payload", json::parse(r[10].as<std::string>())},
          {"routed_at", opt_text(r[11])},
          {"deliveries", json::parse(r[12].as<std::string>())}};
}

const std::string kMessageSelect =
    "SELECT m.id, m.channel_id, c.name, c.kind, m.recipient, m.group_key, m.kind, "
    "m.idempotency_key, m.notifications, m.state, m.attempts, m.retry_base, " +
    iso_sql("m.next_attempt_at") + ", m.last_status, m.last_reply, m.last_latency_ms, " +
    iso_sql("m.created_at") + ", " + iso_sql("m.delivered_at") + ", " + iso_sql("m.dead_at") +
    ", m.dead_reason FROM notification_messages m JOIN notification_channels c ON c.id = "
    "m.channel_id ";

json message_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"channel_id", r[1].as<std::int64_t>()},
          {"channel", r[2].as<std::string>()},
          {"channel_kind", r[3].as<std::string>()},
          {"recipient", r[4].as<std::string>()},
          {"group_key", r[5].as<std::string>()},
          {"kind", r[6].as<std::string>()},
          {"idempotency_key", r[7].as<std::string>()},
          {"notifications", r[8].as<std::int64_t>()},
          {"state", r[9].as<std::string>()},
          {"attempts", r[10].as<std::int64_t>()},
          {"retry_base", r[11].as<std::int64_t>()},
          {"next_attempt_at", opt_text(r[12])},
          {"last_status", opt_int(r[13])},
          {"last_reply", r[14].as<std::string>()},
          {"last_latency_ms", opt_double(r[15])},
          {"created_at", r[16].as<std::string>()},
          {"delivered_at", opt_text(r[17])},
          {"dead_at", opt_text(r[18])},
          {"dead_reason", opt_text(r[19])}};
}

json attempt_json(const pqxx::row& r) {
  return {{"attempt", r[0].as<std::int64_t>()},
          {"started_at", r[1].as<std::string>()},
          {"latency_ms", r[2].as<double>()},
          {"outcome", r[3].as<std::string>()},
          {"status", opt_int(r[4])},
          {"reply", r[5].as<std::string>()},
          {"error", r[6].as<std::string>()},
          {"next_attempt_at", opt_text(r[7])},
          {"notifier", r[8].as<std::string>()}};
}

json load_message(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(kMessageSelect + "WHERE m.id = $1", id);
  if (rows.empty())
    throw ApiError::not_found("notification message " + std::to_string(id) + " not found");
  return message_json(rows[0]);
}

const json kNotification = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"event", {{"type", "string"}}},
      {"severity", {{"type", "string"}}},
      {"title", {{"type", "string"}}},
      {"routed_at", {{"type", "string"}, {"nullable", true}}},
      {"deliveries",
       {{"type", "array"},
        {"items",
         {{"type", "object"},
          {"properties",
           {{"channel_id", {{"type", "integer"}}},
            {"channel", {{"type", "string"}}},
            {"state", {{"type", "string"}}},
            {"message_id", {{"type", "integer"}, {"nullable", true}}}}}}}}}}}};

const json kMessage = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"channel_id", {{"type", "integer"}}},
      {"channel", {{"type", "string"}}},
      {"state",
       {{"type", "string"}, {"enum", {"pending", "sending", "retrying", "delivered", "dead"}}}},
      {"attempts", {{"type", "integer"}}},
      {"idempotency_key", {{"type", "string"}}},
      {"last_status", {{"type", "integer"}, {"nullable", true}}},
      {"last_reply", {{"type", "string"}}},
      {"dead_reason", {{"type", "string"}, {"nullable", true}}}}}};

}  // namespace

void add_notification_message_routes(Router& router) {
  router.add({.method = "GET",
              .path = "/api/notifications",
              .tag = "notifications",
              .summary = "Notifications, newest first, each with its delivery state per channel",
              .response_schema = page_schema(kNotification),
              .query_parameters = {query_param("limit", "integer", "1..500 (default 50)"),
                                   query_param("before", "integer", "cursor: ids below this"),
                                   query_param("event", "string", "only this event")},
              .handler = [](Call& call) {
                const auto limit = call.query_int("limit", 50, 1, 500);
                const auto before = call.query_int("before", INT64_MAX, 1, INT64_MAX);
                auto event = call.query("event", 64);
                json page;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  page = keyset_page(tx.exec_params(kNotificationSelect +
                                                        "WHERE n.id < $1 AND ($3::text IS NULL OR "
                                                        "n.event = $3) ORDER BY n.id DESC LIMIT $2",
                                                    before, limit + 1, event),
                                     limit, notification_json);
                });
                return Reply{.body = page};
              }});

  router.add(
      {.method = "GET",
       .path = "/api/notifications/messages",
       .tag = "notifications",
       .summary = "Messages the notifier sent or will send (grouped notifications), newest "
                  "first; ?state=dead lists the dead letters",
       .role = Role::kOperator,
       .response_schema = page_schema(kMessage),
       .query_parameters = {query_param("limit", "integer", "1..500 (default 50)"),
                            query_param("before", "integer", "cursor: ids below this"),
                            query_param("state", "string",
                                        "pending|sending|retrying|delivered|dead"),
                            query_param("channel", "integer", "only this channel id")},
       .handler = [](Call& call) {
         const auto limit = call.query_int("limit", 50, 1, 500);
         const auto before = call.query_int("before", INT64_MAX, 1, INT64_MAX);
         auto state = call.query("state", 16);
         if (state && *state != "pending" && *state != "sending" && *state != "retrying" &&
             *state != "delivered" && *state != "dead") {
           throw ApiError::bad_request(
               "'state' must be pending, sending, retrying, delivered or dead", "state");
         }
         auto channel = call.query_opt_int("channel", 1, INT64_MAX);
         json page;
         call.db().transact([&](pqxx::transaction_base& tx) {
           page = keyset_page(
               tx.exec_params(kMessageSelect +
                                  "WHERE m.id < $1 AND ($3::text IS NULL OR m.state = $3) AND "
                                  "($4::bigint IS NULL OR m.channel_id = $4) ORDER BY m.id DESC "
                                  "LIMIT $2",
                              before, limit + 1, state, channel),
               limit, message_json);
         });
         return Reply{.body = page};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/notifications/messages/{id}",
       .tag = "notifications",
       .summary = "One message with what it sent (the document), every attempt and the "
                  "notifications it carried",
       .role = Role::kOperator,
       .response_schema = kMessage,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           out = load_message(tx, id);
           out["body"] = json::parse(
               tx.exec_params1("SELECT body::text FROM notification_messages WHERE id = $1", id)[0]
                   .as<std::string>());
           json attempts = json::array();
           for (const auto& r : tx.exec_params(
                    "SELECT attempt, " + iso_sql("started_at") +
                        ", latency_ms, outcome, status, reply, error, " +
                        iso_sql("next_attempt_at") +
                        ", notifier FROM notification_attempts WHERE message_id = $1 ORDER BY "
                        "attempt",
                    id))
             attempts.push_back(attempt_json(r));
           out["attempts"] = attempts;
           json carried = json::array();
           for (const auto& r : tx.exec_params(
                    "SELECT d.notification_id, n.event, n.severity, n.title, d.state FROM "
                    "notification_deliveries d JOIN notifications n ON n.id = d.notification_id "
                    "WHERE d.message_id = $1 ORDER BY d.notification_id LIMIT 1000",
                    id)) {
             carried.push_back({{"id", r[0].as<std::int64_t>()},
                                {"event", r[1].as<std::string>()},
                                {"severity", r[2].as<std::string>()},
                                {"title", r[3].as<std::string>()},
                                {"delivery_state", r[4].as<std::string>()}});
           }
           out["carried"] = carried;
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "POST",
       .path = "/api/notifications/messages/{id}/retry",
       .tag = "notifications",
       .summary = "Retry now: a dead or retrying message is sent again at once with a fresh "
                  "budget of attempts (its deliveries go back to queued); 409 in any other state",
       .role = Role::kOperator,
       .response_schema = kMessage,
       .success_status = 202,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("notification-message:" + std::to_string(id));
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto m = tx.exec_params(
               "SELECT state FROM notification_messages WHERE id = $1 FOR UPDATE", id);
           if (m.empty())
             throw ApiError::not_found("notification message " + std::to_string(id) + " not found");
           const std::string state = m[0][0].as<std::string>();
           if (state != "dead" && state != "retrying") {
             throw ApiError::conflict("message " + std::to_string(id) + " is " + state +
                                      ": only a dead or retrying message can be retried");
           }
           tx.exec_params(
               "UPDATE notification_messages SET state = 'retrying', next_attempt_at = now(), "
               "retry_base = attempts, dead_at = NULL, dead_reason = NULL, lease_owner = NULL, "
               "lease_expires_at = NULL WHERE id = $1",
               id);
           tx.exec_params(
               "UPDATE notification_deliveries SET state = 'queued', reason = NULL WHERE "
               "message_id = $1 AND state IN ('dead', 'queued')",
               id);
           call.audit_detail("from_state", state);
           out = load_message(tx, id);
         });
         return Reply{.status = 202, .body = out};
       }});
}

}  // namespace fleet::gateway
