#include "relay/types.h"

namespace fleet::relay {

std::optional<Driver> driver_from(std::string_view text) {
  if (text == "fleetward") return Driver::kFleetward;
  if (text == "tasmota") return Driver::kTasmota;
  return std::nullopt;
}

std::string_view to_string(Driver driver) {
  return driver == Driver::kTasmota ? "tasmota" : "fleetward";
}

std::string_view to_string(Op op) {
  switch (op) {
    case Op::kPulse:
      return "pulse";
    case Op::kHold:
      return "hold";
    case Op::kCycle:
      return "cycle";
    case Op::kOn:
      return "on";
    case Op::kOff:
      return "off";
  }
  return "?";
}

std::optional<Op> op_from(std::string_view text) {
  for (Op op : {Op::kPulse, Op::kHold, Op::kCycle, Op::kOn, Op::kOff}) {
    if (to_string(op) == text) return op;
  }
  return std::nullopt;
}

bool has_duration(Op op) {
  return op == Op::kPulse || op == Op::kHold || op == Op::kCycle;
}

std::string_view to_string(RelayResult::Kind kind) {
  switch (kind) {
    case RelayResult::Kind::kAcknowledged:
      return "acknowledged";
    case RelayResult::Kind::kNoAck:
      return "no_ack";
    case RelayResult::Kind::kControllerOffline:
      return "controller_offline";
    case RelayResult::Kind::kNotSent:
      return "not_sent";
    case RelayResult::Kind::kRefused:
      return "refused";
  }
  return "?";
}

}  // namespace fleet::relay
