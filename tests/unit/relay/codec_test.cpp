#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "relay/codec.h"

using namespace fleet;
using namespace fleet::relay;
using namespace std::chrono_literals;

namespace {

ControllerRef rack_a() {
  return {1, "rack-a", Driver::kFleetward, "rack-a", 8};
}
ControllerRef tas() {
  return {2, "plug", Driver::kTasmota, "plug-1", 4};
}

RelayRequest request(ControllerRef c, Op op, std::chrono::milliseconds d, int channel = 3) {
  RelayRequest r;
  r.controller = std::move(c);
  r.channel = channel;
  r.op = op;
  r.duration = d;
  r.request_id = "cmd-42-1";
  return r;
}

StateEvent state_of(const Result<Event>& e) {
  REQUIRE(e.ok());
  REQUIRE(std::holds_alternative<StateEvent>(*e));
  return std::get<StateEvent>(*e);
}

}  // namespace

TEST_CASE("driver and op names round-trip and unknown names are rejected", "[relay][codec]") {
  CHECK(driver_from("fleetward") == Driver::kFleetward);
  CHECK(driver_from("tasmota") == Driver::kTasmota);
  CHECK_FALSE(driver_from("Tasmota"));
  for (Op op : {Op::kPulse, Op::kHold, Op::kCycle, Op::kOn, Op::kOff}) {
    CHECK(op_from(to_string(op)) == op);
  }
  CHECK_FALSE(op_from("reboot"));
}

TEST_CASE("fleetward commands carry action, ms and req_id on the channel's cmd topic",
          "[relay][codec]") {
  auto m = fleetward::encode_command("fleetward/relay", request(rack_a(), Op::kCycle, 10s));
  CHECK(m.topic == "fleetward/relay/rack-a/3/cmd");
  CHECK_FALSE(m.retain);
  auto j = nlohmann::json::parse(m.payload);
  CHECK(j == nlohmann::json{{"action", "cycle"}, {"ms", 10000}, {"req_id", "cmd-42-1"}});
  auto off = fleetward::encode_command("fleetward/relay", request(rack_a(), Op::kOff, 0ms));
  CHECK(nlohmann::json::parse(off.payload) ==
        nlohmann::json{{"action", "off"}, {"req_id", "cmd-42-1"}});
  // The controller's decoder reads back what we send.
  auto c = fleetward::decode_command(m.payload);
  REQUIRE(c.ok());
  CHECK(c->op == Op::kCycle);
  CHECK(c->duration == 10s);
  CHECK(c->request_id == "cmd-42-1");
}

TEST_CASE("fleetward command decoding rejects bad commands with a reason", "[relay][codec]") {
  auto reason = [](std::string_view p) {
    auto c = fleetward::decode_command(p);
    REQUIRE_FALSE(c.ok());
    return c.error().message();
  };
  CHECK_THAT(reason(R"({"action":"pulse","req_id":"a"})"),
             Catch::Contains("'ms' is required for pulse"));
  CHECK_THAT(reason(R"({"action":"on","ms":5,"req_id":"a"})"), Catch::Contains("not allowed"));
  CHECK_THAT(reason(R"({"action":"pulse","ms":500,"req_id":"a","x":1})"),
             Catch::Contains("unknown field 'x'"));
  CHECK_THAT(reason(R"({"action":"pulse","ms":"500","req_id":"a"})"),
             Catch::Contains("'ms' must be an integer"));
  CHECK_THAT(reason(R"({"action":"pulse","ms":500,"req_id":"a b"})"), Catch::Contains("req_id"));
  CHECK_THAT(reason(R"({"action":"pulse","ms":500})"), Catch::Contains("'req_id' is required"));
  CHECK_THAT(reason("[1]"), Catch::Contains("not a JSON object"));
  CHECK_THAT(reason(R"({"action":["pulse"],"ms":500,"req_id":"a"})"), Catch::Contains("nests"));
  CHECK_THAT(reason(std::string(4000, '[')), Catch::Contains("nests"));
  CHECK_THAT(reason("not json"), Catch::Contains("not valid JSON"));
}

TEST_CASE("a fleetward state decodes into an event of its controller and channel",
          "[relay][codec]") {
  TopicMap map("fleetward/relay", {rack_a(), tas()});
  const std::string payload =
      R"({"on":true,"last_action":"cycle","req_id":"cmd-42-1","ts":1700000000000,"result":"ok"})";
  const auto s = state_of(map.decode("fleetward/relay/rack-a/3/state", payload));
  CHECK(s.controller_id == 1);
  CHECK(s.channel == 3);
  CHECK(s.on);
  CHECK(s.request_id == "cmd-42-1");
  CHECK_FALSE(s.refused);
  CHECK(nlohmann::json::parse(s.state_json)["last_action"] == "cycle");

  const auto refused = state_of(map.decode(
      "fleetward/relay/rack-a/3/state",
      R"({"on":true,"last_action":"cycle","req_id":"r","ts":1,"result":"refused","reason":"too soon"})"));
  CHECK(refused.refused);
  CHECK(refused.reason == "too soon");
}

