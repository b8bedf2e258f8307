// Which notifications go to which channel (issue 12): admin routes by severity, event, site, farm
// and worker labels; and per-user subscriptions to "owner" notifications (seed 002): any user
// manages their own, an admin anyone's. The notifier reads these rows when it routes.
#include <pqxx/pqxx>

#include "core/strings.h"
#include "notify/email_render.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

const std::string kRouteSelect =
    "SELECT r.id, r.name, r.channel_id, c.name, r.enabled, to_jsonb(r.severities)::text, "
    "to_jsonb(r.events)::text, to_jsonb(r.sites)::text, to_jsonb(r.farm_ids)::text, "
    "r.worker_labels::text, r.created_by, " +
    iso_sql("r.created_at") + ", " + iso_sql("r.updated_at") +
    " FROM notification_routes r JOIN notification_channels c ON c.id = r.channel_id ";

json route_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"name", r[1].as<std::string>()},
          {"channel_id", r[2].as<std::int64_t>()},
          {"channel", r[3].as<std::string>()},
          {"enabled", r[4].as<bool>()},
          {"severities", json::parse(r[5].as<std::string>())},
          {"events", json::parse(r[6].as<std::string>())},
          {"sites", json::parse(r[7].as<std::string>())},
          {"farm_ids", json::parse(r[8].as<std::string>())},
          {"worker_labels", json::parse(r[9].as<std::string>())},
          {"created_by", r[10].as<std::string>()},
          {"created_at", r[11].as<std::string>()},
          {"updated_at", r[12].as<std::string>()}};
}

const std::string kSubscriptionSelect =
    "SELECT s.id, s.user_id, u.username, s.channel_id, c.name, c.kind, to_jsonb(s.events)::text, "
    "s.min_severity, s.address, s.enabled, " +
    iso_sql("s.created_at") +
    " FROM notification_subscriptions s JOIN users u ON u.id = s.user_id"
    " JOIN notification_channels c ON c.id = s.channel_id ";

json subscription_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"user_id", r[1].as<std::int64_t>()},
          {"username", r[2].as<std::string>()},
          {"channel_id", r[3].as<std::int64_t>()},
          {"channel", r[4].as<std::string>()},
          {"channel_kind", r[5].as<std::string>()},
          {"events", json::parse(r[6].as<std::string>())},
          {"min_severity", r[7].as<std::string>()},
          {"address", r[8].as<std::string>()},
          {"enabled", r[9].as<bool>()},
          {"created_at", r[10].as<std::string>()}};
}

bool is_severity(const std::string& s) {
  return s == "info" || s == "warning" || s == "critical";
}

// An event name or a prefix ending in '*' ("alert.*", "worker.offline").
bool is_event_pattern(std::string e) {
  if (!e.empty() && e.back() == '*') e.pop_back();
  if (e.empty()) return false;  // "*" alone: leave events empty to match all
  if (e.size() > 64 || !(e[0] >= 'a' && e[0] <= 'z')) return false;
  return std::all_of(e.begin(), e.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
  });
}

// A JSON array of strings, each checked, as JSON text for "ARRAY(SELECT jsonb_array_elements_
// text($n::jsonb))".
template <class Check>
std::optional<std::string> string_list(const JsonBody& body, const char* field, std::size_t max,
                                       std::size_t max_length, Check check, const char* what) {
  auto a = body.opt_array(field);
  if (!a) return std::nullopt;
  if (a->size() > max) {
    throw ApiError::bad_request(
        "'" + std::string(field) + "' may list at most " + std::to_string(max), field);
  }
  for (std::size_t i = 0; i < a->size(); ++i) {
    const std::string name = std::string(field) + "[" + std::to_string(i) + "]";
    const auto& v = (*a)[i];
    if (!v.is_string() || v.get<std::string>().size() > max_length ||
        !check(v.get<std::string>())) {
      throw ApiError::bad_request("'" + name + "' must be " + what, name);
    }
  }
  return a->dump();
}

