// Pure codecs for the two relay drivers (docs/actions.md has the layouts): requests into MQTT
// messages, and state/availability messages back into events. No network; unit-tested.
//
// Incoming messages are untrusted: every decoder checks size, JSON shape and types, rejects
// unknown fields, and answers an Error (kDataLoss) whose message says what was wrong.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"
#include "relay/types.h"

namespace fleet::relay {

struct OutMessage {
  std::string topic;
  std::string payload;
  bool retain = false;
};

// Checks a request before anything is sent: channel 1..64 (and within the controller's), a
// duration for pulse/hold/cycle (1 ms..300 s) and none for on/off, a request id of 1..128 of
// [A-Za-z0-9._:-], a controller topic of one level without wildcards. Errors name the field.
Status validate(const RelayRequest& request);

// A topic level the layouts accept: non-empty, no '/', '+', '#' or NUL.
bool valid_topic_level(std::string_view level);

namespace fleetward {

std::string command_topic(std::string_view prefix, std::string_view topic, int channel);
std::string state_topic(std::string_view prefix, std::string_view topic, int channel);
std::string status_topic(std::string_view prefix, std::string_view topic);
inline constexpr std::string_view kOnline = "online";
inline constexpr std::string_view kOffline = "offline";

// {"action":"pulse","ms":500,"req_id":"cmd-42-1"} (ms omitted for on/off).
std::string encode_command_payload(Op op, std::chrono::milliseconds duration,
                                   std::string_view request_id);
OutMessage encode_command(std::string_view prefix, const RelayRequest& request);

struct Command {
  Op op = Op::kPulse;
  std::chrono::milliseconds duration{0};
  std::string request_id;
};
// The controller's side (relay-sim): strict, like decode_state.
Result<Command> decode_command(std::string_view payload);

struct State {
  bool on = false;
  std::string last_action;  // an op name, or "boot"
  std::string request_id;   // "" when the state is not an answer (boot)
  std::int64_t ts_ms = 0;   // Unix time in milliseconds
  bool refused = false;     // "result": "refused" (else "ok")
  std::string reason;       // why it was refused; "" otherwise
};
std::string encode_state(const State& state);
Result<State> decode_state(std::string_view payload);

}  // namespace fleetward

namespace tasmota {

std::string power_command_topic(std::string_view topic, int channel);  // cmnd/<t>/POWER<n>
std::string pulse_time_topic(std::string_view topic, int channel);     // cmnd/<t>/PulseTime<n>
std::string power_state_topic(std::string_view topic, int channel);    // stat/<t>/POWER<n>
std::string lwt_topic(std::string_view topic);                         // tele/<t>/LWT
inline constexpr std::string_view kOnline = "Online";
inline constexpr std::string_view kOffline = "Offline";

// Tasmota's PulseTime units: 1..111 are tenths of a second (0.1..11.1 s), 112..64900 are seconds
// plus 100. Rounds to the nearest unit the device can do (at least 1). Fails beyond 64800 s.
Result<int> pulse_time_units(std::chrono::milliseconds duration);
std::chrono::milliseconds pulse_time_duration(int units);  // inverse; 0 = no pulse

// The messages that start an op, in order. pulse/hold: PulseTime<n> <units>, POWER<n> ON (the
// device switches off by itself after the pulse time). on/off: PulseTime<n> 0, POWER<n> ON|OFF.
// cycle: PulseTime<n> 0, POWER<n> OFF; the channel sends cycle_on_message() after the off time.
Result<std::vector<OutMessage>> encode_start(const RelayRequest& request);
OutMessage cycle_on_message(const RelayRequest& request);
// The POWER state that acknowledges the op's (first) step: ON for pulse/hold/on, OFF for off/cycle.
bool acknowledging_state(Op op);

}  // namespace tasmota

// A state message of one channel.
struct StateEvent {
  std::int64_t controller_id = 0;
  int channel = 0;
  bool on = false;
  std::string request_id;  // fleetward only
  bool refused = false;    // fleetward only
  std::string reason;      // fleetward only
  std::string state_json;  // the state as a JSON object text
};
// The controller's status / LWT.
struct AvailabilityEvent {
  std::int64_t controller_id = 0;
  bool online = false;
};
// A message on a subscribed topic that carries nothing we use (e.g. Tasmota's stat/<t>/RESULT).
struct IgnoredEvent {};
using Event = std::variant<StateEvent, AvailabilityEvent, IgnoredEvent>;

// The topics of a set of controllers and the decoder of what arrives on them.
class TopicMap {
 public:
  // `prefix`: the fleetward layout's first levels ("fleetward/relay").
  TopicMap(std::string prefix, std::vector<ControllerRef> controllers);

  // The filters to subscribe for one controller.
  std::vector<std::string> subscriptions(const ControllerRef& controller) const;
  // Decodes a message. Errors (kDataLoss / kNotFound for a topic of no known controller or
  // channel) say why; the caller logs them and changes nothing.
  Result<Event> decode(std::string_view topic, std::string_view payload) const;

  const std::vector<ControllerRef>& controllers() const { return controllers_; }
  const std::string& prefix() const { return prefix_; }

 private:
  std::string prefix_;
  std::vector<ControllerRef> controllers_;
  std::map<std::string, std::size_t, std::less<>> fleetward_;  // topic -> index
  std::map<std::string, std::size_t, std::less<>> tasmota_;
};

}  // namespace fleet::relay
