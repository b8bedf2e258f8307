// The libmosquitto wrapper (libs/mqtt) against a real mosquitto.
#include <catch2/catch.hpp>

#include <csignal>
#include <mutex>

#include "mosquitto.h"
#include "mqtt/client.h"
#include "relay_fixture.h"

using namespace fleet;
using namespace fleet::test;
using namespace std::chrono_literals;

namespace {

// Records what a client receives.
struct Inbox {
  std::mutex mu;
  std::vector<mqtt::Message> messages;

  mqtt::Client::Handlers handlers() {
    mqtt::Client::Handlers h;
    h.on_message = [this](const mqtt::Message& m) {
      std::lock_guard lock(mu);
      messages.push_back(m);
    };
    return h;
  }
  bool has(const std::string& topic, const std::string& payload) {
    std::lock_guard lock(mu);
    for (const auto& m : messages) {
      if (m.topic == topic && m.payload == payload) return true;
    }
    return false;
  }
  std::size_t count(const std::string& topic) {
    std::lock_guard lock(mu);
    std::size_t n = 0;
    for (const auto& m : messages)
      n += m.topic == topic ? 1 : 0;
    return n;
  }
};

std::unique_ptr<mqtt::Client> start(mqtt::BrokerOptions o, mqtt::Client::Handlers h = {}) {
  auto c = mqtt::Client::start(std::move(o), std::move(h));
  REQUIRE(c.ok());
  return std::move(*c);
}

}  // namespace

TEST_CASE("mqtt: publish fails while not connected and works once the broker is there", "[mqtt]") {
  auto broker = MosquittoBroker::start();
  broker->stop();
  auto client = start(broker_options(*broker));
  auto s = client->publish("t/x", "1");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().kind() == ErrorKind::kUnavailable);
  CHECK(client->stats().publish_refused == 1);
  broker->restart();
  REQUIRE(eventually([&] { return client->connected(); }, 15s));
  CHECK(client->publish("t/x", "1").ok());
}

TEST_CASE("mqtt: subscriptions are made again after the broker restarts", "[mqtt]") {
  auto broker = MosquittoBroker::start();
  Inbox inbox;
  auto listener = start(broker_options(*broker), inbox.handlers());
  REQUIRE(listener->subscribe("fleet/test/#").ok());
  auto talker = start(broker_options(*broker));
  REQUIRE(eventually([&] { return listener->connected() && talker->connected(); }, 10s));
  REQUIRE(eventually(
      [&] {
        REQUIRE(talker->publish("fleet/test/a", "before").ok());
        return inbox.has("fleet/test/a", "before");
      },
      10s));
  broker->stop(SIGKILL);
  REQUIRE(eventually([&] { return !listener->connected(); }, 10s));
  broker->restart();  // persistence off: the broker knows no subscriptions now
  REQUIRE(eventually([&] { return listener->connected() && talker->connected(); }, 15s));
  REQUIRE(eventually(
      [&] {
        if (!talker->publish("fleet/test/b", "after").ok()) return false;
        return inbox.has("fleet/test/b", "after");
      },
      10s));
  CHECK(listener->stats().connects == 2);
}

TEST_CASE("mqtt: incoming messages over the size cap are dropped", "[mqtt][bad-input]") {
  auto broker = MosquittoBroker::start();
  Inbox inbox;
  auto o = broker_options(*broker);
  o.max_payload_bytes = 100;
  auto listener = start(o, inbox.handlers());
  REQUIRE(listener->subscribe("cap/#").ok());
  auto talker = start(broker_options(*broker));
  REQUIRE(eventually([&] { return listener->connected() && talker->connected(); }, 10s));
  // Retained, so the order is kept even if the subscription is made after the publishes.
  REQUIRE(talker->publish("cap/big", std::string(101, 'x'), mqtt::Retain::kYes).ok());
  REQUIRE(eventually(
      [&] {
        REQUIRE(talker->publish("cap/small", std::string(100, 'y')).ok());
        return inbox.count("cap/small") > 0 && listener->stats().oversize_dropped == 1;
      },
      10s));
  CHECK(inbox.count("cap/big") == 0);
}

TEST_CASE("mqtt: a dropped connection publishes the will but a clean close does not", "[mqtt]") {
  auto broker = MosquittoBroker::start();
  Inbox inbox;
  auto watcher = start(broker_options(*broker), inbox.handlers());
  REQUIRE(watcher->subscribe("will/#").ok());
  REQUIRE(eventually([&] { return watcher->connected(); }, 10s));

  auto with_will = [&](const std::string& name) {
    auto o = broker_options(*broker);
    o.client_id = name;
    o.will = mqtt::Will{"will/" + name, "offline", false};
    auto c = start(o);
    REQUIRE(eventually([&] { return c->connected(); }, 10s));
    return c;
  };
  auto polite = with_will("polite");
  polite.reset();  // DISCONNECT sent
  auto crashing = with_will("crashing");
  crashing->abort_connection();
  REQUIRE(eventually([&] { return inbox.has("will/crashing", "offline"); }, 10s));
  // The polite client's will would have come first: the broker handled its close earlier.
  CHECK(inbox.count("will/polite") == 0);
  // An aborted client stays away.
  CHECK_FALSE(crashing->connected());
  CHECK_FALSE(crashing->publish("will/x", "1").ok());
}

TEST_CASE("mqtt: a broker with a password file admits the right credentials only", "[mqtt][auth]") {
  auto broker = MosquittoBroker::start({.users = {{"dispatcher", "correct horse"}}});
  auto good_options = broker_options(*broker);
  good_options.username = "dispatcher";
  good_options.password = "correct horse";
  auto bad_options = good_options;
  bad_options.password = "wrong battery";
  auto good = start(good_options);
  auto bad = start(bad_options);
  REQUIRE(eventually([&] { return good->connected(); }, 10s));
  REQUIRE(
      eventually([&] { return broker->log().find("not authorised") != std::string::npos; }, 10s));
  CHECK_FALSE(bad->connected());
  CHECK_FALSE(bad->publish("x/y", "1").ok());
}

TEST_CASE("mqtt: TLS to a broker whose certificate chains to the given CA", "[mqtt][tls]") {
  auto broker = MosquittoBroker::start({.tls = true});
  auto o = broker_options(*broker);
  o.tls.enabled = true;
  o.tls.ca_file = broker->ca_file();
  Inbox inbox;
  auto client = start(o, inbox.handlers());
  REQUIRE(client->subscribe("tls/#").ok());
  REQUIRE(eventually([&] { return client->connected(); }, 10s));
  REQUIRE(eventually(
      [&] {
        REQUIRE(client->publish("tls/x", "sealed").ok());
        return inbox.has("tls/x", "sealed");
      },
      10s));

  // A client that trusts another CA does not get in.
  auto other = MosquittoBroker::start({.tls = true});
  auto wrong = broker_options(*broker);
  wrong.tls.enabled = true;
  wrong.tls.ca_file = other->ca_file();
  auto refused = start(wrong);
  REQUIRE(eventually(
      [&] {
        return refused->stats().disconnects > 0 ||
               broker->log().find("OpenSSL Error") != std::string::npos;
      },
      10s));
  CHECK_FALSE(refused->connected());
}
