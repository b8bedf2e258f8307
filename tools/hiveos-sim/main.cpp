// hiveos-sim: the HiveOS API v2 for tests and the demo (docs/tools/hiveos-sim.md). Serves
// /api/v2/... with bearer auth over plain HTTP on one loopback address, and a control API under
// /control/ for tests (faults, renames, removals, overheating, stale stats, token revocation, the
// request and command logs).
#include <csignal>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include <httplib.h>
#include <CLI/CLI.hpp>

#include "encoding.h"
#include "fleet.h"

namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) {
  g_stop = true;
}

int g_gzip_level = 1;

// A JSON answer, gzipped here when the client accepts gzip (at --gzip-level). The media type
// carries its charset: cpp-httplib compresses only a bare "application/json" (at its fixed level
// 6), so it leaves these alone.
void send(const httplib::Request& req, httplib::Response& res, const fleet::hiveossim::Reply& r) {
  if (r.delay.count() > 0) std::this_thread::sleep_for(r.delay);
  res.status = r.status;
  if (!r.retry_after.empty()) res.set_header("Retry-After", r.retry_after);
  if (r.status == 204) return;
  constexpr const char* kJson = "application/json; charset=utf-8";
  if (fleet::hiveossim::accepts_gzip(req.get_header_value("Accept-Encoding"))) {
    if (auto gz = fleet::hiveossim::gzip(r.body, g_gzip_level)) {
      res.set_header("Content-Encoding", "gzip");
      res.set_header("Vary", "Accept-Encoding");
      res.set_content(std::move(*gz), kJson);
      return;
    }
  }
  res.set_content(r.body, kJson);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hiveos-sim: a simulated HiveOS API v2 (farms, workers with stats, commands)"};
  fleet::hiveossim::FleetOptions options;
  std::string listen = "127.0.0.1:18090";
  int threads = 16;
  long command_delay_ms = 1000, reboot_offline_ms = 5000;
  app.add_option("--listen", listen, "host:port to serve on (loopback)")->capture_default_str();
  app.add_option("--farms", options.farms, "farms")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000));
  app.add_option("--workers-per-farm", options.workers_per_farm, "workers in each farm")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  app.add_option("--asic-share", options.asic_share, "share of ASIC workers (platform 2), 0..1")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--gpus-per-rig", options.gpus_per_rig, "GPUs in each rig")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));
  app.add_option("--seed", options.seed, "seed of the fleet's values")->capture_default_str();
  app.add_option("--token", options.tokens, "an accepted bearer token (repeatable)");
  app.add_option("--command-delay-ms", command_delay_ms, "command -> result message delay")
      ->capture_default_str()
      ->check(CLI::Range(0L, 3600000L));
  app.add_option("--reboot-offline-ms", reboot_offline_ms, "how long a rebooting worker is offline")
      ->capture_default_str()
      ->check(CLI::Range(0L, 3600000L));
  app.add_option("--gzip-level", g_gzip_level,
                 "gzip level of the answers to clients that accept gzip (1 fastest .. 9)")
      ->capture_default_str()
      ->check(CLI::Range(1, 9));
  app.add_option("--threads", threads, "server threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  CLI11_PARSE(app, argc, argv);
  options.command_delay = std::chrono::milliseconds(command_delay_ms);
  options.reboot_offline = std::chrono::milliseconds(reboot_offline_ms);
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    std::cerr << "hiveos-sim: --listen must be host:port\n";
    return 2;
  }
  const std::string host = listen.substr(0, colon);
  const int port = std::atoi(listen.substr(colon + 1).c_str());

  fleet::hiveossim::Fleet fleet(options);
  httplib::Server server;
  server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server.set_payload_max_length(1 << 20);
  server.set_keep_alive_timeout(2);
  // Answers go out as written, as HiveOS's front servers send them: without TCP_NODELAY, the body
  // written after the headers waited for the client's delayed ACK of the headers (40 ms on a
  // kept-alive connection, three requests in five).
  server.set_tcp_nodelay(true);
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        res.status = 500;
        res.set_content(R"({"message":"internal error"})", "application/json");
      });
  auto api = [&](const httplib::Request& req, httplib::Response& res) {
    std::map<std::string, std::string> query;
    for (const auto& [k, v] : req.params)
      query[k] = v;
    send(req, res,
         fleet.handle(req.method, req.matches[1], query, req.get_header_value("Authorization"),
                      req.body));
  };
  server.Get(R"(/api/v2(/.*))", api);
  server.Post(R"(/api/v2(/.*))", api);
  server.Patch(R"(/api/v2(/.*))", api);
  server.Delete(R"(/api/v2(/.*))", api);
  auto control = [&](const httplib::Request& req, httplib::Response& res) {
    send(req, res, fleet.control(req.method, req.path, req.body));
  };
  server.Get(R"(/control/.*)", control);
  server.Post(R"(/control/.*)", control);
  server.Delete(R"(/control/.*)", control);
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });

  if (!server.bind_to_port(host.c_str(), port)) {
    std::cerr << "hiveos-sim: cannot listen on " << listen << "\n";
    return 2;
  }
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  std::thread stopper([&] {
    while (!g_stop)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    while (!server.is_running())
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    server.stop();
  });
  std::cout << "hiveos-sim: " << options.farms << " farms x " << options.workers_per_farm
            << " workers on http://" << listen << "/api/v2" << std::endl;
  server.listen_after_bind();
  g_stop = true;
  stopper.join();
  return 0;
}
