// Runs tools/hiveos-sim for a test: a simulated HiveOS API v2 on a free loopback port, with
// helpers for its control API (docs/tools/hiveos-sim.md).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process.h"

namespace fleet::test {

class HiveosSimProcess {
 public:
  // hiveos-sim with the given flags (e.g. {"--farms", "3", "--workers-per-farm", "4"}); the
  // token "sim-token" is accepted unless `args` names others with --token.
  explicit HiveosSimProcess(std::vector<std::string> args = {});
  // Waits until /health answers.
  bool ready(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // "http://127.0.0.1:<port>/api/v2": the base URL an account uses.
  std::string base_url() const;
  int port() const { return port_; }
  // Control API: GET returns the JSON answer (throws when there is none); POST / DELETE return
  // the HTTP status (0 = no answer).
  nlohmann::json get(const std::string& path) const;
  int post(const std::string& path, const nlohmann::json& body = nlohmann::json::object()) const;
  int del(const std::string& path) const;
  // The API requests the simulator saw: [{method, path, t_ms, status}].
  nlohmann::json requests() const { return get("/control/requests")["requests"]; }
  // The commands it received: [{t_ms, farm_id, worker_ids, command, data, bulk, cmd_ids}].
  nlohmann::json commands() const { return get("/control/commands")["commands"]; }
  Process& process() { return *process_; }

 private:
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace fleet::test
