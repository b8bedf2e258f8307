// CLI11 wiring of `fleetctl api ...` (the logic is in api_commands.h). Sets `run` when an api
// command was chosen; it needs no database.
#pragma once

#include <functional>

namespace CLI {
class App;
}
namespace fleet::client {
class Client;
}

namespace fleet::cli {

void add_api_commands(CLI::App& app, std::function<int()>& run);

// Chooses the command `fleetctl api` runs with its client.
using ApiCommandSetter = std::function<void(std::function<int(client::Client&)>)>;
// fleetctl api nodes ... (api_node_cli.cpp).
void add_api_node_commands(CLI::App& api, const ApiCommandSetter& set);
// fleetctl api hiveos accounts ... (api_hiveos_cli.cpp).
void add_api_hiveos_commands(CLI::App& api, const ApiCommandSetter& set);
// fleetctl api orgs | deployments | routes | plans | migrations (api_deployment_cli.cpp).
void add_api_deployment_commands(CLI::App& api, const ApiCommandSetter& set);
// fleetctl api notify ... (api_notify_cli.cpp, issue 12).
void add_api_notify_commands(CLI::App& api, const ApiCommandSetter& set);

}  // namespace fleet::cli
