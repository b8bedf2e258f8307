// api-gateway: notification channels, routes, subscriptions, messages (issue 12) — validation
// naming the field, secrets sealed and never returned, roles, "send a test" and "retry now".
#include <catch2/catch.hpp>

#include "gateway_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// A random-looking key (the gateway refuses a patterned one).
const std::string kSecretKey = "6f1c0d9a8b7e4c3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f";

std::vector<std::string> gateway_args() {
  return {"--set", "secrets.key=" + kSecretKey};
}

std::string error_field(const ApiAnswer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"]["field"].is_string()
             ? a.body["error"]["field"].get<std::string>()
             : "";
}

json webhook(const std::string& name = "hook") {
  return {{"name", name},
          {"kind", "webhook"},
          {"config", {{"url", "http://127.0.0.1:9/hook"}}},
          {"secret", "webhook-signing-key-0123456789"}};
}
json mqtt_channel() {
  return {{"name", "ha"},
          {"kind", "mqtt"},
          {"config", {{"host", "127.0.0.1"}, {"port", 1883}, {"topic", "fleetward/n"}}}};
}
json email_channel() {
  return {{"name", "mail"},
          {"kind", "email"},
          {"config",
           {{"smtp_url", "smtp://127.0.0.1:2525"},
            {"from", "fleetward@example.org"},
            {"to", {"ops@example.org"}}}}};
}

// `base` with config.<key> (or a top-level key when config_key is false) set to `value`.
json with(json base, const std::string& key, json value, bool in_config = true) {
  if (in_config) {
    base["config"][key] = std::move(value);
  } else {
    base[key] = std::move(value);
  }
  return base;
}

}  // namespace

TEST_CASE(
    "notification channels: a table of bad configurations, each a 400 naming the field, "
    "nothing stored, audited",
    "[gateway][notify][e2e]") {
  GatewayFixture gw(gateway_args());
  json no_config = webhook();
  no_config.erase("config");
  json email_user = with(email_channel(), "username", "fleet");
  json unknown_field = with(webhook(), "method", "PUT");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {with(webhook(), "kind", "sms", false).dump(), "kind"},
      {no_config.dump(), "config"},
      {with(webhook(), "name", "bad name", false).dump(), "name"},
      {with(webhook(), "url", "ftp://127.0.0.1/x").dump(), "config.url"},
      {with(webhook(), "url", "not a url").dump(), "config.url"},
      {with(webhook(), "url", "https://user:pw@127.0.0.1/x").dump(), "config.url"},
      {with(webhook(), "url", "https://no-such-host.invalid/hook").dump(), "config.url"},
      {with(webhook(), "url", "https://127.0.0.1:99999/x").dump(), "config.url"},
      {with(webhook(), "url", std::string("https://127.0.0.1/a\0b", 22)).dump(), "config.url"},
      {with(webhook(), "url", "https://127.0.0.1/" + std::string(3000, 'a')).dump(), "config.url"},
      {with(webhook(), "timeout_ms", 10).dump(), "config.timeout_ms"},
      {unknown_field.dump(), "config.method"},
      {with(webhook(), "secret", "short", false).dump(), "secret"},
      {with(webhook(), "template", {{"title", std::string(5000, 'x')}}, false).dump(),
       "template.title"},
      {with(webhook(), "template", {{"title", "{{password}}"}}, false).dump(), "template.title"},
      {with(webhook(), "template", {{"text", "unclosed {{count"}}, false).dump(), "template.text"},
      {with(webhook(), "group_by", {"event", "planet"}, false).dump(), "group_by[1]"},
      {with(webhook(), "group_wait_ms", -1, false).dump(), "group_wait_ms"},
      {with(webhook(), "repeat_interval_ms", 1000, false).dump(), "repeat_interval_ms"},
      {with(webhook(), "max_attempts", 0, false).dump(), "max_attempts"},
      {with(mqtt_channel(), "topic", "a/#").dump(), "config.topic"},
      {with(mqtt_channel(), "host", "no-such-host.invalid").dump(), "config.host"},
      {with(mqtt_channel(), "port", 0).dump(), "config.port"},
      {with(mqtt_channel(), "tls", true).dump(), "config.ca_file"},
      {with(mqtt_channel(), "topic", std::string(201, 't')).dump(), "config.topic"},
      {with(email_channel(), "smtp_url", "http://127.0.0.1:25").dump(), "config.smtp_url"},
      {with(email_channel(), "smtp_url", "smtp://no-such-host.invalid:25").dump(),
       "config.smtp_url"},
      {with(email_channel(), "from", "not-an-address").dump(), "config.from"},
      {with(email_channel(), "to", json::array()).dump(), "config.to"},
      {with(email_channel(), "to", {"ops@example.org", "x@y.org\r\nBcc: evil@example.org"}).dump(),
       "config.to[1]"},
      {email_user.dump(), "secret"},
  };
  REQUIRE(cases.size() >= 20);
  for (const auto& [body, field] : cases) {
    CAPTURE(body.substr(0, 300));
    const auto a = gw.as("admin", "POST", "/api/notifications/channels", body);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  CHECK(gw.db.scalar("SELECT count(*) FROM notification_channels") == "0");
  // Every refusal is in the audit log, with its status.
  CHECK(gw.db.scalar("SELECT count(*) FROM audit_log WHERE action = 'POST "
                     "/api/notifications/channels' AND status = 400") ==
        std::to_string(cases.size()));
  // The host that does not resolve is named in the message.
  const auto unresolved = gw.as("admin", "POST", "/api/notifications/channels",
                                with(webhook(), "url", "https://no-such-host.invalid/hook").dump());
  CHECK_THAT(unresolved.body["error"]["message"].get<std::string>(),
             Contains("host no-such-host.invalid does not resolve"));
}

