// The vocabulary of relay actions: controllers, drivers, operations, requests and their results.
// (The dispatcher's interface to the hardware is relay/channel.h.)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fleet::relay {

// How a controller speaks MQTT (docs/actions.md): the project's JSON layout or Tasmota's.
enum class Driver { kFleetward, kTasmota };
std::optional<Driver> driver_from(std::string_view text);  // "fleetward" | "tasmota"
std::string_view to_string(Driver driver);

// pulse: close the relay for `duration` (a power-button press); hold: the same, long (forced off);
// cycle: open, wait `duration`, close (mains off -> on); on/off: switch and stay.
enum class Op { kPulse, kHold, kCycle, kOn, kOff };
std::string_view to_string(Op op);
std::optional<Op> op_from(std::string_view text);
// Whether the op takes a duration (pulse, hold, cycle).
bool has_duration(Op op);

struct ControllerRef {
  std::int64_t id = 0;
  std::string name;  // for people: reasons name it
  Driver driver = Driver::kFleetward;
  std::string topic;  // one MQTT topic level, no wildcards
  int channels = 64;  // state for a higher channel number is rejected as bad input
};

struct RelayRequest {
  ControllerRef controller;
  int channel = 1;
  Op op = Op::kPulse;
  std::chrono::milliseconds duration{0};  // pulse/hold length, cycle off time; 0 = op has none
  std::string request_id;                 // unique per attempt, e.g. "cmd-42-1"
  // Counted after the op's own duration (a 6 s hold is acknowledged after 6 s, then this).
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(10)};
};

struct RelayResult {
  enum class Kind { kAcknowledged, kNoAck, kControllerOffline, kNotSent, kRefused };
  Kind kind;
  std::string reason;      // human text naming the controller/channel ("" when acknowledged)
  std::string state_json;  // the acknowledging state as a JSON object text ("{}" when none)
};
std::string_view to_string(RelayResult::Kind kind);

// Limits shared by the codecs, the channel and the simulator.
inline constexpr std::size_t kMaxStatePayloadBytes = 4096;  // a state message is ~200 bytes
inline constexpr std::size_t kMaxRequestIdBytes = 128;
inline constexpr int kMaxChannel = 64;
inline constexpr std::chrono::milliseconds kMaxDuration{300'000};  // relay_mappings.off_ms max

}  // namespace fleet::relay
