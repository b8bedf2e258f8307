// The HTTP probe server of a worker: /health (/livez), /ready (/readyz) and /metrics.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"

namespace fleet::runtime {

struct ProbeAnswer {
  int status = 200;
  std::string body;  // JSON
};

struct ProbeHandlers {
  std::function<ProbeAnswer()> health;  // must not touch the database
  std::function<ProbeAnswer()> ready;
  std::function<std::string()> metrics;  // Prometheus text
};

class ProbeServer {
 public:
  // Binds address:port and serves on a small thread pool of its own. Fails when the port cannot be
  // bound. Returns once the server accepts connections.
  static Result<std::unique_ptr<ProbeServer>> start(const std::string& address, int port,
                                                    ProbeHandlers handlers);
  ~ProbeServer();  // stops serving and joins the threads

  int port() const;

  struct Impl;

 private:
  explicit ProbeServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleet::runtime
