#include "gateway.h"

#include <spdlog/spdlog.h>

#include "core/version.h"
#include "dashboard_files.h"
#include "metrics/registry.h"
#include "routes.h"
#include "runtime/listen_socket.h"

namespace fleet::gateway {

Gateway::Gateway(GatewayOptions options, const db::ConnectionOptions& database,
                 const runtime::Setup& setup)
    : options_(std::move(options)) {
  db::ConnectionOptions db_options = database;
  db_options.statement_timeout = std::chrono::seconds(10);
  pool_ = std::make_unique<DbPool>(db_options, static_cast<std::size_t>(options_.db_connections));
  auth_ = std::make_unique<Authenticator>(*pool_, options_.auth);
  router_ = std::make_unique<Router>(
      *pool_, [this](const httplib::Request& req) { return auth_->authenticate(req); },
      setup.metrics);
  add_probe_routes(*router_, setup);
  add_auth_routes(*router_, *auth_);
  add_fleet_routes(*router_);
  add_miner_routes(*router_, options_.secret_box);
  add_rule_routes(*router_);
  add_alert_routes(*router_);
  add_command_routes(*router_);
  add_openapi_route(*router_, std::string(version()));

  server_ = std::make_unique<httplib::Server>();
  httplib::Server& s = *server_;
  const int threads = options_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  s.set_payload_max_length(options_.max_body_bytes);
  s.set_read_timeout(options_.io_timeout);
  s.set_write_timeout(options_.io_timeout);
  s.set_keep_alive_timeout(options_.keep_alive.count());
  s.set_keep_alive_max_count(1000);
  s.set_tcp_nodelay(true);
  // cpp-httplib's default options add SO_REUSEPORT: a second gateway on a port in use then binds
  // "successfully" and the kernel splits connections between the two. SO_REUSEADDR only.
  s.set_socket_options(runtime::exclusive_port_options);
  s.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                         {"X-Frame-Options", "DENY"},
                         {"Referrer-Policy", "no-referrer"},
                         {"Cache-Control", "no-store"}});
  // Never let an exception's text reach a client (cpp-httplib 0.11 copies it into a header).
  s.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          spdlog::error("unhandled error in {} {}: {}", req.method, req.path, e.what());
        } catch (...) {
          spdlog::error("unhandled error in {} {}", req.method, req.path);
        }
        write_error(res, ApiError(500, "internal", "internal error"));
      });
  router_->install(s);

  // The dashboard: static files compiled into the binary; the page itself needs no credentials,
  // every API call it makes does.
  auto serve_file = [](const std::string& name, httplib::Response& res) {
    const DashboardFile* file = find_dashboard_file(name);
    if (file == nullptr) {
      write_error(res, ApiError::not_found("no such file"));
      return;
    }
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "connect-src 'self'; frame-ancestors 'none'");
    res.set_content(std::string(file->data, file->size), file->content_type);
  };
  s.Get("/",
        [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/dashboard/"); });
  s.Get("/dashboard",
        [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/dashboard/"); });
  s.Get(R"(/dashboard/([A-Za-z0-9._-]*))",
        [serve_file](const httplib::Request& req, httplib::Response& res) {
          std::string name = req.matches[1].str();
          serve_file(name.empty() ? "index.html" : name, res);
        });
}

Gateway::~Gateway() {
  stop();
}

Status Gateway::start() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.address);
    if (port_ < 0) return Error::unavailable("cannot bind " + options_.address);
  } else {
    if (!server_->bind_to_port(options_.address, options_.port)) {
      return Error::unavailable("cannot listen on " + options_.address + ":" +
                                std::to_string(options_.port) +
                                " (port in use or address invalid)");
    }
    port_ = options_.port;
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  for (int i = 0; i < 500 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  spdlog::info("API listening on {}:{} ({} threads, {} database connections)", options_.address,
               port_, options_.threads, options_.db_connections);
  return Status::success();
}

void Gateway::stop() {
  if (stopping_.exchange(true)) return;
  if (!thread_.joinable()) return;
  for (int i = 0; i < 500 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  server_->stop();
  thread_.join();
}

std::string Gateway::problem() const {
  if (stopping_) return "";
  if (!server_->is_running()) return "the API server is not running";
  return "";
}

}  // namespace fleet::gateway
