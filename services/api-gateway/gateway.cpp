#include "gateway.h"

#include "notification_config.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <spdlog/spdlog.h>

#include "core/strings.h"
#include "core/version.h"
#include "dashboard_files.h"
#include "metrics/registry.h"
#include "routes.h"

namespace fleet::gateway {

Gateway::Gateway(GatewayOptions options, const db::ConnectionOptions& database,
                 const runtime::Setup& setup)
    : options_(std::move(options)) {
  db::ConnectionOptions db_options = database;
  db_options.statement_timeout = std::chrono::seconds(10);
  pool_ = std::make_unique<DbPool>(db_options, static_cast<std::size_t>(options_.db_connections));
  database_ = db_options;
  heartbeats_ = std::make_unique<HeartbeatBatcher>(db_options, options_.nodes);
  auth_ = std::make_unique<Authenticator>(*pool_, options_.auth);
  router_ = std::make_unique<Router>(
      *pool_, [this](const http::Request& req) { return auth_->authenticate(req); }, setup.metrics);
  add_probe_routes(*router_, setup);
  add_auth_routes(*router_, *auth_);
  add_fleet_routes(*router_);
  if (options_.miners_in_memory) {
    miner_list_ =
        std::make_unique<MinerListModel>(db_options, MinerListModelOptions{}, &setup.metrics);
    router_->on_change([this] { miner_list_->changed_here(); });
  }
  add_miner_routes(*router_, options_.secret_box, miner_list_.get());
  add_rule_routes(*router_);
  add_alert_routes(*router_);
  add_command_routes(*router_);
  add_relay_routes(*router_);
  add_hiveos_routes(*router_, options_.secret_box, options_.hiveos);
  add_node_admin_routes(*router_, options_.node_admin);
  add_node_agent_routes(*router_, *auth_, *heartbeats_, options_.nodes);
  add_deployment_routes(*router_);
  add_rig_routes(*router_);
  add_notification_channel_routes(*router_, options_.secret_box, resolves_by_dns);
  add_notification_route_routes(*router_);
  add_notification_message_routes(*router_);
  add_openapi_route(*router_, std::string(version()));

  // The dashboard: static files compiled into the binary; the page itself needs no credentials,
  // every API call it makes does.
  auto serve_file = [](std::string_view name, http::Response& res) {
    const DashboardFile* file = find_dashboard_file(std::string(name));
    if (file == nullptr) {
      write_error(res, ApiError::not_found("no such file"));
      return;
    }
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                   "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                   "frame-ancestors 'none'");
    res.set_content(std::string(file->data, file->size), file->content_type);
  };
  handler_ = [this, serve_file](const http::Request& req, http::Response& res) {
    try {
      if (router_->dispatch(req, res)) return;
      const bool read = req.method == "GET" || req.method == "HEAD";
      if (read && (req.path == "/" || req.path == "/dashboard")) {
        res.set_redirect("/dashboard/");
        return;
      }
      if (read && req.path.rfind("/dashboard/", 0) == 0) {
        const std::string_view name = std::string_view(req.path).substr(11);
        const bool safe = name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) || c == '.' ||
                                   c == '_' || c == '-';
                          });
        if (safe) {
          serve_file(name.empty() ? std::string_view("index.html") : name, res);
          return;
        }
      }
      write_error(
          res, ApiError::not_found("no such endpoint: " + sanitize_utf8(req.path.substr(0, 200))));
    } catch (const std::exception& e) {
      // Never let an exception's text reach a client.
      spdlog::error("unhandled error in {} {}: {}", sanitize_utf8(req.method.substr(0, 20)),
                    sanitize_utf8(req.path.substr(0, 200)), redact_secrets(e.what()));
      res = http::Response{};
      write_error(res, ApiError(500, "internal", "internal error"));
    }
  };
}

Gateway::~Gateway() {
  stop();
}

Status Gateway::start() {
  // Before serving: a revocation elsewhere must reach this replica's cache from the first request.
  credential_listener_ = std::make_unique<db::Listener>(
      database_, "fleet_node_credentials", [this](std::optional<std::string_view> payload) {
        std::int64_t id = 0;
        if (payload && std::from_chars(payload->data(), payload->data() + payload->size(), id).ec ==
                           std::errc()) {
          auth_->forget_node(id);
        } else {
          auth_->forget_nodes();  // (re)connected, or a payload we do not understand
        }
      });
  if (miner_list_) miner_list_->start();
  http::ServerOptions o;
  o.name = "api-gateway";
  o.address = options_.address;
  o.port = options_.port;
  o.threads = options_.threads;
  o.max_connections = options_.max_connections;
  o.max_connections_per_client = options_.max_connections_per_client;
  o.max_body_bytes = options_.max_body_bytes;
  o.trusted_proxies = options_.trusted_proxies;
  o.idle_timeout = options_.keep_alive;
  o.head_timeout = options_.io_timeout;
  o.body_timeout = options_.io_timeout * 3;
  o.write_timeout = options_.io_timeout;
  o.default_headers = {{"X-Content-Type-Options", "nosniff"},
                       {"X-Frame-Options", "DENY"},
                       {"Referrer-Policy", "no-referrer"},
                       {"Cache-Control", "no-store"}};
  // Errors the server core answers itself (400, 408, 413, 414, 431, 503) look like every other
  // API error.
  o.error_body = [](int status, std::string_view message) {
    http::Response res;
    write_error(res, ApiError(status, std::string(http::error_code(status)), std::string(message)));
    return res.body;
  };
  auto server = http::Server::start(std::move(o), handler_);
  if (!server.ok()) return server.error();
  server_ = std::move(*server);
  port_ = server_->port();
  spdlog::info("API listening on {}:{} ({} handler threads, {} database connections)",
               options_.address, port_, options_.threads, options_.db_connections);
  return Status::success();
}

void Gateway::stop() {
  if (stopping_.exchange(true)) return;
  if (server_) server_->stop();
  credential_listener_.reset();
  miner_list_.reset();
}

std::string Gateway::problem() const {
  if (stopping_) return "";
  if (!server_ || !server_->running()) return "the API server is not running";
  return "";
}

}  // namespace fleet::gateway