TEST_CASE("fleetward status online/offline is the controller's availability", "[relay][codec]") {
  TopicMap map("fleetward/relay", {rack_a()});
  auto on = map.decode("fleetward/relay/rack-a/status", "online");
  REQUIRE(on.ok());
  CHECK(std::get<AvailabilityEvent>(*on).online);
  CHECK(std::get<AvailabilityEvent>(*on).controller_id == 1);
  auto off = map.decode("fleetward/relay/rack-a/status", "offline");
  REQUIRE(off.ok());
  CHECK_FALSE(std::get<AvailabilityEvent>(*off).online);
  CHECK_FALSE(map.decode("fleetward/relay/rack-a/status", "ONLINE").ok());
}

TEST_CASE("bad fleetward state messages are rejected with a reason", "[relay][codec][bad-input]") {
  TopicMap map("fleetward/relay", {rack_a()});
  const std::string topic = "fleetward/relay/rack-a/3/state";
  auto reason = [&](std::string_view t, std::string_view p) {
    auto e = map.decode(t, p);
    REQUIRE_FALSE(e.ok());
    return e.error().message();
  };
  const std::string good_tail = R"("last_action":"pulse","req_id":"r","ts":1,"result":"ok")";
  CHECK_THAT(reason(topic, "{\"on\":true,"), Catch::Contains("not valid JSON"));
  CHECK_THAT(reason(topic, "{\"on\":\"yes\"," + good_tail + "}"),
             Catch::Contains("'on' must be true or false"));
  CHECK_THAT(reason(topic, "{\"on\":true," + good_tail + ",\"extra\":1}"),
             Catch::Contains("unknown field 'extra'"));
  CHECK_THAT(reason(topic, "{\"on\":{\"a\":[1]}," + good_tail + "}"), Catch::Contains("nests"));
  CHECK_THAT(reason(topic, "{" + good_tail + "}"), Catch::Contains("'on' is required"));
  CHECK_THAT(
      reason(topic, R"({"on":true,"last_action":"explode","req_id":"r","ts":1,"result":"ok"})"),
      Catch::Contains("not an op"));
  CHECK_THAT(
      reason(topic, R"({"on":true,"last_action":"pulse","req_id":"r","ts":-1,"result":"ok"})"),
      Catch::Contains("'ts'"));
  CHECK_THAT(reason(topic, "\"just a string\""), Catch::Contains("not a JSON object"));
  const std::string huge = "{\"on\":true," + good_tail + ",\"reason\":\"" +
                           std::string(kMaxStatePayloadBytes, 'x') + "\"}";
  CHECK_THAT(reason(topic, huge), Catch::Contains("over the limit"));
  // Topics of no known controller or channel.
  const std::string good = "{\"on\":true," + good_tail + "}";
  CHECK(map.decode("fleetward/relay/rack-b/3/state", good).error().kind() == ErrorKind::kNotFound);
  CHECK_THAT(reason("fleetward/relay/rack-a/9/state", good), Catch::Contains("no such channel"));
  CHECK_THAT(reason("fleetward/relay/rack-a/0/state", good), Catch::Contains("no such channel"));
  CHECK_THAT(reason("fleetward/relay/rack-a/x/state", good), Catch::Contains("no such channel"));
  CHECK_THAT(reason("other/rack-a/1/state", good), Catch::Contains("not a relay topic"));
  CHECK(state_of(map.decode(topic, good)).channel == 3);
}

TEST_CASE("subscriptions cover each driver's availability and state topics", "[relay][codec]") {
  TopicMap map("fleetward/relay", {rack_a(), tas()});
  CHECK(map.subscriptions(rack_a()) == std::vector<std::string>{"fleetward/relay/rack-a/status",
                                                                "fleetward/relay/rack-a/+/state"});
  CHECK(map.subscriptions(tas()) == std::vector<std::string>{"stat/plug-1/+", "tele/plug-1/LWT"});
}

