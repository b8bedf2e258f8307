// `fleetctl api notify ...` against a running api-gateway (issue 12): channels with a secret read
// from a file and never printed, the generated key shown once, a test, messages and retry now.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>

#include "gateway_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

RunResult fleetctl(const GatewayFixture& gw, const std::vector<std::string>& args,
                   const std::string& user) {
  Process::Options o;
  o.env = {{"FLEET_API_URL", "http://127.0.0.1:" + std::to_string(gw.port)},
           {"FLEET_API_USER", user},
           {"FLEET_API_PASSWORD", GatewayFixture::kPassword}};
  o.unset_env = {"DATABASE_URL",  "POSTGRES_SERVER",   "POSTGRES_DB",
                 "POSTGRES_USER", "POSTGRES_PASSWORD", "FLEET_API_KEY"};
  return run(binary("fleetctl"), args, o);
}

}  // namespace

TEST_CASE("fleetctl api notify: channels, test, messages and retry through the API",
          "[fleetctl][notify][e2e]") {
  GatewayFixture gw(
      {"--set", "secrets.key=6f1c0d9a8b7e4c3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f"});
  char path[] = "/tmp/fleet-notify-secret-XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  std::ofstream(path) << "smtp-password-from-file\n";

  auto mail = fleetctl(gw,
                       {"api", "notify", "channels", "add", "mail", "--kind", "email", "--config",
                        R"({"smtp_url": "smtp://127.0.0.1:2525", "username": "fleet", )"
                        R"("from": "a@example.org", "to": ["b@example.org"]})",
                        "--secret-file", path},
                       "admin");
  INFO(mail.err);
  REQUIRE(mail.code == 0);
  CHECK_THAT(mail.out, Contains("mail (email, enabled, secret set)"));

  auto hook = fleetctl(gw,
                       {"api", "notify", "channels", "add", "hook", "--kind", "webhook", "--config",
                        R"({"url": "http://127.0.0.1:9/x"})", "--extra",
                        R"({"group_by": ["event"], "group_wait_ms": 0})"},
                       "admin");
  REQUIRE(hook.code == 0);
  CHECK_THAT(hook.out, Contains("generated signing secret (shown only now"));
  const auto key_at = hook.out.rfind("\n  ");
  REQUIRE(key_at != std::string::npos);
  const std::string generated = hook.out.substr(key_at + 3, 64);
  CHECK(generated.size() == 64);

  // A bad config: the server's field in the error, exit code 1, nothing stored.
  auto bad = fleetctl(gw,
                      {"api", "notify", "channels", "add", "bad", "--kind", "mqtt", "--config",
                       R"({"host": "127.0.0.1", "topic": "a/#"})"},
                      "admin");
  CHECK(bad.code != 0);
  CHECK_THAT(bad.err + bad.out, Contains("config.topic"));

  auto list = fleetctl(gw, {"api", "notify", "channels", "list", "--json"}, "admin");
  REQUIRE(list.code == 0);
  CHECK_THAT(list.out, Contains("\"has_secret\": true"));
  for (const auto* r : {&mail, &hook, &list}) {
    CHECK(r->out.find("smtp-password-from-file") == std::string::npos);
    CHECK(r->err.find("smtp-password-from-file") == std::string::npos);
  }
  CHECK(list.out.find(generated) == std::string::npos);
  CHECK(fleetctl(gw, {"api", "notify", "channels", "list"}, "viewer").code != 0);

  const std::string mail_id =
      gw.db.scalar("SELECT id FROM notification_channels WHERE name = 'mail'");
  auto test = fleetctl(gw, {"api", "notify", "test", mail_id}, "admin");
  REQUIRE(test.code == 0);
  CHECK(gw.db.scalar("SELECT count(*) FROM notifications WHERE event = 'notifier.test'") == "1");

  gw.db.exec(
      "INSERT INTO notification_messages (id, channel_id, group_key, idempotency_key, body, "
      "notifications, state, attempts, dead_at, dead_reason) VALUES (5, " +
      mail_id + ", 'event=x', 'fw-5-cccccccc', '{}', 1, 'dead', 8, now(), 'max attempts')");
  auto dead = fleetctl(gw, {"api", "notify", "messages", "--state", "dead"}, "operator");
  REQUIRE(dead.code == 0);
  CHECK_THAT(dead.out, Contains("dead"));
  CHECK_THAT(dead.out, Contains("max attempts"));
  auto retry = fleetctl(gw, {"api", "notify", "retry", "5"}, "operator");
  REQUIRE(retry.code == 0);
  CHECK_THAT(retry.out, Contains("retrying"));
  CHECK(gw.db.scalar("SELECT state FROM notification_messages WHERE id = 5") == "retrying");
  std::remove(path);
}