TEST_CASE("notification channels: secrets are sealed and never returned or logged",
          "[gateway][notify][e2e]") {
  GatewayFixture gw(gateway_args());
  const std::string secret = "webhook-signing-key-0123456789";
  auto created = gw.as("admin", "POST", "/api/notifications/channels", webhook().dump());
  REQUIRE(created.status == 201);
  CHECK(created.body["has_secret"] == true);
  CHECK_FALSE(created.body.contains("secret"));
  CHECK(created.body["config"]["timeout_ms"] == 5000);  // the default filled in
  const auto id = created.body["id"].get<std::int64_t>();

  // A webhook without a secret gets a generated key, returned once.
  json generated_body = webhook("hook2");
  generated_body.erase("secret");
  auto generated = gw.as("admin", "POST", "/api/notifications/channels", generated_body.dump());
  REQUIRE(generated.status == 201);
  const std::string generated_key = generated.body["secret"].get<std::string>();
  CHECK(generated_key.size() == 64);

  // E-mail with a username and its password.
  json mail = with(email_channel(), "username", "fleet");
  mail["secret"] = "smtp-password-xyz";
  REQUIRE(gw.as("admin", "POST", "/api/notifications/channels", mail.dump()).status == 201);

  // Changing it: the new secret is sealed; removing a webhook's is refused.
  REQUIRE(gw.as("admin", "PATCH", "/api/notifications/channels/" + std::to_string(id),
                json{{"secret", "another-signing-key-9876543210"}, {"enabled", false}}.dump())
              .status == 200);
  const auto cleared = gw.as("admin", "PATCH", "/api/notifications/channels/" + std::to_string(id),
                             json{{"secret", nullptr}}.dump());
  CHECK(cleared.status == 400);
  CHECK(error_field(cleared) == "secret");
  const auto kind_change =
      gw.as("admin", "PATCH", "/api/notifications/channels/" + std::to_string(id),
            json{{"kind", "mqtt"}}.dump());
  CHECK(error_field(kind_change) == "kind");

  // Everything but the one answer that hands the generated key out.
  std::string everything = created.raw;
  everything += gw.as("admin", "GET", "/api/notifications/channels").raw;
  everything += gw.as("admin", "GET", "/api/notifications/channels/" + std::to_string(id)).raw;
  everything += gw.as("admin", "GET", "/api/openapi.json").raw;
  everything += gw.db.scalar("SELECT string_agg(coalesce(details::text, ''), ' ') FROM audit_log");
  everything += gw.db.scalar(
      "SELECT string_agg(config::text || coalesce(secret_enc, ''), ' ') FROM "
      "notification_channels");
  everything += gw.gateway->out() + gw.gateway->err();
  for (const std::string& s : {secret, generated_key, std::string("smtp-password-xyz"),
                               std::string("another-signing-key-9876543210")}) {
    CAPTURE(s);
    CHECK(everything.find(s) == std::string::npos);
  }
  CHECK(gw.db.scalar("SELECT count(*) FROM notification_channels WHERE secret_enc LIKE 'v2:%'") ==
        "3");
  const auto listed = gw.as("admin", "GET", "/api/notifications/channels");
  REQUIRE(listed.body["items"].size() == 3);
  CHECK(listed.body["items"][0]["enabled"] == false);
  CHECK(listed.body["items"][2]["has_secret"] == true);
}

