// What the hiveos channel sends for a command (external-apis.md §3.3), and the commands it refuses
// before anything is sent:
//
//   reboot          {"command": "reboot"}
//   shutdown        {"command": "shutdown"}
//   restart_mining  {"command": "miner", "data": {"action": "restart"}}   (stop_mining: "stop",
//                                                                          start_mining: "start")
//   exec            {"command": "exec", "data": {"cmd": <params.cmd>}}   only when an admin
//                   enabled exec for the worker's account (hiveos_accounts.exec_enabled)
#pragma once

#include <optional>
#include <string>

#include "core/result.h"
#include "dispatch/job.h"
#include "hiveos/model.h"

namespace fleet::dispatch {

inline constexpr std::size_t kMaxExecCommandLength = 1000;

// The HiveOS command for `job` (its action, params and account); kInvalidArgument naming why
// when the action has no HiveOS form, the params are wrong, or exec is not enabled.
Result<hiveos::Command> hiveos_command_for(const CommandJob& job);

// Why `job` cannot go through the hiveos channel as queued (no HiveOS target, worker removed from
// HiveOS, account disabled, the command itself refused), or nullopt.
std::optional<std::string> hiveos_refusal(const CommandJob& job);

}  // namespace fleet::dispatch
