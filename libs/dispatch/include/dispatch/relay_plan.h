// What a power action means on a worker's relay wiring (docs/actions.md):
//
//   action        power_button wiring                      mains wiring
//   power_cycle   hold (forced off), wait off_ms, pulse    cycle (off, wait off_ms, on)
//   power_off     hold (forced off)                        off
//   power_on      pulse (press)                            on
//   power_button  pulse of params.ms (default pulse_ms)    refused: there is no button
//
// Pure logic; the relay channel sends the steps one after another, each acknowledged.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "dispatch/job.h"

namespace fleet::dispatch {

enum class RelayOp { kPulse, kHold, kCycle, kOn, kOff };
std::string_view to_string(RelayOp op);

struct RelayStep {
  RelayOp op = RelayOp::kPulse;
  std::chrono::milliseconds duration{0};     // pulse/hold length, cycle off time
  std::chrono::milliseconds wait_before{0};  // pause after the previous step's acknowledgement
};

bool is_relay_action(std::string_view action);

// The steps for `action` on `target`; kInvalidArgument naming the problem when the wiring cannot
// do it or the params are wrong.
Result<std::vector<RelayStep>> relay_plan(std::string_view action, std::string_view params_json,
                                          const RelayTarget& target);

}  // namespace fleet::dispatch