TEST_CASE("Tasmota PulseTime units: tenths up to 11.1 s, then seconds + 100", "[relay][codec]") {
  CHECK(*tasmota::pulse_time_units(500ms) == 5);
  CHECK(*tasmota::pulse_time_units(100ms) == 1);
  CHECK(*tasmota::pulse_time_units(20ms) == 1);  // the shortest the device can do
  CHECK(*tasmota::pulse_time_units(11'100ms) == 111);
  CHECK(*tasmota::pulse_time_units(12s) == 112);
  CHECK(*tasmota::pulse_time_units(6s) == 60);
  CHECK(*tasmota::pulse_time_units(300s) == 400);
  CHECK(*tasmota::pulse_time_units(64'800s) == 64'900);
  CHECK_FALSE(tasmota::pulse_time_units(64'801s).ok());
  CHECK_FALSE(tasmota::pulse_time_units(0ms).ok());
  CHECK(tasmota::pulse_time_duration(5) == 500ms);
  CHECK(tasmota::pulse_time_duration(112) == 12s);
  CHECK(tasmota::pulse_time_duration(0) == 0ms);
}

TEST_CASE("Tasmota ops map onto PulseTime and POWER commands", "[relay][codec]") {
  auto pulse = tasmota::encode_start(request(tas(), Op::kPulse, 500ms, 2));
  REQUIRE(pulse.ok());
  REQUIRE(pulse->size() == 2);
  CHECK((*pulse)[0].topic == "cmnd/plug-1/PulseTime2");
  CHECK((*pulse)[0].payload == "5");
  CHECK((*pulse)[1].topic == "cmnd/plug-1/POWER2");
  CHECK((*pulse)[1].payload == "ON");
  auto cycle = tasmota::encode_start(request(tas(), Op::kCycle, 10s, 2));
  REQUIRE(cycle.ok());
  CHECK((*cycle)[0].payload == "0");  // a pulse time left over would switch the power off again
  CHECK((*cycle)[1].payload == "OFF");
  CHECK(tasmota::cycle_on_message(request(tas(), Op::kCycle, 10s, 2)).payload == "ON");
  auto on = tasmota::encode_start(request(tas(), Op::kOn, 0ms, 2));
  CHECK((*on)[1].payload == "ON");
  CHECK(tasmota::acknowledging_state(Op::kHold));
  CHECK_FALSE(tasmota::acknowledging_state(Op::kOff));
}

TEST_CASE("Tasmota stat, RESULT and LWT messages decode and bad ones are rejected",
          "[relay][codec][bad-input]") {
  TopicMap map("fleetward/relay", {rack_a(), tas()});
  const auto s = state_of(map.decode("stat/plug-1/POWER2", "ON"));
  CHECK(s.controller_id == 2);
  CHECK(s.channel == 2);
  CHECK(s.on);
  CHECK(s.request_id.empty());
  CHECK(state_of(map.decode("stat/plug-1/POWER", "OFF")).channel == 1);
  auto result = map.decode("stat/plug-1/RESULT", R"({"POWER2":"ON"})");
  REQUIRE(result.ok());
  CHECK(std::holds_alternative<IgnoredEvent>(*result));
  auto lwt = map.decode("tele/plug-1/LWT", "Offline");
  REQUIRE(lwt.ok());
  CHECK_FALSE(std::get<AvailabilityEvent>(*lwt).online);
  CHECK(std::get<AvailabilityEvent>(map.decode("tele/plug-1/LWT", "Online").value()).online);
  CHECK_FALSE(map.decode("tele/plug-1/LWT", "gone").ok());
  CHECK_FALSE(map.decode("stat/plug-1/POWER2", "MAYBE").ok());
  CHECK_FALSE(map.decode("stat/plug-1/POWER5", "ON").ok());  // 4 channels
  CHECK_FALSE(map.decode("stat/plug-2/POWER1", "ON").ok());  // unknown device
  // A fleetward controller's topic under Tasmota's prefix is not that controller.
  CHECK_FALSE(map.decode("stat/rack-a/POWER1", "ON").ok());
}

TEST_CASE("requests are validated before anything is sent", "[relay][codec][bad-input]") {
  CHECK(validate(request(rack_a(), Op::kPulse, 500ms)).ok());
  CHECK_THAT(validate(request(rack_a(), Op::kPulse, 0ms)).error().message(),
             Catch::Contains("duration"));
  CHECK_THAT(validate(request(rack_a(), Op::kOn, 5ms)).error().message(),
             Catch::Contains("must be 0"));
  CHECK_THAT(validate(request(rack_a(), Op::kPulse, 500ms, 9)).error().message(),
             Catch::Contains("channel 9"));
  auto bad_id = request(rack_a(), Op::kPulse, 500ms);
  bad_id.request_id = "a/b";
  CHECK_THAT(validate(bad_id).error().message(), Catch::Contains("request id"));
  auto bad_topic = request(rack_a(), Op::kPulse, 500ms);
  bad_topic.controller.topic = "a/#";
  CHECK_THAT(validate(bad_topic).error().message(), Catch::Contains("topic"));
}
