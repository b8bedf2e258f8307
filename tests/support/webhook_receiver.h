// Runs tools/webhook-receiver for a test: a loopback webhook endpoint that records every request
// (and checks its signature when given the secret), with faults set through its control API.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "process.h"

namespace fleet::test {

class WebhookReceiver {
 public:
  // Starts the receiver on a free port; `secret` "" = no signature checks. Waits until it answers.
  explicit WebhookReceiver(const std::string& secret = "", const std::string& log_file = "");
  std::string url(const std::string& path = "/hook") const;
  int port() const { return port_; }
  // GET /control/set?<query>, e.g. "fail=3&status=503"; returns whether it was accepted.
  bool set(const std::string& query) const;
  bool reset() const;
  // Every request received so far.
  nlohmann::json received() const;
  std::size_t count() const;
  Process& process() { return *process_; }

 private:
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

}  // namespace fleet::test