TEST_CASE("notification channels: admin only, a test writes a notifier.test notification",
          "[gateway][notify][e2e]") {
  GatewayFixture gw(gateway_args());
  CHECK(gw.as("operator", "POST", "/api/notifications/channels", mqtt_channel().dump()).status ==
        403);
  CHECK(gw.as("viewer", "GET", "/api/notifications/routes").status == 403);
  auto created = gw.as("admin", "POST", "/api/notifications/channels", mqtt_channel().dump());
  REQUIRE(created.status == 201);
  CHECK(created.body["has_secret"] == false);
  CHECK(created.body["config"]["port"] == 1883);
  const std::string id = std::to_string(created.body["id"].get<std::int64_t>());
  // Other users see which channels exist (to subscribe), never their settings.
  for (const char* role : {"viewer", "operator"}) {
    auto list = gw.as(role, "GET", "/api/notifications/channels");
    REQUIRE(list.status == 200);
    REQUIRE(list.body["items"].size() == 1);
    CHECK(list.body["items"][0] == json{{"id", created.body["id"]},
                                        {"name", created.body["name"]},
                                        {"kind", "mqtt"},
                                        {"enabled", created.body["enabled"]}});
    CHECK(gw.as(role, "GET", "/api/notifications/channels/" + id).status == 403);
  }
  CHECK(gw.as("operator", "POST", "/api/notifications/channels/" + id + "/test").status == 403);
  const auto test = gw.as("admin", "POST", "/api/notifications/channels/" + id + "/test");
  REQUIRE(test.status == 202);
  const std::string notification = std::to_string(test.body["notification_id"].get<std::int64_t>());
  CHECK(gw.db.scalar("SELECT event || ' ' || (payload->>'channel_id') FROM notifications WHERE "
                     "id = " +
                     notification) == "notifier.test " + id);
  CHECK(gw.as("admin", "POST", "/api/notifications/channels/999/test").status == 404);
  // Anyone may read notifications; this one is unrouted yet.
  const auto listed = gw.as("viewer", "GET", "/api/notifications?limit=5");
  REQUIRE(listed.status == 200);
  REQUIRE(listed.body["items"].size() >= 1);
  CHECK(listed.body["items"][0]["event"] == "notifier.test");
  CHECK(listed.body["items"][0]["deliveries"] == json::array());
  CHECK(gw.as("admin", "DELETE", "/api/notifications/channels/" + id).status == 200);
  CHECK(gw.db.scalar("SELECT count(*) FROM notification_channels") == "0");
}

