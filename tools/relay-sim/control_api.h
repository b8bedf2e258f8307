// relay-sim's control API (JSON over HTTP on --control, loopback): read every controller's
// channels, counters and received request ids; inject faults; send a controller away (its last
// will is published) and bring it back. Errors answer {"error": "..."} with 400 (naming the
// field), 404 or 405.
#pragma once

#include <memory>
#include <vector>

#include "controller.h"
#include "http/server.h"

namespace fleet::relaysim {

class ControlApi {
 public:
  explicit ControlApi(std::vector<std::unique_ptr<SimController>>& controllers)
      : controllers_(controllers) {}
  // Any thread (SimController is thread-safe).
  void handle(const http::Request& req, http::Response& out);

 private:
  SimController* find(const std::string& name);
  std::vector<std::unique_ptr<SimController>>& controllers_;
};

}  // namespace fleet::relaysim
