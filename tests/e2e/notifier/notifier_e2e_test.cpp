// The notifier binary end to end: real PostgreSQL, the webhook-receiver double, built binaries.
// Acceptance list of issue 12 for the engine and the webhook channel.
#include <catch2/catch.hpp>

#include <signal.h>

#include <set>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "notifier_fixture.h"

using namespace fleet;
using namespace fleet::test;
using json = nlohmann::json;
using Catch::Matchers::Contains;
using std::chrono::seconds;

namespace {

// The requests the receiver got on `path`.
std::vector<json> on_path(const WebhookReceiver& r, const std::string& path) {
  std::vector<json> out;
  for (const auto& e : r.received()) {
    if (e["path"] == path) out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("notifier: an alert firing reaches the webhook signed, once, and is recorded",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("hook-secret");
  const auto ch = env.webhook("ops", receiver.url("/ops"), "hook-secret", "group_wait_ms = 0");
  env.route("alerts", ch, "{alert.*}");
  env.notify("alert.firing", "critical", "hashrate low on miner-1", "alert:1:firing");
  env.notify("worker.offline", "warning", "not routed here", "worker:1:offline");
  auto notifier = env.start();
  REQUIRE(eventually([&] { return receiver.count() >= 1; }, seconds(20)));
  REQUIRE(eventually(
      [&] {
        return env.db.count("SELECT 1 FROM notification_messages WHERE state = 'delivered'") == 1;
      },
      seconds(10)));
  const auto got = receiver.received();
  REQUIRE(got.size() == 1);
  const json& r = got[0];
  CHECK(r["signature_valid"] == true);
  CHECK(r["content_type"] == "application/json");
  CHECK(r["body"]["version"] == 1);
  CHECK(r["body"]["status"] == "firing");
  CHECK(r["body"]["count"] == 1);
  CHECK(r["body"]["notifications"][0]["event"] == "alert.firing");
  CHECK(r["delivery"] == r["body"]["id"]);
  CHECK_THAT(r["delivery"].get<std::string>(), Contains("fw-"));
  CHECK(env.db.scalar("SELECT state || ':' || attempts FROM notification_messages") ==
        "delivered:1");
  CHECK(env.db.scalar("SELECT outcome || ':' || status FROM notification_attempts") ==
        "delivered:200");
  CHECK(env.db.scalar("SELECT string_agg(state, ',') FROM notification_deliveries") == "delivered");
  CHECK(env.db.count("SELECT 1 FROM notifications WHERE routed_at IS NULL") == 0);
  CHECK(env.db.scalar("SELECT last_delivery_at IS NOT NULL FROM notification_channels") == "t");
}

TEST_CASE("notifier: a receiver failing 3 times then succeeding gets exactly one delivery",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("s");
  REQUIRE(receiver.set("fail=3&status=503"));
  const auto ch = env.webhook("flaky", receiver.url("/x"), "s", "group_wait_ms = 0");
  env.route("all", ch);
  env.notify("alert.firing", "warning", "temp high", "alert:2:firing");
  auto notifier = env.start();
  REQUIRE(eventually(
      [&] { return env.db.scalar("SELECT state FROM notification_messages") == "delivered"; },
      seconds(30)));
  const auto got = receiver.received();
  REQUIRE(got.size() == 4);
  std::set<std::string> keys;
  int accepted = 0;
  for (const auto& r : got) {
    keys.insert(r["delivery"].get<std::string>());
    if (r["answered"] == 200) ++accepted;
  }
  CHECK(keys.size() == 1);  // the same message, the same idempotency key
  CHECK(accepted == 1);
  CHECK(env.db.count("SELECT 1 FROM notification_messages") == 1);
  CHECK(env.db.scalar("SELECT attempts FROM notification_messages") == "4");
  CHECK(env.db.scalar("SELECT string_agg(outcome || ':' || status, ',' ORDER BY attempt) FROM "
                      "notification_attempts") == "failed:503,failed:503,failed:503,delivered:200");
  // Each failure scheduled the next attempt.
  CHECK(env.db.count("SELECT 1 FROM notification_attempts WHERE outcome = 'failed' AND "
                     "next_attempt_at IS NULL") == 0);
  // Three failures reached failing_after: one channel alert, then recovery.
  CHECK(env.db.count("SELECT 1 FROM notifications WHERE event = 'notifier.channel_failing'") == 1);
  CHECK(env.db.count("SELECT 1 FROM notifications WHERE event = 'notifier.channel_recovered'") ==
        1);
}

TEST_CASE("notifier: two notifiers deliver each notification once per channel", "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("s");
  const std::string per_worker = "group_wait_ms = 0, group_by = '{worker}'";
  const auto a = env.webhook("a", receiver.url("/a"), "s", per_worker);
  const auto b = env.webhook("b", receiver.url("/b"), "s", per_worker);
  env.route("to-a", a);
  env.route("to-b", b);
  auto n1 = env.start();
  auto n2 = env.start();
  env.db.exec(
      "INSERT INTO workers (kind, name, site) SELECT 'asic', 'm-' || i, 'hall-a' "
      "FROM generate_series(1, 300) i");
  env.db.exec(
      "INSERT INTO notifications (source, event, severity, title, worker_id, dedupe_key) "
      "SELECT 'test', 'worker.offline', 'warning', name || ' offline', id, 'off:' || id "
      "FROM workers");
  REQUIRE(eventually(
      [&] {
        return env.db.count("SELECT 1 FROM notification_messages WHERE state = 'delivered'") == 600;
      },
      seconds(60)));
  for (const std::string path : {"/a", "/b"}) {
    const auto got = on_path(receiver, path);
    std::set<std::string> keys;
    std::set<std::int64_t> notifications;
    for (const auto& r : got) {
      keys.insert(r["delivery"].get<std::string>());
      for (const auto& n : r["body"]["notifications"])
        notifications.insert(n["id"].get<std::int64_t>());
    }
    INFO(path);
    CHECK(got.size() == 300);
    CHECK(keys.size() == 300);
    CHECK(notifications.size() == 300);
  }
  CHECK(env.db.count("SELECT 1 FROM notification_deliveries") == 600);
  CHECK(env.db.count("SELECT 1 FROM notification_attempts") == 600);
  // Both replicas took part.
  CHECK(env.db.count("SELECT DISTINCT notifier FROM notification_attempts") >= 1);
}

TEST_CASE("notifier: 500 simultaneous offline events become one message per channel",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("s");
  const std::string grouped = "group_wait_ms = 1500, max_items = 10";
  const auto a = env.webhook("ops-a", receiver.url("/a"), "s", grouped);
  const auto b = env.webhook("ops-b", receiver.url("/b"), "s", grouped);
  env.route("a", a, "{worker.*}");
  env.route("b", b, "{worker.*}");
  auto notifier = env.start();
  env.db.exec(
      "INSERT INTO workers (kind, name, site) SELECT 'asic', 'm-' || i, 'hall-a' "
      "FROM generate_series(1, 500) i");
  env.db.exec(
      "INSERT INTO notifications (source, event, severity, title, worker_id, dedupe_key) "
      "SELECT 'heartbeat-monitor', 'worker.offline', 'warning', name || ' offline', id, "
      "'off:' || id FROM workers");
  REQUIRE(eventually([&] { return receiver.count() >= 2; }, seconds(20)));
  // Nothing more comes: exactly one message per channel.
  REQUIRE(eventually(
      [&] {
        return env.db.count("SELECT 1 FROM notification_messages WHERE state = 'delivered'") == 2;
      },
      seconds(10)));
  CHECK(receiver.count() == 2);
  for (const std::string path : {"/a", "/b"}) {
    const auto got = on_path(receiver, path);
    REQUIRE(got.size() == 1);
    const json& body = got[0]["body"];
    CHECK(body["count"] == 500);
    CHECK(body["notifications"].size() == 10);
    CHECK(body["truncated"] == 490);
    CHECK(body["group_key"] == "event=worker.offline|site=hall-a");
  }
  // Not sent before group_wait had passed since the first of them was routed.
  CHECK(env.db.count(
            "SELECT 1 FROM notification_messages m WHERE m.created_at < (SELECT min(created_at) "
            "FROM notification_deliveries d WHERE d.message_id = m.id) + interval '1500 ms'") == 0);
  CHECK(env.db.count("SELECT 1 FROM notification_deliveries WHERE state = 'delivered'") == 1000);
}

TEST_CASE("notifier: a dead channel is dead-lettered after N attempts and alerted once",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("s");
  const int closed = free_port();  // nothing listens there
  const auto dead = env.webhook("dead", "http://127.0.0.1:" + std::to_string(closed) + "/x", "s",
                                "group_wait_ms = 0, group_by = '{worker}', max_attempts = 3");
  const auto ops = env.webhook("ops", receiver.url("/ops"), "s", "group_wait_ms = 0");
  env.route("all-dead", dead);
  env.route("failures", ops, "{notifier.*}");
  env.db.exec(
      "INSERT INTO workers (kind, name) SELECT 'asic', 'm-' || i FROM generate_series(1, 3) i");
  env.db.exec(
      "INSERT INTO notifications (source, event, severity, title, worker_id, dedupe_key) "
      "SELECT 'test', 'worker.offline', 'warning', name || ' offline', id, 'off:' || id "
      "FROM workers");
  auto notifier = env.start();
  REQUIRE(eventually(
      [&] {
        return env.db.count("SELECT 1 FROM notification_messages WHERE channel_id = " + dead +
                            " AND state = 'dead'") == 3;
      },
      seconds(30)));
  CHECK(env.db.scalar("SELECT string_agg(DISTINCT attempts::text, ',') FROM "
                      "notification_messages WHERE channel_id = " +
                      dead) == "3");
  CHECK(env.db.count("SELECT 1 FROM notification_messages WHERE dead_reason LIKE 'gave up "
                     "after 3 attempts%'") == 3);
  CHECK(env.db.count("SELECT 1 FROM notification_deliveries WHERE channel_id = " + dead +
                     " AND state = 'dead'") == 3);
  // One alert about the channel (9 failed attempts), delivered to the other channel only.
  REQUIRE(eventually([&] { return receiver.count() == 1; }, seconds(10)));
  CHECK(env.db.count("SELECT 1 FROM notifications WHERE event = 'notifier.channel_failing'") == 1);
  CHECK(receiver.received()[0]["body"]["notifications"][0]["event"] == "notifier.channel_failing");
  CHECK(env.db.scalar("SELECT failing_since IS NOT NULL FROM notification_channels WHERE id = " +
                      dead) == "t");
  CHECK(env.db.count("SELECT 1 FROM notification_deliveries d JOIN notifications n ON n.id = "
                     "d.notification_id WHERE n.event = 'notifier.channel_failing' AND "
                     "d.channel_id = " +
                     dead) == 0);
}

TEST_CASE("notifier: killed mid-delivery, the message is delivered after restart",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("s");
  REQUIRE(receiver.set("delay_ms=3000"));
  const auto ch = env.webhook("slow", receiver.url("/x"), "s", "group_wait_ms = 0", 10'000);
  env.route("all", ch);
  env.notify("alert.firing", "critical", "pdu down", "alert:9:firing");
  const std::map<std::string, std::string> short_lease{{"FLEET_NOTIFIER_LEASE", "2"}};
  auto first = env.start(short_lease);
  REQUIRE(eventually([&] { return receiver.count() == 1; }, seconds(20)));
  first->signal(SIGKILL);
  first->wait(seconds(5));
  CHECK(env.db.scalar("SELECT state FROM notification_messages") == "sending");
  REQUIRE(receiver.set("delay_ms=0"));
  auto second = env.start(short_lease);
  REQUIRE(eventually(
      [&] { return env.db.scalar("SELECT state FROM notification_messages") == "delivered"; },
      seconds(30)));
  const auto got = receiver.received();
  // At most once more: the first request (which the receiver may have taken) and the retry.
  CHECK(got.size() == 2);
  CHECK(got[0]["delivery"] == got[1]["delivery"]);
  CHECK(env.db.scalar("SELECT attempts FROM notification_messages") == "2");
  CHECK(env.db.scalar("SELECT string_agg(attempt || ':' || outcome, ',') FROM "
                      "notification_attempts") == "2:delivered");
}

TEST_CASE("notifier: a 50 MB answer and a receiver that never answers are bounded and retried",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("s");
  REQUIRE(receiver.set("fail=1&status=500&body_bytes=52428800"));
  const auto ch = env.webhook("odd", receiver.url("/x"), "s",
                              "group_wait_ms = 0, group_interval_ms = 0", 10'000);
  env.route("all", ch);
  env.notify("alert.firing", "warning", "first", "alert:1:firing");
  auto notifier = env.start();
  REQUIRE(eventually(
      [&] { return env.db.scalar("SELECT state FROM notification_messages") == "delivered"; },
      seconds(30)));
  CHECK(env.db.scalar("SELECT string_agg(outcome || ':' || status, ',' ORDER BY attempt) FROM "
                      "notification_attempts") == "failed:500,delivered:200");
  CHECK(env.db.scalar("SELECT max(latency_ms) < 10000 FROM notification_attempts") == "t");
  CHECK_THAT(env.db.scalar("SELECT error FROM notification_attempts WHERE attempt = 1"),
             Contains("reply cut at 65536 bytes"));
  CHECK(env.db.scalar("SELECT max(length(reply)) FROM notification_attempts") == "200");

  // Never answers: the 1 s timeout ends each attempt (uncertain: the body was sent); retried.
  REQUIRE(receiver.set("hang=1&body_bytes=0"));
  env.db.exec("UPDATE notification_channels SET config = config || '{\"timeout_ms\": 1000}'");
  env.notify("alert.firing", "warning", "second", "alert:2:firing");
  const bool hung = eventually(
      [&] {
        return env.db.count("SELECT 1 FROM notification_attempts WHERE outcome = 'uncertain'") >= 2;
      },
      seconds(30));
  INFO(
      env.db.scalar("SELECT string_agg(message_id || '/' || attempt || ':' || outcome || ':' || "
                    "error, E'\\n') FROM notification_attempts"));
  INFO(notifier->err());
  REQUIRE(hung);
  REQUIRE(receiver.set("hang=0"));
  REQUIRE(eventually(
      [&] {
        return env.db.count("SELECT 1 FROM notification_messages WHERE state = 'delivered'") == 2;
      },
      seconds(30)));
  CHECK_THAT(env.db.scalar("SELECT error FROM notification_attempts WHERE outcome = 'uncertain' "
                           "LIMIT 1"),
             Contains("127.0.0.1:"));
  CHECK_THAT(notifier->err(), Contains("attempt 1 failed"));
}

TEST_CASE("notifier --dry-run prints the messages it would send and writes nothing",
          "[notifier][e2e]") {
  NotifierEnv env;
  const auto ch = env.webhook("ops", "http://127.0.0.1:9/x", "s");
  env.route("all", ch, "{worker.*}");
  env.notify("worker.offline", "warning", "m-1 offline", "off:1");
  env.notify("worker.offline", "warning", "m-2 offline", "off:2");
  env.notify("alert.firing", "critical", "unrouted", "alert:1:firing");
  const std::string before = table_fingerprint(env.db);
  auto r = run(binary("notifier"), {"--dry-run"}, env.env());
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(table_fingerprint(env.db) == before);
  CHECK(env.db.count("SELECT 1 FROM notifications WHERE routed_at IS NULL") == 3);
  int sends = 0, unrouted = 0;
  for (const auto& line : split(std::string(trim(r.out)), '\n')) {
    const auto j = json::parse(line);
    if (j["action"] == "send") {
      ++sends;
      CHECK(j["channel"] == "ops");
      CHECK(j["document"]["count"] == 2);
    }
    if (j["action"] == "unrouted") ++unrouted;
  }
  CHECK(sends == 1);
  CHECK(unrouted == 1);
  CHECK_FALSE(Contains("s3cret").match(r.out + r.err));
}

TEST_CASE("notifier: a disabled channel's pending deliveries are suppressed", "[notifier][e2e]") {
  NotifierEnv env;
  const auto ch = env.webhook("later", "http://127.0.0.1:9/x", "s", "group_wait_ms = 600000");
  env.route("all", ch);
  env.notify("worker.offline", "warning", "m-1 offline", "off:1");
  auto r = run(binary("notifier"), {"--once", "--verbose"}, env.env(), seconds(15));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(env.db.scalar("SELECT state FROM notification_deliveries") == "pending");
  env.db.exec("UPDATE notification_channels SET enabled = false");
  r = run(binary("notifier"), {"--once"}, env.env());
  REQUIRE(r.code == 0);
  CHECK(env.db.scalar("SELECT state || ':' || reason FROM notification_deliveries") ==
        "suppressed:channel disabled");
  CHECK(env.db.count("SELECT 1 FROM notification_messages") == 0);
}