TEST_CASE("notification routes and subscriptions: validated, own subscriptions only",
          "[gateway][notify][e2e]") {
  GatewayFixture gw(gateway_args());
  const auto mqtt = gw.as("admin", "POST", "/api/notifications/channels", mqtt_channel().dump());
  const auto mail = gw.as("admin", "POST", "/api/notifications/channels", email_channel().dump());
  REQUIRE(mqtt.status == 201);
  REQUIRE(mail.status == 201);
  const auto mqtt_id = mqtt.body["id"].get<std::int64_t>();
  const auto mail_id = mail.body["id"].get<std::int64_t>();

  json route = {{"name", "alerts-to-ha"},
                {"channel_id", mqtt_id},
                {"severities", {"critical", "warning"}},
                {"events", {"alert.*", "worker.offline"}},
                {"sites", {"hall-a"}},
                {"farm_ids", {1, 2}},
                {"worker_labels", {{"rack", "r1"}}}};
  for (const auto& [bad, field] : std::vector<std::pair<json, std::string>>{
           {with(route, "severities", {"fatal"}, false), "severities[0]"},
           {with(route, "events", {"Alert.*"}, false), "events[0]"},
           {with(route, "events", {"*"}, false), "events[0]"},
           {with(route, "farm_ids", {0}, false), "farm_ids[0]"},
           {with(route, "worker_labels", {{"rack", {1, 2}}}, false), "worker_labels.rack"},
           {with(route, "channel_id", 0, false), "channel_id"}}) {
    const auto a = gw.as("admin", "POST", "/api/notifications/routes", bad.dump());
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  CHECK(gw.as("admin", "POST", "/api/notifications/routes",
              with(route, "channel_id", 999, false).dump())
            .status == 422);
  const auto created = gw.as("admin", "POST", "/api/notifications/routes", route.dump());
  REQUIRE(created.status == 201);
  CHECK(created.body["events"] == json{"alert.*", "worker.offline"});
  CHECK(created.body["farm_ids"] == json{1, 2});
  CHECK(created.body["channel"] == "ha");
  const std::string rid = std::to_string(created.body["id"].get<std::int64_t>());
  const auto patched = gw.as("admin", "PATCH", "/api/notifications/routes/" + rid,
                             json{{"sites", json::array()}, {"enabled", false}}.dump());
  REQUIRE(patched.status == 200);
  CHECK(patched.body["sites"] == json::array());
  CHECK(patched.body["severities"] == json{"critical", "warning"});  // untouched
  CHECK(gw.as("admin", "POST", "/api/notifications/routes", route.dump()).status == 409);

  // A viewer subscribes themselves; not someone else; an address only for e-mail.
  const auto viewer_id = std::stoll(gw.db.scalar("SELECT id FROM users WHERE username = 'viewer'"));
  const auto admin_id = std::stoll(gw.db.scalar("SELECT id FROM users WHERE username = 'admin'"));
  const auto mine = gw.as(
      "viewer", "POST", "/api/notifications/subscriptions",
      json{{"channel_id", mail_id}, {"address", "viewer@example.org"}, {"min_severity", "warning"}}
          .dump());
  REQUIRE(mine.status == 201);
  CHECK(mine.body["user_id"] == viewer_id);
  CHECK(gw.as("viewer", "POST", "/api/notifications/subscriptions",
              json{{"channel_id", mail_id}, {"user_id", admin_id}}.dump())
            .status == 403);
  const auto bad_address =
      gw.as("viewer", "POST", "/api/notifications/subscriptions",
            json{{"channel_id", mqtt_id}, {"address", "v@example.org"}}.dump());
  CHECK(error_field(bad_address) == "address");
  const auto bad_severity = gw.as("viewer", "POST", "/api/notifications/subscriptions",
                                  json{{"channel_id", mqtt_id}, {"min_severity", "loud"}}.dump());
  CHECK(error_field(bad_severity) == "min_severity");
  // The admin's own subscription is invisible to the viewer.
  const auto admins = gw.as("admin", "POST", "/api/notifications/subscriptions",
                            json{{"channel_id", mqtt_id}}.dump());
  REQUIRE(admins.status == 201);
  const std::string admin_sub = std::to_string(admins.body["id"].get<std::int64_t>());
  CHECK(gw.as("viewer", "DELETE", "/api/notifications/subscriptions/" + admin_sub).status == 404);
  CHECK(gw.as("viewer", "GET", "/api/notifications/subscriptions").body["items"].size() == 1);
  CHECK(gw.as("admin", "GET", "/api/notifications/subscriptions").body["items"].size() == 2);
}

TEST_CASE("notification messages: listed for operators, a dead one is retried now",
          "[gateway][notify][e2e]") {
  GatewayFixture gw(gateway_args());
  const auto ch = gw.as("admin", "POST", "/api/notifications/channels", webhook().dump());
  REQUIRE(ch.status == 201);
  const std::string cid = std::to_string(ch.body["id"].get<std::int64_t>());
  gw.db.exec(
      "INSERT INTO notifications (id, source, event, severity, title, dedupe_key) VALUES "
      "(100, 'test', 'worker.offline', 'critical', 'm1 offline', 'k100')");
  gw.db.exec(
      "INSERT INTO notification_messages (id, channel_id, group_key, idempotency_key, body, "
      "notifications, state, attempts, dead_at, dead_reason, last_status) VALUES (7, " +
      cid +
      ", 'event=worker.offline', 'fw-7-aaaaaaaa', '{\"version\":1}', 1, 'dead', 8, "
      "now(), 'max attempts', 503), (8, " +
      cid + ", 'event=x', 'fw-8-bbbbbbbb', '{}', 0, 'delivered', 1, NULL, NULL, 200)");
  gw.db.exec(
      "INSERT INTO notification_deliveries (notification_id, channel_id, group_key, state, "
      "message_id) VALUES (100, " +
      cid + ", 'event=worker.offline', 'dead', 7)");
  gw.db.exec(
      "INSERT INTO notification_attempts (message_id, attempt, started_at, latency_ms, "
      "outcome, status, notifier) VALUES (7, 1, now(), 12.5, 'failed', 503, 'n1')");

  CHECK(gw.as("viewer", "GET", "/api/notifications/messages").status == 403);
  const auto dead = gw.as("operator", "GET", "/api/notifications/messages?state=dead");
  REQUIRE(dead.status == 200);
  REQUIRE(dead.body["items"].size() == 1);
  CHECK(dead.body["items"][0]["id"] == 7);
  CHECK(error_field(gw.as("operator", "GET", "/api/notifications/messages?state=lost")) == "state");
  const auto one = gw.as("operator", "GET", "/api/notifications/messages/7");
  REQUIRE(one.status == 200);
  CHECK(one.body["attempts"].size() == 1);
  CHECK(one.body["attempts"][0]["status"] == 503);
  CHECK(one.body["carried"][0]["id"] == 100);
  const auto listed = gw.as("viewer", "GET", "/api/notifications");
  CHECK(listed.body["items"][0]["deliveries"][0]["state"] == "dead");

  CHECK(gw.as("viewer", "POST", "/api/notifications/messages/7/retry").status == 403);
  const auto retried = gw.as("operator", "POST", "/api/notifications/messages/7/retry");
  REQUIRE(retried.status == 202);
  CHECK(retried.body["state"] == "retrying");
  CHECK(retried.body["retry_base"] == 8);
  CHECK(retried.body["dead_at"].is_null());
  CHECK(gw.db.scalar("SELECT state FROM notification_deliveries WHERE message_id = 7") == "queued");
  CHECK(gw.db.scalar("SELECT next_attempt_at <= now() FROM notification_messages WHERE id = 7") ==
        "t");
  CHECK(gw.as("operator", "POST", "/api/notifications/messages/8/retry").status == 409);
  CHECK(gw.as("operator", "POST", "/api/notifications/messages/99/retry").status == 404);
  CHECK(gw.db.scalar("SELECT count(*) FROM audit_log WHERE action = 'POST "
                     "/api/notifications/messages/{id}/retry'") == "4");
}
