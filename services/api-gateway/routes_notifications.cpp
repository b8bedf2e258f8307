// Notification channels (issue 12): where the notifier delivers — webhook, MQTT topic, e-mail.
// Admin only. A channel's secret (webhook signing key, MQTT or SMTP password) is sealed with
// secrets.key under "notification_channel:<id>:secret" and never returned: answers say
// has_secret. A webhook channel created without a secret gets a generated one, returned once in
// the 201. "Send a test" writes a notifier.test notification the notifier delivers to that channel
// only. Validation of the config per kind: notification_config.h.
#include <pqxx/pqxx>

#include "core/strings.h"
#include "notification_config.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

const std::string kChannelSelect =
    "SELECT id, name, kind, enabled, config::text, secret_enc IS NOT NULL, template::text, "
    "to_jsonb(group_by)::text, group_wait_ms, group_interval_ms, repeat_interval_ms, max_items, "
    "max_attempts, max_age_ms, consecutive_failures, " +
    iso_sql("failing_since") + ", " + iso_sql("last_delivery_at") + ", last_error, created_by, " +
    iso_sql("created_at") + ", " + iso_sql("updated_at") + " FROM notification_channels ";

json channel_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"name", r[1].as<std::string>()},
          {"kind", r[2].as<std::string>()},
          {"enabled", r[3].as<bool>()},
          {"config", json::parse(r[4].as<std::string>())},
          {"has_secret", r[5].as<bool>()},
          {"template", json::parse(r[6].as<std::string>())},
          {"group_by", json::parse(r[7].as<std::string>())},
          {"group_wait_ms", r[8].as<std::int64_t>()},
          {"group_interval_ms", r[9].as<std::int64_t>()},
          {"repeat_interval_ms", r[10].as<std::int64_t>()},
          {"max_items", r[11].as<std::int64_t>()},
          {"max_attempts", r[12].as<std::int64_t>()},
          {"max_age_ms", r[13].as<std::int64_t>()},
          {"consecutive_failures", r[14].as<std::int64_t>()},
          {"failing_since", opt_text(r[15])},
          {"last_delivery_at", opt_text(r[16])},
          {"last_error", r[17].as<std::string>()},
          {"created_by", r[18].as<std::string>()},
          {"created_at", r[19].as<std::string>()},
          {"updated_at", r[20].as<std::string>()}};
}

json load_channel(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(kChannelSelect + "WHERE id = $1", id);
  if (rows.empty())
    throw ApiError::not_found("notification channel " + std::to_string(id) + " not found");
  return channel_json(rows[0]);
}

const json kChannel = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"name", {{"type", "string"}}},
      {"kind", {{"type", "string"}, {"enum", {"webhook", "mqtt", "email"}}}},
      {"enabled", {{"type", "boolean"}}},
      {"config", {{"type", "object"}}},
      {"has_secret", {{"type", "boolean"}}},
      {"secret",
       {{"type", "string"},
        {"description", "only in the 201 of a webhook channel created without one"}}},
      {"template", {{"type", "object"}}},
      {"group_by", {{"type", "array"}, {"items", {{"type", "string"}}}}},
      {"group_wait_ms", {{"type", "integer"}}},
      {"group_interval_ms", {{"type", "integer"}}},
      {"repeat_interval_ms", {{"type", "integer"}}},
      {"max_items", {{"type", "integer"}}},
      {"max_attempts", {{"type", "integer"}}},
      {"max_age_ms", {{"type", "integer"}}},
      {"consecutive_failures", {{"type", "integer"}}},
      {"failing_since", {{"type", "string"}, {"nullable", true}}},
      {"last_delivery_at", {{"type", "string"}, {"nullable", true}}},
      {"last_error", {{"type", "string"}}}}}};

const json kChannelBody = {
    {"type", "object"},
    {"properties",
     {{"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}}},
      {"kind", {{"type", "string"}, {"enum", {"webhook", "mqtt", "email"}}}},
      {"enabled", {{"type", "boolean"}}},
      {"config", {{"type", "object"}, {"description", "per kind: docs/notifications-channels.md"}}},
      {"secret",
       {{"type", "string"},
        {"nullable", true},
        {"description", "webhook HMAC key (>= 16 bytes) or MQTT/SMTP password; never returned"}}},
      {"template",
       {{"type", "object"},
        {"properties", {{"title", {{"type", "string"}}}, {"text", {{"type", "string"}}}}}}},
      {"group_by", {{"type", "array"}, {"items", {{"type", "string"}}}}},
      {"group_wait_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", 3600000}}},
      {"group_interval_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", 86400000}}},
      {"repeat_interval_ms", {{"type", "integer"}, {"minimum", 60000}, {"maximum", 604800000}}},
      {"max_items", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}},
      {"max_attempts", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
      {"max_age_ms", {{"type", "integer"}, {"minimum", 1000}, {"maximum", 2592000000LL}}}}}};

