// The MQTT channel (libs/notify mqtt_sender) against a real mosquitto.
#include <catch2/catch.hpp>

#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "mosquitto.h"
#include "mqtt/client.h"
#include "notify/mqtt_sender.h"

using namespace fleet;
using namespace fleet::notify;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct Inbox {
  std::mutex mu;
  std::vector<mqtt::Message> messages;
  std::size_t size() {
    std::lock_guard lock(mu);
    return messages.size();
  }
  mqtt::Message at(std::size_t i) {
    std::lock_guard lock(mu);
    return messages.at(i);
  }
};

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// A subscriber on `topic`, connected before it returns.
std::unique_ptr<mqtt::Client> subscriber(const test::MosquittoBroker& broker, Inbox& inbox,
                                         const std::string& topic, const std::string& user = "",
                                         const std::string& password = "") {
  mqtt::BrokerOptions o;
  o.port = broker.port();
  o.username = user;
  o.password = password;
  mqtt::Client::Handlers h;
  h.on_message = [&inbox](const mqtt::Message& m) {
    std::lock_guard lock(inbox.mu);
    inbox.messages.push_back(m);
  };
  auto c = mqtt::Client::start(o, h);
  REQUIRE(c.ok());
  REQUIRE((*c)->subscribe(topic).ok());
  REQUIRE(eventually([&] { return (*c)->connected(); }));
  std::this_thread::sleep_for(200ms);  // the SUBACK
  return std::move(*c);
}

ChannelSettings channel(const test::MosquittoBroker& broker, json extra = json::object()) {
  json config = {{"host", "127.0.0.1"},
                 {"port", broker.port()},
                 {"topic", "fleetward/notifications"},
                 {"timeout_ms", 2000}};
  config.update(extra);
  return {.id = 3, .name = "ha", .kind = "mqtt", .config_json = config.dump(), .secret = ""};
}

OutgoingMessage message(int id) {
  const std::string key = "fw-" + std::to_string(id) + "-deadbeef";
  return {.id = id,
          .idempotency_key = key,
          .recipient = "",
          .document_json = json{{"version", 1}, {"id", key}, {"title", "t"}}.dump(),
          .attempt = 1};
}

}  // namespace

TEST_CASE("mqtt sender: the document is published as is and delivered on PUBACK",
          "[notify][mqtt]") {
  auto broker = test::MosquittoBroker::start();
  Inbox inbox;
  auto sub = subscriber(*broker, inbox, "fleetward/notifications");
  auto sender = make_mqtt_sender();
  const auto ch = channel(*broker);
  for (int i = 1; i <= 3; ++i) {
    const auto r = sender->send(ch, message(i));
    CAPTURE(r.error);
    CHECK(r.outcome == SendResult::Outcome::kDelivered);
    CHECK(r.reply == "PUBACK");
    CHECK(r.latency.count() > 0);
  }
  REQUIRE(eventually([&] { return inbox.size() == 3; }));
  CHECK(inbox.at(0).payload == message(1).document_json);
  CHECK(inbox.at(2).payload == message(3).document_json);
  CHECK(inbox.at(0).topic == "fleetward/notifications");
}

TEST_CASE("mqtt sender: broker down -> failed, back up -> delivered on a new connection",
          "[notify][mqtt]") {
  auto broker = test::MosquittoBroker::start();
  auto sender = make_mqtt_sender();
  const auto ch = channel(*broker, {{"timeout_ms", 1000}});
  REQUIRE(sender->send(ch, message(1)).outcome == SendResult::Outcome::kDelivered);
  broker->stop();
  const auto down = sender->send(ch, message(2));
  CHECK(down.outcome != SendResult::Outcome::kDelivered);
  CHECK_FALSE(down.permanent);
  CHECK_THAT(down.error, Catch::Contains("mqtt 127.0.0.1:" + std::to_string(broker->port())));
  broker->restart();
  Inbox inbox;
  auto sub = subscriber(*broker, inbox, "fleetward/notifications");
  SendResult up;
  REQUIRE(eventually(
      [&] {
        up = sender->send(ch, message(3));
        return up.outcome == SendResult::Outcome::kDelivered;
      },
      10s));
  REQUIRE(eventually([&] { return inbox.size() >= 1; }));
  CHECK(inbox.at(inbox.size() - 1).payload == message(3).document_json);
}

TEST_CASE("mqtt sender: a password is used, a wrong one fails with the broker's reason",
          "[notify][mqtt]") {
  auto broker = test::MosquittoBroker::start({.users = {{"fleet", "s3cret-pw"}}});
  Inbox inbox;
  auto sub = subscriber(*broker, inbox, "ha/#", "fleet", "s3cret-pw");
  auto sender = make_mqtt_sender();
  auto ch = channel(*broker, {{"username", "fleet"}, {"topic", "ha/fleetward"}});
  ch.secret = "wrong";
  const auto refused = sender->send(ch, message(1));
  CHECK(refused.outcome == SendResult::Outcome::kFailed);
  CHECK(refused.status == 5);  // CONNACK "not authorised"
  CHECK_THAT(refused.error, Catch::Contains("refused the connection"));
  CHECK(refused.error.find("wrong") == std::string::npos);
  ch.secret = "s3cret-pw";  // a changed secret makes a new connection
  const auto ok = sender->send(ch, message(2));
  CAPTURE(ok.error);
  CHECK(ok.outcome == SendResult::Outcome::kDelivered);
  REQUIRE(eventually([&] { return inbox.size() == 1; }));
  CHECK(inbox.at(0).topic == "ha/fleetward");
}

TEST_CASE("mqtt sender: a config it cannot use is a permanent failure", "[notify][mqtt]") {
  auto sender = make_mqtt_sender();
  for (const std::string config :
       {"[]", R"({"host":"127.0.0.1","port":1883,"topic":"a/#"})", R"({"topic":"a"})",
        R"({"host":"127.0.0.1","port":70000,"topic":"a"})",
        R"({"host":"127.0.0.1","topic":"a","tls":true})"}) {
    CAPTURE(config);
    const auto r =
        sender->send({.id = 9, .name = "x", .kind = "mqtt", .config_json = config}, message(1));
    CHECK(r.outcome == SendResult::Outcome::kFailed);
    CHECK(r.permanent);
  }
}
