#include <catch2/catch.hpp>

#include "relay/request_tracker.h"

using namespace fleet;
using namespace fleet::relay;
using namespace std::chrono_literals;
using Kind = RelayResult::Kind;

namespace {

class FakeTransport final : public Transport {
 public:
  Status publish(const OutMessage& m) override {
    if (!up) return Error::unavailable("not connected to the MQTT broker");
    sent.push_back(m);
    return Status::success();
  }
  void subscribe(const std::string& f) override { subscribed.push_back(f); }
  void unsubscribe(const std::string& f) override { unsubscribed.push_back(f); }

  bool up = true;
  std::vector<OutMessage> sent;
  std::vector<std::string> subscribed;
  std::vector<std::string> unsubscribed;
};

ControllerRef rack_a() {
  return {1, "rack-a", Driver::kFleetward, "rack-a", 8};
}
ControllerRef plug() {
  return {2, "plug", Driver::kTasmota, "plug-1", 4};
}

RelayRequest request(ControllerRef c, Op op, std::chrono::milliseconds d, std::string id) {
  RelayRequest r;
  r.controller = std::move(c);
  r.channel = 3;
  r.op = op;
  r.duration = d;
  r.request_id = std::move(id);
  r.ack_timeout = 2s;
  return r;
}

std::string state(std::string_view req_id, std::string_view result = "ok",
                  std::string_view reason = "") {
  std::string s = R"({"on":true,"last_action":"cycle","req_id":")" + std::string(req_id) +
                  R"(","ts":1,"result":")" + std::string(result) + "\"";
  if (!reason.empty()) s += R"(,"reason":")" + std::string(reason) + "\"";
  return s + "}";
}

struct Harness {
  FakeTransport transport;
  RequestTracker tracker{"fleetward/relay", transport};
  RequestTracker::Time t0 = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  std::vector<RelayResult> results;

  RequestTracker::Done collect() {
    return [this](RelayResult r) { results.push_back(std::move(r)); };
  }
  void run(std::vector<RequestTracker::Completion> cs) {
    for (auto& c : cs)
      c.done(std::move(c.result));
  }
};

}  // namespace

TEST_CASE("a fleetward ack is the state with the request's id on that channel",
          "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({rack_a()});
  CHECK(h.transport.subscribed == std::vector<std::string>{"fleetward/relay/rack-a/status",
                                                           "fleetward/relay/rack-a/+/state"});
  h.run(h.tracker.submit(request(rack_a(), Op::kCycle, 10s, "cmd-1-1"), h.collect(), h.t0));
  REQUIRE(h.transport.sent.size() == 1);
  CHECK(h.transport.sent[0].topic == "fleetward/relay/rack-a/3/cmd");
  // Another request's state (a retained old one, or someone else's) is not the acknowledgement.
  h.run(h.tracker.on_message("fleetward/relay/rack-a/3/state", state("cmd-0-1"), true, h.t0));
  // Nor is a state of another channel.
  h.run(h.tracker.on_message("fleetward/relay/rack-a/4/state", state("cmd-1-1"), false, h.t0));
  CHECK(h.results.empty());
  CHECK(h.tracker.stats().stale_states == 1);
  h.run(
      h.tracker.on_message("fleetward/relay/rack-a/3/state", state("cmd-1-1"), false, h.t0 + 10s));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kAcknowledged);
  CHECK_THAT(h.results[0].state_json, Catch::Contains("\"req_id\":\"cmd-1-1\""));
  CHECK(h.tracker.in_flight() == 0);
}

TEST_CASE("no acknowledgement within the timeout (after the op's duration) is kNoAck with a reason",
          "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({rack_a()});
  h.run(h.tracker.submit(request(rack_a(), Op::kCycle, 10s, "cmd-1-1"), h.collect(), h.t0));
  REQUIRE(h.tracker.next_deadline() == h.t0 + 12s);
  h.run(h.tracker.on_tick(h.t0 + 11s));  // the off time plus part of the ack timeout
  CHECK(h.results.empty());
  h.run(h.tracker.on_tick(h.t0 + 12s));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kNoAck);
  CHECK(h.results[0].reason ==
        "no acknowledgement from controller rack-a (channel 3, cycle cmd-1-1) within 2 s");
  CHECK(h.results[0].state_json == "{}");
  // A late answer changes nothing.
  h.run(
      h.tracker.on_message("fleetward/relay/rack-a/3/state", state("cmd-1-1"), false, h.t0 + 13s));
  CHECK(h.results.size() == 1);
}

TEST_CASE("a refusal from the controller is kRefused with its reason", "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({rack_a()});
  h.run(h.tracker.submit(request(rack_a(), Op::kCycle, 10s, "cmd-1-1"), h.collect(), h.t0));
  h.run(h.tracker.on_message("fleetward/relay/rack-a/3/state",
                             state("cmd-1-1", "refused", "too soon"), false, h.t0));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kRefused);
  CHECK(h.results[0].reason == "controller rack-a channel 3 refused cycle: too soon");
}

