#include "probes.h"

#include <nlohmann/json.hpp>

#include "http/server.h"

namespace fleet::nodeagent {

Result<std::shared_ptr<void>> start_probe_server(const std::string& address, int port,
                                                 const Agent& agent) {
  http::ServerOptions o;
  o.name = "probe server";
  o.address = address;
  o.port = port;
  o.threads = 2;
  o.max_connections = 200;
  o.max_connections_per_client = 0;
  o.max_body_bytes = 4096;
  o.default_headers = {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}};
  auto handler = [&agent](const http::Request& req, http::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_content(R"({"error":"method not allowed"})", "application/json");
      return;
    }
    if (req.path == "/health" || req.path == "/livez") {
      res.set_content(R"({"status":"ok"})", "application/json");
    } else if (req.path == "/ready" || req.path == "/readyz") {
      const ReadyAnswer a = agent.ready();
      res.status = a.ready ? 200 : 503;
      nlohmann::json body = {{"status", a.ready ? "ready" : "not ready"}};
      if (!a.ready) body["reason"] = a.reason;
      res.set_content(body.dump(), "application/json");
    } else if (req.path == "/metrics") {
      res.set_content(agent.metrics_text(), "text/plain; version=0.0.4; charset=utf-8");
    } else {
      res.status = 404;
      res.set_content(R"({"error":"not found","endpoints":["/health","/ready","/metrics"]})",
                      "application/json");
    }
  };
  auto server = http::Server::start(std::move(o), std::move(handler));
  if (!server.ok()) return server.error();
  return std::shared_ptr<void>(std::move(*server));
}

}  // namespace fleet::nodeagent
