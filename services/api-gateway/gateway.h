// The api-gateway's HTTP server: the project's server core (libs/http: one I/O thread for every
// connection, a handler pool, a deadline for the whole request head, bodies bounded from their
// headers, connection limits), the routes, the dashboard's static files, and security headers.
#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "authenticator.h"
#include "db/listener.h"
#include "db_pool.h"
#include "heartbeat_batcher.h"
#include "hiveos_options.h"
#include "miner_list_model.h"
#include "node_admin_options.h"
#include "node_ingest.h"
#include "router.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace fleet::gateway {

// The default number of handler threads: twice the usable CPUs, 4 to 16. A page is mostly CPU
// (the gateway's and PostgreSQL's on the same cores); more threads than that only share the cores
// in smaller slices, and a request's latency grows with its share of them (docs/benchmarks.md).
inline int default_handler_threads(int cpus) {
  return std::clamp(2 * cpus, 4, 16);
}

struct GatewayOptions {
  std::string address = "0.0.0.0";
  int port = 8080;
  int threads = 4;  // handler threads (open connections and waiting heartbeats hold none)
  std::size_t max_body_bytes = 1 << 20;  // 413 above this (from the headers; chunked: counted)
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_client = 2'000;  // 0: no per-address limit
  std::vector<std::string> trusted_proxies;        // whose X-Forwarded-For is believed
  int db_connections = 4;
  std::chrono::seconds io_timeout{10};
  std::chrono::seconds keep_alive{5};
  AuthOptions auth;
  std::optional<secrets::SecretBox> secret_box;  // seals miner unlock passwords (secrets.key)
  NodeAdminOptions node_admin;                   // nodes.public_url, nodes.agent_binary
  NodeIngestOptions nodes;                       // node agents' traffic (issue 13)
  HiveosAccountOptions hiveos;                   // checking HiveOS tokens (issue 11)
  // GET /api/miners from a copy of miner_list in memory (miner_list_model.h); false: every page
  // from the database.
  bool miners_in_memory = true;
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
  db::ConnectionOptions database_;
  std::unique_ptr<HeartbeatBatcher> heartbeats_;
  std::unique_ptr<MinerListModel> miner_list_;  // null when miners_in_memory is off
  // NOTIFY fleet_node_credentials: drops a node's cached credential on every replica.
  std::unique_ptr<db::Listener> credential_listener_;
  std::unique_ptr<http::Server> server_;
  http::Handler handler_;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
};

}  // namespace fleet::gateway