TEST_CASE("an offline controller fails fast and nothing is published", "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({rack_a()});
  h.run(h.tracker.on_message("fleetward/relay/rack-a/status", "offline", true, h.t0));
  CHECK(h.tracker.online(1) == false);
  h.run(h.tracker.submit(request(rack_a(), Op::kPulse, 500ms, "cmd-1-1"), h.collect(), h.t0));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kControllerOffline);
  CHECK_THAT(h.results[0].reason, Catch::Contains("controller rack-a is offline"));
  CHECK(h.transport.sent.empty());
  // Back online: sent.
  h.run(h.tracker.on_message("fleetward/relay/rack-a/status", "online", true, h.t0));
  h.run(h.tracker.submit(request(rack_a(), Op::kPulse, 500ms, "cmd-1-2"), h.collect(), h.t0));
  CHECK(h.transport.sent.size() == 1);
  CHECK(h.tracker.take_availability_changes() ==
        std::vector<std::pair<std::int64_t, bool>>{{1, false}, {1, true}});
  CHECK(h.tracker.take_availability_changes().empty());
}

TEST_CASE("a last will while waiting ends the request at once with kNoAck", "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({rack_a()});
  h.run(h.tracker.submit(request(rack_a(), Op::kCycle, 10s, "cmd-1-1"), h.collect(), h.t0));
  h.run(h.tracker.on_message("fleetward/relay/rack-a/status", "offline", false, h.t0 + 1s));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kNoAck);
  CHECK_THAT(h.results[0].reason, Catch::Contains("went offline"));
}

TEST_CASE("a broker that is not connected gives kNotSent and so does a busy channel",
          "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({rack_a()});
  h.transport.up = false;
  h.run(h.tracker.submit(request(rack_a(), Op::kPulse, 500ms, "cmd-1-1"), h.collect(), h.t0));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kNotSent);
  CHECK_THAT(h.results[0].reason, Catch::Contains("not connected"));
  CHECK(h.tracker.in_flight() == 0);
  h.transport.up = true;
  h.run(h.tracker.submit(request(rack_a(), Op::kPulse, 500ms, "cmd-1-2"), h.collect(), h.t0));
  h.run(h.tracker.submit(request(rack_a(), Op::kHold, 5s, "cmd-2-1"), h.collect(), h.t0));
  REQUIRE(h.results.size() == 2);
  CHECK(h.results[1].kind == Kind::kNotSent);
  CHECK_THAT(h.results[1].reason, Catch::Contains("busy with request cmd-1-2"));
  CHECK(h.transport.sent.size() == 1);
}

TEST_CASE("bad messages are counted and change nothing", "[relay][tracker][bad-input]") {
  Harness h;
  h.tracker.set_controllers({rack_a()});
  h.run(h.tracker.submit(request(rack_a(), Op::kOn, 0ms, "cmd-1-1"), h.collect(), h.t0));
  const std::string topic = "fleetward/relay/rack-a/3/state";
  h.run(h.tracker.on_message(topic, "{not json", false, h.t0));
  h.run(h.tracker.on_message(
      topic, R"({"on":true,"last_action":"on","req_id":"cmd-1-1","ts":1,"result":"ok","evil":1})",
      false, h.t0));
  h.run(h.tracker.on_message(
      topic, R"({"on":1,"last_action":"on","req_id":"cmd-1-1","ts":1,"result":"ok"})", false,
      h.t0));
  h.run(h.tracker.on_message("fleetward/relay/rack-a/status", "maybe", false, h.t0));
  h.run(h.tracker.on_message("fleetward/relay/rack-z/3/state", state("cmd-1-1"), false, h.t0));
  CHECK(h.results.empty());
  CHECK(h.tracker.stats().bad_messages == 5);
  CHECK_FALSE(h.tracker.online(1).has_value());
  CHECK(h.tracker.in_flight() == 1);
}

TEST_CASE("a request for a controller not in the set subscribes to it before sending",
          "[relay][tracker]") {
  Harness h;
  h.run(h.tracker.submit(request(rack_a(), Op::kOn, 0ms, "cmd-1-1"), h.collect(), h.t0));
  CHECK(h.transport.subscribed.size() == 2);
  h.run(h.tracker.on_message("fleetward/relay/rack-a/3/state", state("cmd-1-1"), false, h.t0));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kAcknowledged);
  // Replacing the set unsubscribes what is gone.
  h.tracker.set_controllers({plug()});
  CHECK(h.transport.unsubscribed.size() == 2);
}

