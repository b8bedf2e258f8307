#include "probe_server.h"

#include <chrono>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "runtime/listen_socket.h"

namespace fleet::runtime {

struct ProbeServer::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

ProbeServer::ProbeServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<ProbeServer>> ProbeServer::start(const std::string& address, int port,
                                                        ProbeHandlers handlers) {
  auto impl = std::make_unique<Impl>();
  httplib::Server& server = impl->server;
  // Probes are tiny and frequent: a few threads, no request bodies, short keep-alive so an idle
  // client cannot hold a thread (cpp-httplib 0.11 serves one connection per pool thread).
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_payload_max_length(4096);
  server.set_read_timeout(std::chrono::seconds(5));
  server.set_write_timeout(std::chrono::seconds(5));
  server.set_keep_alive_timeout(2);
  server.set_keep_alive_max_count(100);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add
  // ~40 ms to every keep-alive response (measured: bench/runtime_bench.sh).
  server.set_tcp_nodelay(true);
  server.set_socket_options(exclusive_port_options);  // no SO_REUSEPORT: a taken port is an error
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          spdlog::error("probe handler for {} failed: {}", req.path, e.what());
        } catch (...) {
          spdlog::error("probe handler for {} failed", req.path);
        }
        res.status = 500;
        res.set_content(R"({"status":"error","reason":"internal error"})", "application/json");
      });

  auto answer = [](const std::function<ProbeAnswer()>& fn) {
    return [fn](const httplib::Request&, httplib::Response& res) {
      ProbeAnswer a = fn();
      res.status = a.status;
      res.set_header("Cache-Control", "no-store");
      res.set_content(a.body, "application/json");
    };
  };
  server.Get("/health", answer(handlers.health));
  server.Get("/livez", answer(handlers.health));
  server.Get("/ready", answer(handlers.ready));
  server.Get("/readyz", answer(handlers.ready));
  server.Get("/metrics",
             [metrics = handlers.metrics](const httplib::Request&, httplib::Response& res) {
               res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
             });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.status == 404) {
      res.set_content(R"({"error":"not found","endpoints":["/health","/ready","/metrics"]})",
                      "application/json");
    }
  });

  if (!server.bind_to_port(address, port)) {
    return Error::unavailable("cannot listen on " + address + ":" + std::to_string(port) +
                              " for the probe server (port in use or address invalid)");
  }
  impl->port = port;
  impl->thread = std::thread([&server] { server.listen_after_bind(); });
  // stop() is ignored until the server runs (library reference §6.2): wait for it here.
  for (int i = 0; i < 500 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return std::unique_ptr<ProbeServer>(new ProbeServer(std::move(impl)));
}

ProbeServer::~ProbeServer() {
  for (int i = 0; i < 500 && !impl_->server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int ProbeServer::port() const {
  return impl_->port;
}

}  // namespace fleet::runtime