std::string channel_name(const JsonBody& body) {
  const std::string name = body.string("name", 64);
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  const bool ok = alnum(name[0]) && std::all_of(name.begin(), name.end(), [&](char c) {
                    return alnum(c) || c == '_' || c == '.' || c == '-';
                  });
  if (!ok) {
    throw ApiError::bad_request(
        "'name' must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        "name");
  }
  return name;
}

// The secret as given: a string (checked), null (clear it) or absent.
struct SecretChange {
  bool given = false;
  std::optional<std::string> value;
};

SecretChange secret_of(const JsonBody& body, const std::string& kind) {
  SecretChange change;
  change.given = body.raw().contains("secret");
  if (!change.given || body.raw()["secret"].is_null()) return change;
  change.value = body.string("secret", 1024);
  if (std::any_of(change.value->begin(), change.value->end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    throw ApiError::bad_request("'secret' must not contain control characters", "secret");
  }
  if (kind == "webhook" && change.value->size() < 16) {
    throw ApiError::bad_request("'secret' of a webhook channel (its HMAC key) needs >= 16 bytes",
                                "secret");
  }
  return change;
}

// The grouping and retry fields present in the body, validated (the table's CHECKs).
struct Tuning {
  std::optional<std::string> group_by;  // JSON array text
  std::optional<std::int64_t> group_wait_ms, group_interval_ms, repeat_interval_ms, max_items,
      max_attempts, max_age_ms;
};

Tuning tuning_of(const JsonBody& body) {
  Tuning t;
  if (auto g = body.opt_array("group_by")) t.group_by = validated_group_by(*g).dump();
  t.group_wait_ms = body.opt_integer("group_wait_ms", 0, 3'600'000);
  t.group_interval_ms = body.opt_integer("group_interval_ms", 0, 86'400'000);
  t.repeat_interval_ms = body.opt_integer("repeat_interval_ms", 60'000, 604'800'000);
  t.max_items = body.opt_integer("max_items", 1, 1000);
  t.max_attempts = body.opt_integer("max_attempts", 1, 100);
  t.max_age_ms = body.opt_integer("max_age_ms", 1000, 2'592'000'000LL);
  return t;
}

void apply_tuning(pqxx::transaction_base& tx, std::int64_t id, const Tuning& t) {
  tx.exec_params(
      "UPDATE notification_channels SET "
      "group_by = CASE WHEN $2::jsonb IS NULL THEN group_by ELSE ARRAY(SELECT "
      "jsonb_array_elements_text($2::jsonb)) END, "
      "group_wait_ms = coalesce($3, group_wait_ms), "
      "group_interval_ms = coalesce($4, group_interval_ms), "
      "repeat_interval_ms = coalesce($5, repeat_interval_ms), "
      "max_items = coalesce($6, max_items), max_attempts = coalesce($7, max_attempts), "
      "max_age_ms = coalesce($8, max_age_ms) WHERE id = $1",
      id, t.group_by, t.group_wait_ms, t.group_interval_ms, t.repeat_interval_ms, t.max_items,
      t.max_attempts, t.max_age_ms);
}

void check_name_free(pqxx::transaction_base& tx, const std::string& name, std::int64_t self) {
  if (!tx.exec_params("SELECT 1 FROM notification_channels WHERE name = $1 AND id <> $2", name,
                      self)
           .empty()) {
    throw ApiError::conflict("a notification channel named '" + name + "' exists already", "name");
  }
}

ApiError no_box() {
  return ApiError(503, "unavailable",
                  "the gateway has no secrets.key (FLEET_SECRET_KEY), so it cannot store channel "
                  "secrets");
}

}  // namespace

void add_notification_channel_routes(Router& router, const std::optional<secrets::SecretBox>& box,
                                     HostResolves resolves) {
  router.add({.method = "GET",
              .path = "/api/notifications/channels",
              .tag = "notifications",
              .summary = "Notification channels (webhook, mqtt, email) with their health; secrets "
                         "are never returned (has_secret). Admins see everything; other users "
                         "only id, name, kind and enabled (what a subscription needs)",
              .response_schema = page_schema(kChannel),
              .query_parameters = {query_param("limit", "integer", "1..1000 (default 100)"),
                                   query_param("after", "integer", "cursor (an id)")},
              .handler = [](Call& call) {
                const auto limit = call.query_int("limit", 100, 1, 1000);
                const auto after = call.query_int("after", 0, 0, INT64_MAX);
                const bool admin = auth::allows(call.who().role, Role::kAdmin);
                json page;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  page = keyset_page(
                      tx.exec_params(kChannelSelect + "WHERE id > $1 ORDER BY id LIMIT $2", after,
                                     limit + 1),
                      limit, [admin](const pqxx::row& r) {
                        json c = channel_json(r);
                        // Addresses, topics and URLs (which may carry tokens) are for admins.
                        if (!admin) {
                          c = {{"id", c["id"]},
                               {"name", c["name"]},
                               {"kind", c["kind"]},
                               {"enabled", c["enabled"]}};
                        }
                        return c;
                      });
                });
                return Reply{.body = page};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/notifications/channels",
       .tag = "notifications",
       .summary = "Add a channel: name, kind, config (per kind), secret (sealed; a webhook "
                  "without one gets a generated key, returned once), template, grouping and "
                  "retry settings",
       .role = Role::kAdmin,
       .request_schema =
           [] {
             json s = kChannelBody;
             s["required"] = {"name", "kind", "config"};
             return s;
           }(),
       .response_schema = kChannel,
       .success_status = 201,
       .handler =
           [&box, resolves](Call& call) {
             JsonBody body = call.body();
             body.only({"name", "kind", "enabled", "config", "secret", "template", "group_by",
                        "group_wait_ms", "group_interval_ms", "repeat_interval_ms", "max_items",
                        "max_attempts", "max_age_ms"});
             const std::string name = channel_name(body);
             const std::string kind = body.string("kind", 32);
             if (!is_channel_kind(kind))
               throw ApiError::bad_request("'kind' must be webhook, mqtt or email", "kind");
             auto config_in = body.opt_object("config");
             if (!config_in) throw ApiError::bad_request("'config' is required", "config");
             const json config = validated_channel_config(kind, *config_in, resolves);
             const json tmpl =
                 validated_template(body.opt_object("template").value_or(json::object()));
             const Tuning tuning = tuning_of(body);
             const bool enabled = body.opt_bool("enabled").value_or(true);
             SecretChange secret = secret_of(body, kind);
             bool generated = false;
             if (!secret.value && channel_needs_secret(kind, config)) {
               if (kind != "webhook") {
                 throw ApiError::bad_request(
                     "'secret' (the password of config.username) is required", "secret");
               }
               secret.value = secrets::generate_key_text();
               generated = true;
             }
             if (secret.value && !box) throw no_box();
             call.audit_target("notification-channel:" + name);
             call.audit_detail("kind", kind);
             call.audit_detail("config", config);
             call.audit_detail("secret", generated ? "generated" : secret.value ? "set" : "none");
             json out;
             call.db().transact([&](pqxx::transaction_base& tx) {
               check_name_free(tx, name, 0);
               const auto id =
                   tx.exec_params1(
                         "INSERT INTO notification_channels (name, kind, enabled, config, "
                         "template, created_by) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, "
                         "$6) RETURNING id",
                         name, kind, enabled, config.dump(), tmpl.dump(), call.who().name)[0]
                       .as<std::int64_t>();
               if (secret.value) {
                 tx.exec_params(
                     "UPDATE notification_channels SET secret_enc = $2 WHERE id = $1", id,
                     box->seal(*secret.value, secrets::notification_channel_secret_context(id)));
               }
               apply_tuning(tx, id, tuning);
               out = load_channel(tx, id);
             });
             if (generated) out["secret"] = *secret.value;  // this once
             return Reply{.status = 201, .body = out};
           }});

  router.add({.method = "GET",
              .path = "/api/notifications/channels/{id}",
              .tag = "notifications",
              .summary = "One notification channel (never its secret)",
              .role = Role::kAdmin,
              .response_schema = kChannel,
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = load_channel(tx, call.id()); });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "PATCH",
       .path = "/api/notifications/channels/{id}",
       .tag = "notifications",
       .summary = "Change a channel (only the fields sent; config is replaced whole and "
                  "validated for the channel's kind; secret null clears it where none is needed)",
       .role = Role::kAdmin,
       .request_schema = kChannelBody,
       .response_schema = kChannel,
       .handler = [&box, resolves](Call& call) {
         const std::int64_t id = call.id();
         JsonBody body = call.body();
         body.only({"name", "kind", "enabled", "config", "secret", "template", "group_by",
                    "group_wait_ms", "group_interval_ms", "repeat_interval_ms", "max_items",
                    "max_attempts", "max_age_ms"});
         std::optional<std::string> name;
         if (body.has("name")) name = channel_name(body);
         auto enabled = body.opt_bool("enabled");
         auto config_in = body.opt_object("config");
         std::optional<json> tmpl;
         if (auto t = body.opt_object("template")) tmpl = validated_template(*t);
         const Tuning tuning = tuning_of(body);
         call.audit_target("notification-channel:" + std::to_string(id));
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto current = tx.exec_params(
               "SELECT kind, config::text, secret_enc IS NOT NULL FROM notification_channels "
               "WHERE id = $1 FOR UPDATE",
               id);
           if (current.empty())
             throw ApiError::not_found("notification channel " + std::to_string(id) + " not found");
           const std::string kind = current[0][0].as<std::string>();
           if (auto k = body.opt_string("kind", 32); k && *k != kind) {
             throw ApiError::bad_request(
                 "'kind' cannot change (a " + kind + " channel); add a new channel", "kind");
           }
           const json config = config_in ? validated_channel_config(kind, *config_in, resolves)
                                         : json::parse(current[0][1].as<std::string>());
           const SecretChange secret = secret_of(body, kind);
           const bool will_have_secret =
               secret.given ? secret.value.has_value() : current[0][2].as<bool>();
           if (!will_have_secret && channel_needs_secret(kind, config)) {
             throw ApiError::bad_request(kind == "webhook"
                                             ? "'secret' of a webhook channel cannot be removed"
                                             : "'secret' (the password of config.username) is "
                                               "required",
                                         "secret");
           }
           if (secret.value && !box) throw no_box();
           if (name) check_name_free(tx, *name, id);
           if (config_in) call.audit_detail("config", config);
           if (secret.given) call.audit_detail("secret", secret.value ? "set" : "cleared");
           for (const char* f :
                {"name", "enabled", "template", "group_by", "group_wait_ms", "group_interval_ms",
                 "repeat_interval_ms", "max_items", "max_attempts", "max_age_ms"}) {
             if (body.raw().contains(f)) call.audit_detail(f, body.raw()[f]);
           }
           std::optional<std::string> sealed;
           if (secret.value) {
             sealed = box->seal(*secret.value, secrets::notification_channel_secret_context(id));
           }
           tx.exec_params(
               "UPDATE notification_channels SET name = coalesce($2, name), enabled = "
               "coalesce($3, enabled), config = coalesce($4::jsonb, config), template = "
               "coalesce($5::jsonb, template), secret_enc = CASE WHEN $6 THEN $7 ELSE "
               "secret_enc END WHERE id = $1",
               id, name, enabled,
               config_in ? std::optional<std::string>(config.dump()) : std::nullopt,
               tmpl ? std::optional<std::string>(tmpl->dump()) : std::nullopt, secret.given,
               sealed);
           apply_tuning(tx, id, tuning);
           out = load_channel(tx, id);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "DELETE",
       .path = "/api/notifications/channels/{id}",
       .tag = "notifications",
       .summary = "Remove a channel with its routes, subscriptions and delivery history",
       .role = Role::kAdmin,
       .response_schema = {{"type", "object"},
                           {"properties", {{"deleted", {{"type", "integer"}}}}}},
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("notification-channel:" + std::to_string(id));
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (tx.exec_params("DELETE FROM notification_channels WHERE id = $1 RETURNING 1", id)
                   .empty()) {
             throw ApiError::not_found("notification channel " + std::to_string(id) + " not found");
           }
         });
         return Reply{.body = {{"deleted", id}}};
       }});

  router.add(
      {.method = "POST",
       .path = "/api/notifications/channels/{id}/test",
       .tag = "notifications",
       .summary = "Send a test: writes a notifier.test notification the notifier delivers to this "
                  "channel only (202 with its id; follow it in /api/notifications)",
       .role = Role::kAdmin,
       .response_schema = {{"type", "object"},
                           {"properties", {{"notification_id", {{"type", "integer"}}}}}},
       .success_status = 202,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("notification-channel:" + std::to_string(id));
         std::int64_t notification = 0;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto c = tx.exec_params("SELECT name FROM notification_channels WHERE id = $1", id);
           if (c.empty())
             throw ApiError::not_found("notification channel " + std::to_string(id) + " not found");
           notification =
               tx.exec_params1(
                     "INSERT INTO notifications (source, event, severity, title, body, payload, "
                     "dedupe_key) VALUES ('api-gateway', 'notifier.test', 'info', $2, $3, "
                     "jsonb_build_object('channel_id', $1::bigint), 'channel:' || $1 || ':test:' "
                     "|| gen_random_uuid()) RETURNING id",
                     id, "Test notification for channel " + c[0][0].as<std::string>(),
                     "Sent from the API by " + call.who().name)[0]
                   .as<std::int64_t>();
         });
         call.audit_detail("notification_id", notification);
         return Reply{.status = 202, .body = {{"notification_id", notification}}};
       }});
}

}  // namespace fleet::gateway