std::optional<std::string> farm_list(const JsonBody& body) {
  auto a = body.opt_array("farm_ids");
  if (!a) return std::nullopt;
  if (a->size() > 200) throw ApiError::bad_request("'farm_ids' may list at most 200", "farm_ids");
  for (std::size_t i = 0; i < a->size(); ++i) {
    if (!(*a)[i].is_number_integer() || (*a)[i].get<std::int64_t>() < 1) {
      const std::string name = "farm_ids[" + std::to_string(i) + "]";
      throw ApiError::bad_request("'" + name + "' must be a farm id (a positive integer)", name);
    }
  }
  return a->dump();
}

std::optional<std::string> labels_of(const JsonBody& body) {
  auto labels = body.opt_object("worker_labels");
  if (!labels) return std::nullopt;
  if (labels->size() > 50 || labels->dump().size() > 4096) {
    throw ApiError::bad_request("'worker_labels' is too large (50 labels, 4 KiB)", "worker_labels");
  }
  for (const auto& [k, v] : labels->items()) {
    if (!v.is_string() && !v.is_number() && !v.is_boolean()) {
      throw ApiError::bad_request("'worker_labels." + k + "' must be a string, number or boolean",
                                  "worker_labels." + k);
    }
  }
  return labels->dump();
}

std::string route_name(const JsonBody& body) {
  const std::string name = body.string("name", 64);
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0]) || !std::all_of(name.begin(), name.end(), [&](char c) {
        return alnum(c) || c == '_' || c == '.' || c == '-';
      })) {
    throw ApiError::bad_request(
        "'name' must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        "name");
  }
  return name;
}

struct RouteFields {
  std::optional<std::string> severities, events, sites, farm_ids, labels;
};

RouteFields route_fields(const JsonBody& body) {
  return {string_list(body, "severities", 3, 16, is_severity, "info, warning or critical"),
          string_list(body, "events", 50, 65, is_event_pattern,
                      "an event name or a prefix ending in '*' (alert.*)"),
          string_list(
              body, "sites", 200, 200, [](const std::string& s) { return !trim(s).empty(); },
              "a site name (1..200 bytes)"),
          farm_list(body), labels_of(body)};
}

void check_channel(pqxx::transaction_base& tx, std::int64_t channel) {
  if (tx.exec_params("SELECT 1 FROM notification_channels WHERE id = $1", channel).empty()) {
    throw ApiError::unprocessable("channel_id: no notification channel " + std::to_string(channel),
                                  "channel_id");
  }
}

void check_route_name(pqxx::transaction_base& tx, const std::string& name, std::int64_t self) {
  if (!tx.exec_params("SELECT 1 FROM notification_routes WHERE name = $1 AND id <> $2", name, self)
           .empty()) {
    throw ApiError::conflict("a notification route named '" + name + "' exists already", "name");
  }
}

const char* kRouteUpdate =
    "UPDATE notification_routes SET "
    "severities = CASE WHEN $2::jsonb IS NULL THEN severities ELSE ARRAY(SELECT "
    "jsonb_array_elements_text($2::jsonb)) END, "
    "events = CASE WHEN $3::jsonb IS NULL THEN events ELSE ARRAY(SELECT "
    "jsonb_array_elements_text($3::jsonb)) END, "
    "sites = CASE WHEN $4::jsonb IS NULL THEN sites ELSE ARRAY(SELECT "
    "jsonb_array_elements_text($4::jsonb)) END, "
    "farm_ids = CASE WHEN $5::jsonb IS NULL THEN farm_ids ELSE ARRAY(SELECT "
    "jsonb_array_elements_text($5::jsonb)::bigint) END, "
    "worker_labels = coalesce($6::jsonb, worker_labels) WHERE id = $1";

json load_route(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(kRouteSelect + "WHERE r.id = $1", id);
  if (rows.empty())
    throw ApiError::not_found("notification route " + std::to_string(id) + " not found");
  return route_json(rows[0]);
}

