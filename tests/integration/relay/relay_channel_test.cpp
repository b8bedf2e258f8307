// RelayChannel against relay-sim on a real mosquitto (docs/actions.md, docs/tools/relay-sim.md).
#include <catch2/catch.hpp>

#include <csignal>

#include "mqtt/client.h"
#include "relay_fixture.h"

using namespace fleet;
using namespace fleet::test;
using namespace std::chrono_literals;
using relay::Op;
using Kind = relay::RelayResult::Kind;
using nlohmann::json;

namespace {

json channel_of(const json& controller, int n) {
  for (const auto& c : controller["channels"]) {
    if (c["channel"] == n) return c;
  }
  FAIL("no channel " << n);
  return {};
}

bool has_id(const json& controller, const std::string& id) {
  for (const auto& x : controller["request_ids"]) {
    if (x == id) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("relay: every op is acknowledged by a fleetward controller and acted on once",
          "[relay][mqtt]") {
  RelayRig rig;
  const auto a = rig.rack_a();
  auto pulse = rig.send(rig.request(a, 1, Op::kPulse, 100ms, "cmd-1-1"));
  CHECK(pulse.kind == Kind::kAcknowledged);
  CHECK(json::parse(pulse.state_json)["req_id"] == "cmd-1-1");
  CHECK(json::parse(pulse.state_json)["last_action"] == "pulse");
  CHECK(rig.send(rig.request(a, 2, Op::kHold, 200ms, "cmd-2-1")).kind == Kind::kAcknowledged);
  auto cycle = rig.send(rig.request(a, 3, Op::kCycle, 200ms, "cmd-3-1"));
  CHECK(cycle.kind == Kind::kAcknowledged);
  CHECK(json::parse(cycle.state_json)["on"] == true);  // mains back on after the off time
  CHECK(rig.send(rig.request(a, 4, Op::kOff, 0ms, "cmd-4-1")).kind == Kind::kAcknowledged);
  auto on = rig.send(rig.request(a, 4, Op::kOn, 0ms, "cmd-4-2"));
  CHECK(on.kind == Kind::kAcknowledged);
  CHECK(json::parse(on.state_json)["on"] == true);

  const json sim = rig.sim->controller("rack-a");
  CHECK(channel_of(sim, 1)["counts"]["pulse"] == 1);
  CHECK(channel_of(sim, 2)["counts"]["hold"] == 1);
  CHECK(channel_of(sim, 3)["counts"]["cycle"] == 1);
  CHECK(channel_of(sim, 4)["counts"]["off"] == 1);
  CHECK(channel_of(sim, 4)["counts"]["on"] == 1);
  for (const char* id : {"cmd-1-1", "cmd-2-1", "cmd-3-1", "cmd-4-1", "cmd-4-2"}) {
    CHECK(has_id(sim, id));
  }
  CHECK(rig.channel->stats().acknowledged == 5);
}

TEST_CASE("relay: every op is acknowledged by a Tasmota controller", "[relay][mqtt]") {
  RelayRig rig;
  const auto p = rig.plug();
  CHECK(rig.send(rig.request(p, 1, Op::kPulse, 300ms, "t-1")).kind == Kind::kAcknowledged);
  CHECK(rig.send(rig.request(p, 2, Op::kHold, 1500ms, "t-2")).kind == Kind::kAcknowledged);
  CHECK(rig.send(rig.request(p, 3, Op::kCycle, 300ms, "t-3")).kind == Kind::kAcknowledged);
  CHECK(rig.send(rig.request(p, 4, Op::kOff, 0ms, "t-4")).kind == Kind::kAcknowledged);
  auto on = rig.send(rig.request(p, 4, Op::kOn, 0ms, "t-5"));
  CHECK(on.kind == Kind::kAcknowledged);
  CHECK(on.state_json == R"({"on":true})");

  const json sim = rig.sim->controller("plug");
  CHECK(channel_of(sim, 1)["counts"]["pulse"] == 1);
  CHECK(channel_of(sim, 1)["last_pulse_ms"] == 300);   // PulseTime1 3
  CHECK(channel_of(sim, 2)["last_pulse_ms"] == 1500);  // PulseTime2 15
  CHECK(channel_of(sim, 3)["counts"]["off"] == 1);     // cycle: OFF ...
  CHECK(channel_of(sim, 3)["counts"]["on"] == 1);      // ... then ON after the off time
  CHECK(channel_of(sim, 3)["on"] == true);
  CHECK(channel_of(sim, 4)["counts"]["off"] == 1);
  CHECK(channel_of(sim, 4)["counts"]["on"] == 1);
  // Tasmota's RESULT messages arrive too and are ignored, not counted as bad.
  CHECK(rig.channel->stats().bad_messages == 0);
}

TEST_CASE("relay: a dropped acknowledgement fails with kNoAck and its reason", "[relay][mqtt]") {
  RelayRig rig;
  REQUIRE(rig.sim->post("/controllers/rack-a/faults", R"({"drop_acks":true})") == 200);
  auto r = rig.request(rig.rack_a(), 1, Op::kPulse, 100ms, "cmd-7-1");
  r.ack_timeout = 300ms;
  auto result = rig.send(r);
  CHECK(result.kind == Kind::kNoAck);
  CHECK(result.reason ==
        "no acknowledgement from controller rack-a (channel 1, pulse cmd-7-1) within 0.3 s");
  CHECK(result.state_json == "{}");
  // The hardware did act: kNoAck means "may or may not have acted".
  const json sim = rig.sim->controller("rack-a");
  CHECK(channel_of(sim, 1)["counts"]["pulse"] == 1);
  CHECK(sim["dropped_acks"] == 1);
}

TEST_CASE("relay: a controller's last will makes commands fail fast with nothing sent",
          "[relay][mqtt]") {
  RelayRig rig;
  rig.channel->take_availability_changes();
  REQUIRE(rig.sim->post("/controllers/rack-a/away") == 200);
  REQUIRE(
      eventually([&] { return rig.channel->controller_online(RelayRig::kRackA) == false; }, 10s));
  CHECK(rig.channel->take_availability_changes() ==
        std::vector<std::pair<std::int64_t, bool>>{{RelayRig::kRackA, false}});
  auto result = rig.send(rig.request(rig.rack_a(), 1, Op::kCycle, 100ms, "cmd-8-1"));
  CHECK(result.kind == Kind::kControllerOffline);
  CHECK_THAT(result.reason, Catch::Contains("controller rack-a is offline"));
  // The Tasmota controller is unaffected.
  CHECK(rig.send(rig.request(rig.plug(), 4, Op::kOn, 0ms, "t-8-2")).kind == Kind::kAcknowledged);

  REQUIRE(rig.sim->post("/controllers/rack-a/back") == 200);
  REQUIRE(rig.both_online());
  CHECK(rig.send(rig.request(rig.rack_a(), 1, Op::kCycle, 100ms, "cmd-8-2")).kind ==
        Kind::kAcknowledged);
  const json sim = rig.sim->controller("rack-a");
  CHECK_FALSE(has_id(sim, "cmd-8-1"));
  CHECK(channel_of(sim, 1)["counts"]["cycle"] == 1);
}

TEST_CASE("relay: a Tasmota controller's LWT Offline fails fast too", "[relay][mqtt]") {
  RelayRig rig;
  REQUIRE(rig.sim->post("/controllers/plug/away") == 200);
  REQUIRE(
      eventually([&] { return rig.channel->controller_online(RelayRig::kPlug) == false; }, 10s));
  auto result = rig.send(rig.request(rig.plug(), 1, Op::kPulse, 300ms, "t-9-1"));
  CHECK(result.kind == Kind::kControllerOffline);
  CHECK_THAT(result.reason, Catch::Contains("controller plug is offline"));
}

TEST_CASE("relay: broker down gives kNotSent and when it returns the command succeeds",
          "[relay][mqtt]") {
  RelayRig rig;
  rig.broker->stop(SIGKILL);
  REQUIRE(eventually([&] { return !rig.channel->connected(); }, 10s));
  auto down = rig.send(rig.request(rig.rack_a(), 1, Op::kCycle, 100ms, "cmd-10-1"));
  CHECK(down.kind == Kind::kNotSent);
  CHECK_THAT(down.reason, Catch::Contains("not connected to the MQTT broker"));

  rig.broker->restart();  // same port, empty retained store
  REQUIRE(eventually([&] { return rig.channel->connected(); }, 15s));
  REQUIRE(rig.sim->ready(15s));
  // The retry (a new attempt id) goes through once both ends are back.
  relay::RelayResult retried{Kind::kNotSent, "", "{}"};
  int attempt = 2;
  REQUIRE(eventually(
      [&] {
        retried = rig.send(
            rig.request(rig.rack_a(), 1, Op::kCycle, 100ms, "cmd-10-" + std::to_string(attempt++)));
        return retried.kind != Kind::kNotSent;
      },
      15s));
  CHECK(retried.kind == Kind::kAcknowledged);
  const json sim = rig.sim->controller("rack-a");
  CHECK_FALSE(has_id(sim, "cmd-10-1"));  // nothing of the failed send reached the controller
  CHECK(channel_of(sim, 1)["counts"]["cycle"] == 1);
}

TEST_CASE("relay: wrong-request-id, malformed and oversize state messages change nothing",
          "[relay][mqtt][bad-input]") {
  RelayRig rig;
  // The real acknowledgement comes late, after the junk below.
  REQUIRE(rig.sim->post("/controllers/rack-a/faults", R"({"ack_delay_ms":700})") == 200);
  ResultWaiter w;
  rig.channel->send(rig.request(rig.rack_a(), 2, Op::kOn, 0ms, "cmd-11-1"), w.callback());

  auto intruder_options = broker_options(*rig.broker);
  auto intruder = mqtt::Client::start(intruder_options, {});
  REQUIRE(intruder.ok());
  REQUIRE(eventually([&] { return (*intruder)->connected(); }, 10s));
  const std::string topic = "fleetward/relay/rack-a/2/state";
  auto pub = [&](const std::string& payload) {
    REQUIRE((*intruder)->publish(topic, payload).ok());
  };
  pub(R"({"on":false,"last_action":"on","req_id":"cmd-99-1","ts":1,"result":"ok"})");  // other id
  pub("{this is not json");
  pub(R"({"on":false,"last_action":"on","req_id":"cmd-11-1","ts":1,"result":"ok","x":1})");
  pub(R"({"on":"no","last_action":"on","req_id":"cmd-11-1","ts":1,"result":"ok"})");
  pub(std::string(70 * 1024, 'x'));  // over the client's 64 KiB cap
  REQUIRE((*intruder)->publish("fleetward/relay/rack-a/9/state", "{}").ok());  // no channel 9
  REQUIRE((*intruder)->publish("fleetward/relay/rack-a/status", "gone").ok());

  auto result = w.wait();
  CHECK(result.kind == Kind::kAcknowledged);
  CHECK(json::parse(result.state_json)["req_id"] == "cmd-11-1");
  CHECK(json::parse(result.state_json)["on"] == true);
  const auto stats = rig.channel->stats();
  CHECK(stats.stale_states == 1);
  CHECK(stats.bad_messages == 5);
  CHECK(stats.oversize_dropped == 1);
  CHECK(rig.channel->controller_online(RelayRig::kRackA) == true);
}

TEST_CASE("relay: relay-sim refuses a second cycle within its minimum interval", "[relay][mqtt]") {
  RelayRig rig;
  CHECK(rig.send(rig.request(rig.rack_a(), 3, Op::kCycle, 100ms, "cmd-12-1")).kind ==
        Kind::kAcknowledged);
  auto second = rig.send(rig.request(rig.rack_a(), 3, Op::kCycle, 100ms, "cmd-13-1"));
  CHECK(second.kind == Kind::kRefused);
  CHECK_THAT(second.reason, Catch::Contains("controller rack-a channel 3 refused cycle"));
  CHECK_THAT(second.reason, Catch::Contains("minimum interval"));
  CHECK(json::parse(second.state_json)["result"] == "refused");
  const json sim = rig.sim->controller("rack-a");
  CHECK(channel_of(sim, 3)["counts"]["cycle"] == 1);
  CHECK(channel_of(sim, 3)["counts"]["refused"] == 1);
}

TEST_CASE("relay: a repeated request id is answered but never acted on twice", "[relay][mqtt]") {
  RelayRig rig;
  CHECK(rig.send(rig.request(rig.rack_a(), 1, Op::kPulse, 100ms, "cmd-14-1")).kind ==
        Kind::kAcknowledged);
  // The same attempt delivered again (QoS 1 redelivery, or a resend): acknowledged from memory.
  auto again = rig.send(rig.request(rig.rack_a(), 1, Op::kPulse, 100ms, "cmd-14-1"));
  CHECK(again.kind == Kind::kAcknowledged);
  const json sim = rig.sim->controller("rack-a");
  CHECK(channel_of(sim, 1)["counts"]["pulse"] == 1);
  CHECK(sim["duplicates"] == 1);
}

TEST_CASE("relay-sim: the control API rejects bad fault input and unknown controllers",
          "[relay][mqtt][bad-input]") {
  auto broker = MosquittoBroker::start();
  RelaySimProcess sim(broker->address(), {"--controller", "rack-a:fleetward:rack-a:2"});
  REQUIRE(sim.ready());
  CHECK(sim.post("/controllers/rack-a/faults", R"({"drop":true})") == 400);
  CHECK(sim.post("/controllers/rack-a/faults", R"({"ack_delay_ms":"5"})") == 400);
  CHECK(sim.post("/controllers/rack-a/faults", "not json") == 400);
  CHECK(sim.post("/controllers/rack-b/away") == 404);
  CHECK(http_get(sim.port(), "/controllers/rack-b").status == 404);
  const json c = sim.controller("rack-a");
  CHECK(c["faults"]["drop_acks"] == false);
  CHECK(c["faults"]["ack_delay_ms"] == 0);
  CHECK(c["connected"] == true);
}

TEST_CASE("relay-sim: bad command lines exit 2 naming the flag", "[relay]") {
  auto r = run(binary("relay-sim"), {"--controller", "rack-a:zigbee:rack-a:2"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("DRIVER must be fleetward or tasmota"));
  auto r2 = run(binary("relay-sim"), {"--controller", "rack-a:fleetward:a/b:2"});
  CHECK(r2.code == 2);
  CHECK_THAT(r2.err, Catch::Contains("TOPIC"));
  auto r3 = run(binary("relay-sim"),
                {"--controller", "rack-a:fleetward:rack-a:2", "--control", "0.0.0.0:0"});
  CHECK(r3.code == 2);
  CHECK_THAT(r3.err, Catch::Contains("loopback"));
}
