// The notifier binary end to end on the paths issue 12 left untested: repeat_interval, owners'
// subscriptions, TLS verification of webhooks (and a private CA), and a hung receiver holding
// only its own channel. Real PostgreSQL, the webhook-receiver double, built binaries.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "notifier_fixture.h"

using namespace fleet;
using namespace fleet::test;
using json = nlohmann::json;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using std::chrono::seconds;

namespace {

RunResult once(NotifierEnv& env, std::map<std::string, std::string> extra = {}) {
  auto r = run(binary("notifier"), {"--once"}, env.env(std::move(extra)), seconds(30));
  INFO(r.err);
  REQUIRE(r.code == 0);
  return r;
}

std::string add_user(NotifierEnv& env, const std::string& name) {
  return env.db.scalar("INSERT INTO users (username, password_hash, role) VALUES ('" + name +
                       "', 'x', 'viewer') RETURNING id");
}

std::string add_worker(NotifierEnv& env, const std::string& name, const std::string& kind,
                       const std::string& labels = "{}") {
  return env.db.scalar("INSERT INTO workers (kind, name, labels) VALUES ('" + kind + "', '" + name +
                       "', '" + labels + "') RETURNING id");
}

// A running deployment of a new organisation with `member` in it, placed on `node`.
void place_for(NotifierEnv& env, const std::string& org, const std::string& member,
               const std::string& node) {
  const auto o =
      env.db.scalar("INSERT INTO organizations (name) VALUES ('" + org + "') RETURNING id");
  env.db.exec("INSERT INTO organization_members (organization_id, user_id) VALUES (" + o + ", " +
              member + ")");
  const auto d =
      env.db.scalar("INSERT INTO deployments (organization_id, name, image, created_by) VALUES (" +
                    o + ", '" + org + "-web', 'busybox:1.36', 'test') RETURNING id");
  env.db.exec(
      "INSERT INTO placements (deployment_id, replica, node_id, container_name, state, cpu_cores, "
      "memory_mb, disk_gb, running_since) VALUES (" +
      d + ", 0, " + node + ", 'fw-" + d + "-0', 'running', 0.5, 256, 1, now())");
}

// "openssl req" makes a self-signed certificate for 127.0.0.1 (its own CA) in `dir`.
void make_certificate(const std::string& dir) {
  auto r =
      run("/usr/bin/openssl", {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                               "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                               "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"});
  INFO(r.err);
  REQUIRE(r.code == 0);
}

// An https server in this process presenting `dir`/cert.pem; counts the POSTs it was given.
class TlsReceiver {
 public:
  explicit TlsReceiver(const std::string& dir)
      : server_((dir + "/cert.pem").c_str(), (dir + "/key.pem").c_str()) {
    server_.Post(".*", [this](const httplib::Request&, httplib::Response& res) {
      ++posts_;
      res.set_content(R"({"ok":true})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~TlsReceiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  int posts() const { return posts_; }
  bool valid() const { return server_.is_valid() && port_ > 0; }

 private:
  httplib::SSLServer server_;
  int port_ = -1;
  std::atomic<int> posts_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("notifier: an unchanged firing group is sent again after repeat_interval, not before",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("s");
  const auto ch = env.webhook("ops", receiver.url("/ops"), "s",
                              "group_wait_ms = 0, repeat_interval_ms = 60000");
  env.route("all", ch);
  const auto worker = add_worker(env, "m-1", "asic");
  const auto rule = env.db.scalar(
      "INSERT INTO rules (name, condition) VALUES ('hot', 'temperature > 80') RETURNING id");
  const auto alert = env.db.scalar(
      "INSERT INTO alerts (rule_id, worker_id, kind, state, severity, started_at, fired_at) "
      "VALUES (" +
      rule + ", " + worker + ", 'condition', 'firing', 'critical', now(), now()) RETURNING id");
  const auto n = env.db.scalar(
      "INSERT INTO notifications (source, event, severity, title, worker_id, rule_id, alert_id, "
      "dedupe_key) VALUES ('alert-evaluator', 'alert.firing', 'critical', 'm-1 is hot', " +
      worker + ", " + rule + ", " + alert + ", 'alert:" + alert + ":firing') RETURNING id");
  once(env);
  REQUIRE(receiver.count() == 1);
  // The group's clock moved back (repeat_interval is measured on last_sent_at): 59 s is not
  // enough, 61 s is.
  const auto sent_ago = [&](int s) {
    env.db.exec("UPDATE notification_groups SET last_sent_at = now() - interval '" +
                std::to_string(s) + " seconds'");
  };
  sent_ago(59);
  once(env);
  CHECK(receiver.count() == 1);
  CHECK(env.db.count("SELECT 1 FROM notification_messages") == 1);
  sent_ago(61);
  once(env);
  REQUIRE(receiver.count() == 2);
  const json repeat = receiver.received()[1]["body"];
  CHECK(repeat["kind"] == "repeat");
  CHECK_THAT(repeat["title"].get<std::string>(), StartsWith("[still firing]"));
  CHECK(repeat["notifications"][0]["id"] == std::stoll(n));
  CHECK(env.db.scalar("SELECT string_agg(kind || ':' || state, ',' ORDER BY id) FROM "
                      "notification_messages") == "group:delivered,repeat:delivered");
  // The repeat restarted the interval; once the alert resolves nothing repeats any more.
  sent_ago(59);
  once(env);
  CHECK(receiver.count() == 2);
  env.db.exec(
      "UPDATE alerts SET state = 'resolved', resolved_at = now(), resolution = 'cleared' WHERE "
      "id = " +
      alert);
  sent_ago(61);
  once(env);
  CHECK(receiver.count() == 2);
  CHECK(env.db.count("SELECT 1 FROM notification_messages") == 2);
}

TEST_CASE("notifier: a user subscribed to their own workers hears about theirs, not others'",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver receiver("s");
  // No route: the channel gets only what subscriptions send it.
  const auto ch =
      env.webhook("mine", receiver.url("/mine"), "s", "group_wait_ms = 0, group_by = '{worker}'");
  const auto alice = add_user(env, "alice");
  const auto bob = add_user(env, "bob");
  env.db.exec("INSERT INTO notification_subscriptions (user_id, channel_id) VALUES (" + alice +
              ", " + ch + ")");
  // The three ways a worker is someone's (sql/0047): labels.owner, a deployment of one of their
  // organisations placed on it (a node), payload.owners.
  const auto alices_miner = add_worker(env, "alices-miner", "asic", R"({"owner": "alice"})");
  const auto bobs_miner = add_worker(env, "bobs-miner", "asic", R"({"owner": "bob"})");
  const auto alices_node = add_worker(env, "alices-node", "node");
  const auto bobs_node = add_worker(env, "bobs-node", "node");
  const auto plain = add_worker(env, "plain", "device");
  place_for(env, "team-a", alice, alices_node);
  place_for(env, "team-b", bob, bobs_node);
  for (const auto& w : {alices_miner, bobs_miner, alices_node, bobs_node}) {
    env.notify("worker.offline", "warning", "offline", "off:" + w, w);
  }
  env.db.exec(
      "INSERT INTO notifications (source, event, severity, title, worker_id, payload, "
      "dedupe_key) VALUES ('test', 'worker.offline', 'warning', 'for alice', " +
      plain + ", '{\"owners\": [" + alice + "]}', 'p:1'), ('test', 'worker.offline', 'warning', " +
      "'for bob', " + plain + ", '{\"owners\": [" + bob + "]}', 'p:2')");
  once(env);
  std::multiset<std::string> titles;
  std::set<std::int64_t> workers;
  for (const auto& r : receiver.received()) {
    for (const auto& item : r["body"]["notifications"]) {
      workers.insert(item["worker"]["id"].get<std::int64_t>());
      titles.insert(item["title"].get<std::string>());
    }
  }
  CHECK(workers == std::set<std::int64_t>{std::stoll(alices_miner), std::stoll(alices_node),
                                          std::stoll(plain)});
  CHECK(titles.count("for alice") == 1);
  CHECK(titles.count("for bob") == 0);
  CHECK(receiver.count() == 3);
  CHECK(env.db.count("SELECT 1 FROM notification_deliveries") == 3);
  CHECK(env.db.count("SELECT 1 FROM notifications WHERE routed_at IS NULL") == 0);
}

TEST_CASE("notifier: a webhook to a self-signed https receiver is refused, then trusted by CA",
          "[notifier][e2e]") {
  const std::string dir = make_temp_dir("fleet-notifier-tls");
  make_certificate(dir);
  TlsReceiver receiver(dir);
  REQUIRE(receiver.valid());
  NotifierEnv env;
  const auto ch = env.webhook("tls", receiver.url(), "s", "group_wait_ms = 0");
  env.route("all", ch);
  env.notify("alert.firing", "critical", "pdu down", "alert:1:firing");
  // Without the CA: verification fails; recorded, not delivered, retried later (1 h).
  once(env, {{"FLEET_NOTIFIER_RETRY_INITIAL", "1h"}, {"FLEET_NOTIFIER_RETRY_MAX", "1h"}});
  CHECK(receiver.posts() == 0);
  CHECK(env.db.scalar("SELECT state || ':' || attempts FROM notification_messages") ==
        "retrying:1");
  CHECK(env.db.scalar("SELECT outcome FROM notification_attempts") == "failed");
  const auto error = env.db.scalar("SELECT error FROM notification_attempts");
  CHECK_THAT(error, Contains("127.0.0.1:") && Contains("certificate"));
  CHECK(env.db.scalar("SELECT state FROM notification_deliveries") == "queued");
  // With notifier.ca_file naming the receiver's certificate (its own CA) it is delivered.
  env.db.exec("UPDATE notification_messages SET next_attempt_at = now()");
  once(env, {{"FLEET_NOTIFIER_CA_FILE", dir + "/cert.pem"}});
  CHECK(receiver.posts() == 1);
  CHECK(env.db.scalar("SELECT state || ':' || attempts FROM notification_messages") ==
        "delivered:2");
  CHECK(env.db.scalar("SELECT string_agg(outcome, ',' ORDER BY attempt) FROM "
                      "notification_attempts") == "failed,delivered");
  std::filesystem::remove_all(dir);
}

TEST_CASE("notifier: a receiver that hangs holds only its own channel's messages",
          "[notifier][e2e]") {
  NotifierEnv env;
  WebhookReceiver hung("s");
  WebhookReceiver fine("s");
  REQUIRE(hung.set("hang=1"));
  const auto a = env.webhook("hung", hung.url("/a"), "s", "group_wait_ms = 0", 30'000);
  const auto b = env.webhook("fine", fine.url("/b"), "s", "group_wait_ms = 0");
  env.route("to-a", a);
  env.route("to-b", b);
  auto notifier = env.start();
  env.notify("alert.firing", "critical", "pdu down", "alert:1:firing");
  REQUIRE(eventually([&] { return hung.count() == 1; }, seconds(20)));
  // The other channel's message is delivered and recorded while the first still waits for its
  // answer (30 s timeout): its attempt has not ended.
  REQUIRE(eventually(
      [&] {
        return env.db.scalar("SELECT state FROM notification_messages WHERE channel_id = " + b) ==
               "delivered";
      },
      seconds(20)));
  CHECK(fine.count() == 1);
  CHECK(env.db.scalar("SELECT state FROM notification_messages WHERE channel_id = " + a) ==
        "sending");
  CHECK(env.db.count("SELECT 1 FROM notification_attempts a JOIN notification_messages m ON "
                     "m.id = a.message_id WHERE m.channel_id = " +
                     a) == 0);
  // Once it answers, it is delivered by the same attempt.
  REQUIRE(hung.set("hang=0"));
  REQUIRE(eventually(
      [&] {
        return env.db.scalar("SELECT state FROM notification_messages WHERE channel_id = " + a) ==
               "delivered";
      },
      seconds(20)));
  CHECK(hung.count() == 1);
  CHECK(env.db.scalar("SELECT attempts FROM notification_messages WHERE channel_id = " + a) == "1");
}
