// The api-gateway's HTTP server: cpp-httplib configured deliberately (thread pool, timeouts, body
// limit, keep-alive, exception handler — the library's defaults leak exception text and accept
// unbounded bodies), the routes, the dashboard's static files, and security headers.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "authenticator.h"
#include "db_pool.h"
#include "router.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace fleet::gateway {

struct GatewayOptions {
  std::string address = "0.0.0.0";
  int port = 8080;
  int threads = 32;                      // one per open connection (keep-alive holds a thread)
  std::size_t max_body_bytes = 1 << 20;  // 413 above this
  int db_connections = 8;
  std::chrono::seconds io_timeout{10};
  std::chrono::seconds keep_alive{5};
  AuthOptions auth;
  std::optional<secrets::SecretBox> secret_box;  // seals miner unlock passwords (secrets.key)
};

class Gateway {
 public:
  Gateway(GatewayOptions options, const db::ConnectionOptions& database,
          const runtime::Setup& setup);
  ~Gateway();

  // Binds and serves on a thread of its own; fails when the port cannot be bound.
  Status start();
  void stop();
  // "" while serving, else why not (for the liveness probe).
  std::string problem() const;
  int port() const { return port_; }

  Authenticator& authenticator() { return *auth_; }
  Router& router() { return *router_; }

 private:
  GatewayOptions options_;
  std::unique_ptr<DbPool> pool_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

}  // namespace fleet::gateway
