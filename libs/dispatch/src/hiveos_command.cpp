#include "dispatch/hiveos_command.h"

#include <nlohmann/json.hpp>

namespace fleet::dispatch {

using json = nlohmann::json;

Result<hiveos::Command> hiveos_command_for(const CommandJob& job) {
  const std::string& a = job.action;
  if (a == "reboot" || a == "shutdown") return hiveos::Command{.command = a, .data_json = "{}"};
  const char* miner_action = a == "restart_mining" ? "restart"
                             : a == "stop_mining"  ? "stop"
                             : a == "start_mining" ? "start"
                                                   : nullptr;
  if (miner_action != nullptr) {
    return hiveos::Command{.command = "miner", .data_json = json{{"action", miner_action}}.dump()};
  }
  if (a == "exec") {
    if (!job.hiveos || !job.hiveos->exec_enabled) {
      return Error::invalid("exec is not enabled for HiveOS account " +
                            (job.hiveos ? job.hiveos->account_name : std::string("?")) +
                            " (an admin must turn exec_enabled on)");
    }
    json p = json::parse(job.params_json, nullptr, false);
    if (!p.is_object() || !p.contains("cmd") || !p["cmd"].is_string()) {
      return Error::invalid("exec needs params {\"cmd\": \"...\"}");
    }
    const std::string cmd = p["cmd"].get<std::string>();
    if (cmd.empty() || cmd.size() > kMaxExecCommandLength) {
      return Error::invalid("params.cmd must be 1.." + std::to_string(kMaxExecCommandLength) +
                            " characters");
    }
    return hiveos::Command{
        .command = "exec",
        .data_json = json{{"cmd", cmd}}.dump(-1, ' ', false, json::error_handler_t::replace)};
  }
  return Error::invalid(a +
                        " cannot be carried out through HiveOS (reboot, shutdown, "
                        "restart_mining, stop_mining, start_mining, exec)");
}

std::optional<std::string> hiveos_refusal(const CommandJob& job) {
  if (!job.hiveos) {
    return "worker " + job.worker_name +
           " is not a HiveOS worker (no HiveOS account syncs it), so HiveOS cannot carry out " +
           job.action;
  }
  if (job.hiveos->removed) return "worker " + job.worker_name + " was removed from HiveOS";
  if (!job.hiveos->account_enabled) {
    return "HiveOS account " + job.hiveos->account_name + " is disabled";
  }
  auto command = hiveos_command_for(job);
  if (!command.ok()) return command.error().message();
  return std::nullopt;
}

}  // namespace fleet::dispatch
