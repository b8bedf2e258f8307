#include "probe_server.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "http/server.h"

namespace fleet::runtime {

struct ProbeServer::Impl {
  std::unique_ptr<http::Server> server;
};

ProbeServer::ProbeServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ProbeServer>> ProbeServer::start(const std::string& address, int port,
                                                        ProbeHandlers handlers) {
  // Probes are tiny and frequent: two handler threads, no request bodies, small heads. Open
  // connections cost no thread (the project's server core), so idle clients cannot block probes.
  http::ServerOptions o;
  o.name = "probe server";
  o.address = address;
  o.port = port;
  o.threads = 2;
  o.max_connections = 1'000;
  o.max_connections_per_client = 0;
  o.max_body_bytes = 4096;
  o.max_head_bytes = 8 * 1024;
  o.max_target_bytes = 2 * 1024;
  o.idle_timeout = std::chrono::seconds(5);
  o.head_timeout = std::chrono::seconds(5);
  o.body_timeout = std::chrono::seconds(5);
  o.write_timeout = std::chrono::seconds(5);
  o.default_headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};

  auto answer = [](http::Response& res, const ProbeAnswer& a) {
    res.status = a.status;
    res.set_content(a.body, "application/json");
  };
  auto handler = [handlers = std::move(handlers), answer](const http::Request& req,
                                                          http::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content(R"({"error":"method not allowed"})", "application/json");
      return;
    }
    try {
      if (req.path == "/health" || req.path == "/livez") {
        answer(res, handlers.health());
      } else if (req.path == "/ready" || req.path == "/readyz") {
        answer(res, handlers.ready());
      } else if (req.path == "/metrics") {
        res.set_content(handlers.metrics(), "text/plain; version=0.0.4; charset=utf-8");
      } else {
        res.status = 404;
        res.set_content(R"({"error":"not found","endpoints":["/health","/ready","/metrics"]})",
                        "application/json");
      }
    } catch (const std::exception& e) {
      spdlog::error("probe handler for {} failed: {}", req.path, e.what());
      res.status = 500;
      res.set_content(R"({"status":"error","reason":"internal error"})", "application/json");
    }
  };
  auto server = http::Server::start(std::move(o), std::move(handler));
  if (!server.ok()) {
    return Error::unavailable("cannot start the probe server: " + server.error().message());
  }
  auto impl = std::make_unique<Impl>();
  impl->server = std::move(*server);
  return std::unique_ptr<ProbeServer>(new ProbeServer(std::move(impl)));
}

ProbeServer::~ProbeServer() {
  impl_->server->stop();
}

int ProbeServer::port() const {
  return impl_->server->port();
}

}  // namespace fleet::runtime