TEST_CASE("invalid requests are refused before sending", "[relay][tracker][bad-input]") {
  Harness h;
  h.run(h.tracker.submit(request(rack_a(), Op::kPulse, 0ms, "cmd-1-1"), h.collect(), h.t0));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kRefused);
  CHECK_THAT(h.results[0].reason, Catch::Contains("refused before sending"));
  CHECK(h.transport.sent.empty());
}

TEST_CASE("Tasmota pulse: PulseTime then ON acknowledged by a fresh stat ON", "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({plug()});
  h.run(h.tracker.submit(request(plug(), Op::kPulse, 500ms, "cmd-1-1"), h.collect(), h.t0));
  REQUIRE(h.transport.sent.size() == 2);
  CHECK(h.transport.sent[0].topic == "cmnd/plug-1/PulseTime3");
  CHECK(h.transport.sent[1].payload == "ON");
  h.run(h.tracker.on_message("stat/plug-1/POWER3", "ON", true, h.t0));  // retained: old news
  h.run(h.tracker.on_message("stat/plug-1/POWER3", "OFF", false, h.t0));
  h.run(h.tracker.on_message("stat/plug-1/RESULT", R"({"POWER3":"ON"})", false, h.t0));
  CHECK(h.results.empty());
  h.run(h.tracker.on_message("stat/plug-1/POWER3", "ON", false, h.t0));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kAcknowledged);
  CHECK(h.results[0].state_json == R"({"on":true})");
}

TEST_CASE("Tasmota cycle: OFF, the off time in the channel, ON, then the ack", "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({plug()});
  h.run(h.tracker.submit(request(plug(), Op::kCycle, 10s, "cmd-1-1"), h.collect(), h.t0));
  REQUIRE(h.transport.sent.size() == 2);
  CHECK(h.transport.sent[1].payload == "OFF");
  h.run(h.tracker.on_message("stat/plug-1/POWER3", "OFF", false, h.t0 + 100ms));
  h.run(h.tracker.on_tick(h.t0 + 9s));
  CHECK(h.transport.sent.size() == 2);  // still off
  h.run(h.tracker.on_tick(h.t0 + 10s));
  REQUIRE(h.transport.sent.size() == 3);
  CHECK(h.transport.sent[2].topic == "cmnd/plug-1/POWER3");
  CHECK(h.transport.sent[2].payload == "ON");
  CHECK(h.results.empty());
  h.run(h.tracker.on_message("stat/plug-1/POWER3", "ON", false, h.t0 + 10s));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kAcknowledged);
}

TEST_CASE("Tasmota cycle without an OFF confirmation is not acknowledged", "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({plug()});
  h.run(h.tracker.submit(request(plug(), Op::kCycle, 10s, "cmd-1-1"), h.collect(), h.t0));
  h.run(h.tracker.on_tick(h.t0 + 10s));
  h.run(h.tracker.on_message("stat/plug-1/POWER3", "ON", false, h.t0 + 10s));
  REQUIRE(h.results.size() == 1);
  CHECK(h.results[0].kind == Kind::kNoAck);
  CHECK_THAT(h.results[0].reason, Catch::Contains("never the power-off"));
}

TEST_CASE("Tasmota cycle: the power-on is retried while the broker is away", "[relay][tracker]") {
  Harness h;
  h.tracker.set_controllers({plug()});
  h.run(h.tracker.submit(request(plug(), Op::kCycle, 10s, "cmd-1-1"), h.collect(), h.t0));
  h.run(h.tracker.on_message("stat/plug-1/POWER3", "OFF", false, h.t0));
  h.transport.up = false;
  h.run(h.tracker.on_tick(h.t0 + 10s));
  CHECK(h.results.empty());
  h.transport.up = true;
  h.run(h.tracker.on_tick(h.t0 + 10s + 250ms));
  REQUIRE(h.transport.sent.size() == 3);
  CHECK(h.transport.sent[2].payload == "ON");
  // And if the broker never comes back within the ack timeout, the reason says the channel may be
  // off.
  Harness g;
  g.tracker.set_controllers({plug()});
  g.run(g.tracker.submit(request(plug(), Op::kCycle, 10s, "cmd-1-1"), g.collect(), g.t0));
  g.transport.up = false;
  for (auto t = 10s; t <= 13s; t += 1s)
    g.run(g.tracker.on_tick(g.t0 + t));
  REQUIRE(g.results.size() == 1);
  CHECK(g.results[0].kind == Kind::kNoAck);
  CHECK_THAT(g.results[0].reason, Catch::Contains("may be left off"));
}

TEST_CASE("seconds in reasons are written plainly", "[relay][tracker]") {
  CHECK(seconds_text(10s) == "10 s");
  CHECK(seconds_text(300ms) == "0.3 s");
  CHECK(seconds_text(1250ms) == "1.25 s");
}
