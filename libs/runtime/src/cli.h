// Command-line parsing for worker binaries.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/config.h"
#include "runtime/worker.h"

namespace fleet::runtime {

struct Invocation {
  std::string config_file;
  bool once = false;
  bool dry_run = false;
  bool config_check = false;
  bool verbose = false;
  std::vector<std::pair<std::string, std::string>> flags;  // config key -> raw value
};

// Parses argv against the runtime's flags and every schema key that names a flag. Returns an exit
// code when the process should end now (--help, --version, or a usage error, which is printed).
std::variant<Invocation, int> parse_command_line(int argc, char** argv, const WorkerSpec& spec,
                                                 const config::Schema& schema);

}  // namespace fleet::runtime