const json kRoute = {{"type", "object"},
                     {"properties",
                      {{"id", {{"type", "integer"}}},
                       {"name", {{"type", "string"}}},
                       {"channel_id", {{"type", "integer"}}},
                       {"channel", {{"type", "string"}}},
                       {"enabled", {{"type", "boolean"}}},
                       {"severities", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                       {"events", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                       {"sites", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                       {"farm_ids", {{"type", "array"}, {"items", {{"type", "integer"}}}}},
                       {"worker_labels", {{"type", "object"}}}}}};

const json kSubscription = {{"type", "object"},
                            {"properties",
                             {{"id", {{"type", "integer"}}},
                              {"user_id", {{"type", "integer"}}},
                              {"channel_id", {{"type", "integer"}}},
                              {"events", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                              {"min_severity", {{"type", "string"}}},
                              {"address", {{"type", "string"}}},
                              {"enabled", {{"type", "boolean"}}}}}};

bool is_admin(const Call& call) {
  return call.who().role == Role::kAdmin;
}

// The subscription, if the caller may see it (their own, or any for an admin); else 404.
json load_subscription(pqxx::transaction_base& tx, const Call& call, std::int64_t id) {
  auto rows = tx.exec_params(kSubscriptionSelect + "WHERE s.id = $1", id);
  if (rows.empty() || (!is_admin(call) && rows[0][1].as<std::int64_t>() != call.who().user_id)) {
    throw ApiError::not_found("notification subscription " + std::to_string(id) + " not found");
  }
  return subscription_json(rows[0]);
}

// An address only for an e-mail channel, and then a plain one.
void check_address(pqxx::transaction_base& tx, std::int64_t channel, const std::string& address) {
  auto c = tx.exec_params("SELECT kind FROM notification_channels WHERE id = $1", channel);
  if (c.empty()) {
    throw ApiError::unprocessable("channel_id: no notification channel " + std::to_string(channel),
                                  "channel_id");
  }
  if (address.empty()) return;
  if (c[0][0].as<std::string>() != "email") {
    throw ApiError::bad_request("'address' is for e-mail channels only", "address");
  }
  if (!notify::is_plain_address(address)) {
    throw ApiError::bad_request("'address' must be an address like name@example.org", "address");
  }
}

}  // namespace

void add_notification_route_routes(Router& router) {
  router.add({.method = "GET",
              .path = "/api/notifications/routes",
              .tag = "notifications",
              .summary = "Notification routes: which notifications (severities, events, sites, "
                         "farms, worker labels) go to which channel",
              .role = Role::kAdmin,
              .response_schema = page_schema(kRoute),
              .query_parameters = {query_param("limit", "integer", "1..1000 (default 100)"),
                                   query_param("after", "integer", "cursor (an id)"),
                                   query_param("channel_id", "integer", "only this channel's")},
              .handler = [](Call& call) {
                const auto limit = call.query_int("limit", 100, 1, 1000);
                const auto after = call.query_int("after", 0, 0, INT64_MAX);
                auto channel = call.query_opt_int("channel_id", 1, INT64_MAX);
                json page;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  page = keyset_page(
                      tx.exec_params(kRouteSelect + "WHERE r.id > $1 AND ($3::bigint IS NULL OR "
                                                    "r.channel_id = $3) ORDER BY r.id LIMIT $2",
                                     after, limit + 1, channel),
                      limit, route_json);
                });
                return Reply{.body = page};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/notifications/routes",
       .tag = "notifications",
       .summary = "Add a route (name, channel_id, enabled, severities, events with trailing '*', "
                  "sites, farm_ids, worker_labels); empty lists match anything",
       .role = Role::kAdmin,
       .request_schema = kRoute,
       .response_schema = kRoute,
       .success_status = 201,
       .handler = [](Call& call) {
         JsonBody body = call.body();
         body.only({"name", "channel_id", "enabled", "severities", "events", "sites", "farm_ids",
                    "worker_labels"});
         const std::string name = route_name(body);
         const auto channel = body.integer("channel_id", 1, INT64_MAX);
         const bool enabled = body.opt_bool("enabled").value_or(true);
         const RouteFields f = route_fields(body);
         call.audit_target("notification-route:" + name);
         call.audit_detail("route", body.raw());
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           check_channel(tx, channel);
           check_route_name(tx, name, 0);
           const auto id =
               tx.exec_params1(
                     "INSERT INTO notification_routes (name, channel_id, enabled, created_by) "
                     "VALUES ($1, $2, $3, $4) RETURNING id",
                     name, channel, enabled, call.who().name)[0]
                   .as<std::int64_t>();
           tx.exec_params(kRouteUpdate, id, f.severities, f.events, f.sites, f.farm_ids, f.labels);
           out = load_route(tx, id);
         });
         return Reply{.status = 201, .body = out};
       }});

  router.add({.method = "GET",
              .path = "/api/notifications/routes/{id}",
              .tag = "notifications",
              .summary = "One notification route",
              .role = Role::kAdmin,
              .response_schema = kRoute,
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = load_route(tx, call.id()); });
                return Reply{.body = out};
              }});

  router.add({.method = "PATCH",
              .path = "/api/notifications/routes/{id}",
              .tag = "notifications",
              .summary = "Change a route (only the fields sent; a list sent replaces the list)",
              .role = Role::kAdmin,
              .request_schema = kRoute,
              .response_schema = kRoute,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                JsonBody body = call.body();
                body.only({"name", "channel_id", "enabled", "severities", "events", "sites",
                           "farm_ids", "worker_labels"});
                std::optional<std::string> name;
                if (body.has("name")) name = route_name(body);
                auto channel = body.opt_integer("channel_id", 1, INT64_MAX);
                auto enabled = body.opt_bool("enabled");
                const RouteFields f = route_fields(body);
                call.audit_target("notification-route:" + std::to_string(id));
                call.audit_detail("changes", body.raw());
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  load_route(tx, id);
                  if (channel) check_channel(tx, *channel);
                  if (name) check_route_name(tx, *name, id);
                  tx.exec_params(
                      "UPDATE notification_routes SET name = coalesce($2, name), channel_id = "
                      "coalesce($3, channel_id), enabled = coalesce($4, enabled) WHERE id = $1",
                      id, name, channel, enabled);
                  tx.exec_params(kRouteUpdate, id, f.severities, f.events, f.sites, f.farm_ids,
                                 f.labels);
                  out = load_route(tx, id);
                });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "DELETE",
       .path = "/api/notifications/routes/{id}",
       .tag = "notifications",
       .summary = "Remove a route",
       .role = Role::kAdmin,
       .response_schema = {{"type", "object"},
                           {"properties", {{"deleted", {{"type", "integer"}}}}}},
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("notification-route:" + std::to_string(id));
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (tx.exec_params("DELETE FROM notification_routes WHERE id = $1 RETURNING 1", id)
                   .empty()) {
             throw ApiError::not_found("notification route " + std::to_string(id) + " not found");
           }
         });
         return Reply{.body = {{"deleted", id}}};
       }});

  // Subscriptions: any signed-in user, for themselves; an admin for anyone (user_id).
  router.add({.method = "GET",
              .path = "/api/notifications/subscriptions",
              .tag = "notifications",
              .summary = "Your subscriptions to notifications about your own nodes (an admin: "
                         "everyone's, or ?user_id=)",
              .response_schema = {{"type", "object"},
                                  {"properties",
                                   {{"items", {{"type", "array"}, {"items", kSubscription}}}}}},
              .query_parameters = {query_param("user_id", "integer", "admin: only this user's")},
              .handler = [](Call& call) {
                auto user = call.query_opt_int("user_id", 1, INT64_MAX);
                if (!is_admin(call)) user = call.who().user_id;
                json items = json::array();
                call.db().transact([&](pqxx::transaction_base& tx) {
                  items = json::array();
                  for (const auto& r : tx.exec_params(
                           kSubscriptionSelect +
                               "WHERE ($1::bigint IS NULL OR s.user_id = $1) ORDER BY s.id LIMIT "
                               "1000",
                           user))
                    items.push_back(subscription_json(r));
                });
                return Reply{.body = {{"items", items}}};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/notifications/subscriptions",
       .tag = "notifications",
       .summary = "Subscribe to notifications about your nodes on a channel (events, "
                  "min_severity, address for e-mail channels); an admin may give user_id",
       .request_schema = kSubscription,
       .response_schema = kSubscription,
       .success_status = 201,
       .handler = [](Call& call) {
         JsonBody body = call.body();
         body.only({"user_id", "channel_id", "events", "min_severity", "address", "enabled"});
         auto user = body.opt_integer("user_id", 1, INT64_MAX);
         if (user && *user != call.who().user_id && !is_admin(call)) {
           throw ApiError::forbidden("only an admin may subscribe another user");
         }
         if (!user) user = call.who().user_id;
         if (*user == 0) {
           throw ApiError::bad_request("'user_id' is required for an API key without a user",
                                       "user_id");
         }
         const auto channel = body.integer("channel_id", 1, INT64_MAX);
         auto events = string_list(body, "events", 50, 65, is_event_pattern,
                                   "an event name or a prefix ending in '*' (alert.*)");
         const std::string min_severity = body.opt_string("min_severity", 16).value_or("info");
         if (!is_severity(min_severity)) {
           throw ApiError::bad_request("'min_severity' must be info, warning or critical",
                                       "min_severity");
         }
         const std::string address = body.opt_string("address", 320, true).value_or("");
         const bool enabled = body.opt_bool("enabled").value_or(true);
         call.audit_target("user:" + std::to_string(*user));
         call.audit_detail("subscription", body.raw());
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (tx.exec_params("SELECT 1 FROM users WHERE id = $1", *user).empty()) {
             throw ApiError::unprocessable("user_id: no user " + std::to_string(*user), "user_id");
           }
           check_address(tx, channel, address);
           auto row = tx.exec_params(
               "INSERT INTO notification_subscriptions (user_id, channel_id, events, "
               "min_severity, address, enabled) VALUES ($1, $2, coalesce(ARRAY(SELECT "
               "jsonb_array_elements_text($3::jsonb)), '{}'), $4, $5, $6) ON CONFLICT DO NOTHING "
               "RETURNING id",
               *user, channel, events, min_severity, address, enabled);
           if (row.empty()) {
             throw ApiError::conflict(
                 "this user is subscribed to this channel with this address already", "channel_id");
           }
           out = load_subscription(tx, call, row[0][0].as<std::int64_t>());
         });
         return Reply{.status = 201, .body = out};
       }});

  router.add(
      {.method = "PATCH",
       .path = "/api/notifications/subscriptions/{id}",
       .tag = "notifications",
       .summary = "Change one of your subscriptions (events, min_severity, address, enabled)",
       .request_schema = kSubscription,
       .response_schema = kSubscription,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         JsonBody body = call.body();
         body.only({"events", "min_severity", "address", "enabled"});
         auto events = string_list(body, "events", 50, 65, is_event_pattern,
                                   "an event name or a prefix ending in '*' (alert.*)");
         auto min_severity = body.opt_string("min_severity", 16);
         if (min_severity && !is_severity(*min_severity)) {
           throw ApiError::bad_request("'min_severity' must be info, warning or critical",
                                       "min_severity");
         }
         auto address = body.opt_string("address", 320, true);
         auto enabled = body.opt_bool("enabled");
         call.audit_target("notification-subscription:" + std::to_string(id));
         call.audit_detail("changes", body.raw());
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const json current = load_subscription(tx, call, id);
           if (address) check_address(tx, current["channel_id"].get<std::int64_t>(), *address);
           try {
             tx.exec_params(
                 "UPDATE notification_subscriptions SET events = CASE WHEN $2::jsonb IS NULL THEN "
                 "events ELSE ARRAY(SELECT jsonb_array_elements_text($2::jsonb)) END, min_severity "
                 "= coalesce($3, "
                 "min_severity), address = coalesce($4, address), enabled = coalesce($5, "
                 "enabled) WHERE id = $1",
                 id, events, min_severity, address, enabled);
           } catch (const pqxx::unique_violation&) {
             throw ApiError::conflict("another subscription of this user has this address",
                                      "address");
           }
           out = load_subscription(tx, call, id);
         });
         return Reply{.body = out};
       }});

  router.add({.method = "DELETE",
              .path = "/api/notifications/subscriptions/{id}",
              .tag = "notifications",
              .summary = "Remove one of your subscriptions (an admin: anyone's)",
              .response_schema = {{"type", "object"},
                                  {"properties", {{"deleted", {{"type", "integer"}}}}}},
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                call.audit_target("notification-subscription:" + std::to_string(id));
                call.db().transact([&](pqxx::transaction_base& tx) {
                  load_subscription(tx, call, id);
                  tx.exec_params("DELETE FROM notification_subscriptions WHERE id = $1", id);
                });
                return Reply{.body = {{"deleted", id}}};
              }});
}

}  // namespace fleet::gateway
