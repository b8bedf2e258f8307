// Tasmota's command/state convention (docs/actions.md "tasmota driver").
#include "relay/codec.h"

namespace fleet::relay::tasmota {

std::string power_command_topic(std::string_view topic, int channel) {
  return "cmnd/" + std::string(topic) + "/POWER" + std::to_string(channel);
}

std::string pulse_time_topic(std::string_view topic, int channel) {
  return "cmnd/" + std::string(topic) + "/PulseTime" + std::to_string(channel);
}

std::string power_state_topic(std::string_view topic, int channel) {
  return "stat/" + std::string(topic) + "/POWER" + std::to_string(channel);
}

std::string lwt_topic(std::string_view topic) {
  return "tele/" + std::string(topic) + "/LWT";
}

Result<int> pulse_time_units(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms <= 0) return Error::invalid("a Tasmota pulse time must be positive");
  if (ms <= 11'100) {
    // Tenths of a second, rounded to the nearest; at least one.
    return static_cast<int>(std::max<std::int64_t>(1, (ms + 50) / 100));
  }
  const auto seconds = (ms + 500) / 1000;
  if (seconds > 64'800) {
    return Error::invalid("a Tasmota pulse time is at most 64800 s (PulseTime 64900)");
  }
  return static_cast<int>(seconds + 100);
}

std::chrono::milliseconds pulse_time_duration(int units) {
  if (units <= 0) return std::chrono::milliseconds(0);
  if (units <= 111) return std::chrono::milliseconds(units * 100);
  return std::chrono::milliseconds((static_cast<std::int64_t>(units) - 100) * 1000);
}

bool acknowledging_state(Op op) {
  return !(op == Op::kOff || op == Op::kCycle);
}

Result<std::vector<OutMessage>> encode_start(const RelayRequest& r) {
  const auto& t = r.controller.topic;
  std::vector<OutMessage> out;
  if (r.op == Op::kPulse || r.op == Op::kHold) {
    auto units = pulse_time_units(r.duration);
    if (!units.ok()) return units.error();
    out.push_back({pulse_time_topic(t, r.channel), std::to_string(*units), false});
    out.push_back({power_command_topic(t, r.channel), "ON", false});
    return out;
  }
  // A pulse time left from an earlier press would switch an "on" channel off again: clear it.
  out.push_back({pulse_time_topic(t, r.channel), "0", false});
  out.push_back({power_command_topic(t, r.channel), r.op == Op::kOn ? "ON" : "OFF", false});
  return out;
}

OutMessage cycle_on_message(const RelayRequest& r) {
  return {power_command_topic(r.controller.topic, r.channel), "ON", false};
}

}  // namespace fleet::relay::tasmota
