// Agent commands (channel 'agent', NODES-CONTRACT "Agent commands"): parameter validation (pure)
// and their execution against the Docker Engine API.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "core/result.h"
#include "nodeagent/docker.h"

namespace fleet::nodeagent {

// One command claimed from the gateway.
struct AgentCommand {
  std::int64_t id = 0;
  std::string action;
  std::string params_json = "{}";
  int attempts = 0;
};

// What is reported in POST .../commands/{id}/result.
struct CommandOutcome {
  bool ok = false;
  std::string result_json = "{}";
  std::string error;  // "" when ok
};

// Validates container_start params into a spec: labels fleetward.managed=true,
// fleetward.deployment=<deployment_id> and fleetward.placement=<placement_id> (a positive integer)
// are added (user labels may not use the fleetward. prefix), the ulimits are the agent's. Fails
// (kInvalidArgument) naming the first bad field ("ports[0].host_port: must be 1..65535").
Result<ContainerSpec> container_start_spec(const std::string& params_json, const Ulimits& ulimits);

// Ports the command publishes on every address (host_ip 0.0.0.0 or ::) are published on
// `address` instead; "" changes nothing. Several agents on one host (the demo) each keep their
// containers on their own address, so equal host ports on different nodes do not collide.
void restrict_published_ports(ContainerSpec& spec, const std::string& address);

struct StopParams {
  std::string name;
  int timeout_s = 10;
};
Result<StopParams> container_stop_params(const std::string& params_json);
struct RemoveParams {
  std::string name;
  bool force = true;
};
Result<RemoveParams> container_remove_params(const std::string& params_json);
// The name of container_inspect params.
Result<std::string> container_name_param(const std::string& params_json);

enum class HostPower { kRefused, kAllowed };

struct CommandPolicy {
  Ulimits ulimits;
  HostPower host_power = HostPower::kRefused;
  // Runs "systemctl reboot" / "systemctl poweroff"; replaced in tests.
  std::function<Status(const std::string& action)> power;
  // How long container_start waits for the state to become "running".
  std::chrono::milliseconds start_wait{15'000};
  // See restrict_published_ports; "" = publish where the command says.
  std::string publish_address;
};

// Carries out one command. Never throws; every failure is an outcome with ok=false and an error
// that says what went wrong (an unknown action names it).
CommandOutcome execute_command(const AgentCommand& command, const DockerClient& docker,
                               const CommandPolicy& policy);

// The default CommandPolicy::power: runs systemctl.
Status run_systemctl_power(const std::string& action);

}  // namespace fleet::nodeagent
