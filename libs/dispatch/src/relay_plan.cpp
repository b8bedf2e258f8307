#include "dispatch/relay_plan.h"

#include <nlohmann/json.hpp>

namespace fleet::dispatch {

using std::chrono::milliseconds;

std::string_view to_string(RelayOp op) {
  switch (op) {
    case RelayOp::kPulse:
      return "pulse";
    case RelayOp::kHold:
      return "hold";
    case RelayOp::kCycle:
      return "cycle";
    case RelayOp::kOn:
      return "on";
    case RelayOp::kOff:
      return "off";
  }
  return "?";
}

bool is_relay_action(std::string_view action) {
  return action == "power_cycle" || action == "power_off" || action == "power_on" ||
         action == "power_button";
}

Result<std::vector<RelayStep>> relay_plan(std::string_view action, std::string_view params_json,
                                          const RelayTarget& t) {
  const bool button = t.wiring == "power_button";
  if (!button && t.wiring != "mains") {
    return Error::invalid("relay wiring '" + t.wiring + "' is neither power_button nor mains");
  }
  if (action == "power_cycle") {
    if (button) {
      return std::vector<RelayStep>{
          {RelayOp::kHold, milliseconds(t.hold_ms), milliseconds(0)},
          {RelayOp::kPulse, milliseconds(t.pulse_ms), milliseconds(t.off_ms)}};
    }
    return std::vector<RelayStep>{{RelayOp::kCycle, milliseconds(t.off_ms), milliseconds(0)}};
  }
  if (action == "power_off") {
    if (button) return std::vector<RelayStep>{{RelayOp::kHold, milliseconds(t.hold_ms), {}}};
    return std::vector<RelayStep>{{RelayOp::kOff, milliseconds(0), {}}};
  }
  if (action == "power_on") {
    if (button) return std::vector<RelayStep>{{RelayOp::kPulse, milliseconds(t.pulse_ms), {}}};
    return std::vector<RelayStep>{{RelayOp::kOn, milliseconds(0), {}}};
  }
  if (action == "power_button") {
    if (!button) {
      return Error::invalid("power_button: the worker is wired to its mains supply on " +
                            t.controller_name + " channel " + std::to_string(t.channel) +
                            ", not to a power button");
    }
    int ms = t.pulse_ms;
    auto params = nlohmann::json::parse(params_json, nullptr, false);
    if (params.is_object() && params.contains("ms")) {
      const auto& v = params["ms"];
      if (!v.is_number_integer() || v.get<long long>() < 50 || v.get<long long>() > 60'000) {
        return Error::invalid("params.ms: a press of 50..60000 ms");
      }
      ms = static_cast<int>(v.get<long long>());
    }
    return std::vector<RelayStep>{{RelayOp::kPulse, milliseconds(ms), {}}};
  }
  return Error::invalid("'" + std::string(action) + "' is not a relay action");
}

}  // namespace fleet::dispatch
