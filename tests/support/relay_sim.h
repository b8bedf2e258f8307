// Runs tools/relay-sim for a test: simulated relay controllers on a broker, with a loopback
// control API for faults and per-channel counters (docs/tools/relay-sim.md).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"

namespace fleet::test {

class RelaySimProcess {
 public:
  // relay-sim on `broker` (host:port) with the given --controller specs and extra flags.
  RelaySimProcess(const std::string& broker, std::vector<std::string> args);
  // Waits until every controller is connected (its retained status published).
  bool ready(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // GET /controllers/<name>; throws when the simulator does not answer.
  nlohmann::json controller(const std::string& name) const;
  // POST to the control API; returns the HTTP status (0 = no answer).
  int post(const std::string& path, const std::string& body = "{}") const;
  Process& process() { return *process_; }
  int port() const { return port_; }

 private:
  int port_ = 0;
  std::size_t controllers_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace fleet::test
