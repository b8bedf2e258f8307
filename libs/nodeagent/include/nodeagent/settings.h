// The node-agent's configuration: the keys it accepts (a JSON file, FLEET_<KEY> environment
// variables, flags; unknown keys in the file are errors) and the file `register` and `rotate`
// write (atomically, mode 0600: it holds the node credential).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "nodeagent/commands.h"
#include "nodeagent/docker.h"
#include "nodeagent/gateway.h"
#include "nodeagent/host_facts.h"

namespace fleet::nodeagent {

// Declares every key, the logging keys included.
void declare_config(config::Schema& schema);

struct AgentSettings {
  GatewayOptions gateway;
  std::int64_t node_id = 0;
  std::string credential;  // never logged
  DockerOptions docker;
  HostPaths paths;
  std::chrono::milliseconds heartbeat_interval{30'000};
  std::chrono::milliseconds command_poll{5'000};
  std::chrono::milliseconds facts_interval{300'000};     // host facts checked, reported on change
  std::chrono::milliseconds unauthorized_retry{60'000};  // after a 401: retry slowly
  Ulimits ulimits;
  HostPower host_power = HostPower::kRefused;
  int health_port = 0;
  std::string health_address = "0.0.0.0";
  std::string publish_address;  // "" = publish where commands say (restrict_published_ports)
};

enum class Needs { kRegistration, kNothing };

// Reads the keys. With Needs::kRegistration, gateway_url, node_id and credential must be set
// ("run node-agent register first"). Fails (kInvalidArgument) naming the key.
Result<AgentSettings> settings_from(const config::Config& config, Needs needs);

// The `addresses` key: comma-separated IPv4/IPv6 literals (spaces around them allowed), at most
// 16; "" = none. Fails (kInvalidArgument) naming the first bad item.
Result<std::vector<std::string>> parse_address_list(const std::string& text);

// Checks a gateway URL: http(s)://host[:port], no path, query or credentials.
Status check_gateway_url(const std::string& url);

// Sets `values` (key -> JSON text of the value) in the JSON object of the file at `path`,
// keeping its other keys (a missing file starts empty), and replaces the file atomically: a
// temporary file in the same directory, mode 0600, fsync, rename. Fails naming the path.
Status update_config_file(const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& values);

// The credential stored in the file at `path` ("" when absent or unreadable).
std::string stored_credential(const std::string& path);

}  // namespace fleet::nodeagent
