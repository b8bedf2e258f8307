// CLI11 wiring of `fleetctl api ...` (the logic is in api_commands.h). Sets `run` when an api
// command was chosen; it needs no database.
#pragma once

#include <functional>

namespace CLI {
class App;
}

namespace fleet::cli {

void add_api_commands(CLI::App& app, std::function<int()>& run);

}  // namespace fleet::cli
