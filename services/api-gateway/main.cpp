// api-gateway: the REST API, authentication and the dashboard (docs/services/api-gateway.md).
// Its cycle is housekeeping; the HTTP server runs on its own threads and serves /health, /ready
// and /metrics on the API port as well.
#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "auth/credentials.h"
#include "core/cpus.h"
#include "core/secret_strength.h"
#include "db/connection_options.h"
#include "db/session.h"
#include "gateway.h"
#include "node_install_script.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace {

using namespace fleet;

void declare(config::Schema& s) {
  using config::Type;
  secrets::declare_config(s);
  gateway::declare_node_config(s);
  s.add({.name = "gateway.address",
         .type = Type::kString,
         .help = "address the API listens on",
         .default_value = std::string("0.0.0.0")});
  s.add({.name = "gateway.port",
         .type = Type::kInt,
         .help = "API port (0 = any free port)",
         .default_value = std::int64_t{8080},
         .flag = "--port",
         .min = 0,
         .max = 65535});
  s.add({.name = "gateway.threads",
         .type = Type::kInt,
         .help = "request handler threads (open connections and waiting heartbeats hold none); "
                 "0 = twice the usable CPUs, 4 to 16",
         .default_value = std::int64_t{0},
         .min = 0,
         .max = 1024});
  s.add({.name = "gateway.max_connections",
         .type = Type::kInt,
         .help = "open connections at most (more are answered 503 and closed)",
         .default_value = std::int64_t{10'000},
         .min = 16,
         .max = 1'000'000});
  s.add({.name = "gateway.max_connections_per_client",
         .type = Type::kInt,
         .help = "open connections per client address at most (0 = no limit; behind a proxy every "
                 "client shares its address)",
         .default_value = std::int64_t{2'000},
         .min = 0,
         .max = 1'000'000});
  s.add({.name = "gateway.header_timeout",
         .type = Type::kDuration,
         .help = "time for a whole request head to arrive (408 after it); bodies get three times "
                 "this, responses this",
         .default_value = std::chrono::milliseconds(10'000),
         .min = 1,
         .max = 600});
  s.add({.name = "gateway.keep_alive",
         .type = Type::kDuration,
         .help = "an idle keep-alive connection is closed after this",
         .default_value = std::chrono::milliseconds(5'000),
         .min = 1,
         .max = 3'600});
  s.add({.name = "gateway.trusted_proxies",
         .type = Type::kString,
         .help = "comma-separated addresses or CIDR blocks of reverse proxies whose "
                 "X-Forwarded-For names the client (login throttling, audit); empty = none",
         .default_value = std::string()});
  s.add({.name = "gateway.login_concurrency",
         .type = Type::kInt,
         .help = "password checks at once (each Argon2id check takes 64 MiB; size the memory "
                 "limit to 64 MiB x this + ~64 MiB)",
         .default_value = std::int64_t{2},
         .min = 1,
         .max = 64});
  s.add({.name = "gateway.api_key_default_days",
         .type = Type::kInt,
         .help = "an API key created without expires_in_days expires after this many days",
         .default_value = std::int64_t{90},
         .min = 1,
         .max = 3650});
  s.add({.name = "gateway.api_key_max_days",
         .type = Type::kInt,
         .help = "the longest expires_in_days an API key may ask for",
         .default_value = std::int64_t{365},
         .min = 1,
         .max = 3650});
  s.add({.name = "gateway.db_connections",
         .type = Type::kInt,
         .help = "database connections shared by the handler threads; 0 = one per handler thread",
         .default_value = std::int64_t{0},
         .min = 0,
         .max = 256});
  s.add({.name = "gateway.miners_in_memory",
         .type = Type::kBool,
         .help = "answer GET /api/miners from a copy of the miners list kept current by NOTIFY "
                 "(false: every page from the database)",
         .default_value = true});
  s.add({.name = "gateway.max_body_bytes",
         .type = Type::kInt,
         .help = "largest request body",
         .default_value = std::int64_t{1 << 20},
         .min = 1024,
         .max = 64 << 20});
  s.add(
      {.name = "gateway.token_secret",
       .type = Type::kString,
       .help =
           "key that signs session tokens (shared by replicas; random, e.g. openssl rand -hex 32)",
       .secret = true});
  s.add({.name = "gateway.token_ttl",
         .type = Type::kDuration,
         .help = "session lifetime",
         .default_value = std::chrono::milliseconds(12 * 3'600'000),
         .min = 60,
         .max = 30 * 86'400});
  s.add({.name = "gateway.login_max_failures",
         .type = Type::kInt,
         .help = "failed logins per client address (and per user name) before logins are refused",
         .default_value = std::int64_t{10},
         .min = 1,
         .max = 10'000});
  s.add({.name = "gateway.login_window",
         .type = Type::kDuration,
         .help = "window for counting failed logins",
         .default_value = std::chrono::milliseconds(15 * 60'000),
         .min = 1,
         .max = 86'400});
  s.add({.name = "hiveos.allow_http",
         .type = Type::kBool,
         .help = "accept http:// HiveOS base URLs (hiveos-sim on loopback, tests); https only "
                 "otherwise",
         .default_value = false});
  s.add({.name = "hiveos.verify_tls",
         .type = Type::kBool,
         .help = "verify HiveOS's TLS certificate when checking a token",
         .default_value = true});
  s.add({.name = "hiveos.check_timeout",
         .type = Type::kDuration,
         .help = "how long checking a HiveOS token (GET /auth/check) may take",
         .default_value = std::chrono::milliseconds(5'000),
         .min = 0.1,
         .max = 60});
  s.add({.name = "nodes.public_url",
         .type = Type::kString,
         .help = "base URL new nodes reach this gateway at (http[s]://host[:port][/prefix]), put "
                 "into install commands and scripts; empty = http://<the request's Host header>",
         .default_value = std::string()});
  s.add({.name = "nodes.agent_binary",
         .type = Type::kString,
         .help = "the node-agent executable served to node installers; empty = node-agent "
                 "beside this api-gateway executable",
         .default_value = std::string()});
}

// nodes.* -> the node administration routes' options; a ConfigError for a bad URL.
gateway::NodeAdminOptions node_admin_options(const config::Config& c) {
  gateway::NodeAdminOptions o;
  o.public_url = c.str("nodes.public_url");
  while (!o.public_url.empty() && o.public_url.back() == '/')
    o.public_url.pop_back();
  if (!o.public_url.empty() && !gateway::is_installer_base_url(o.public_url)) {
    throw runtime::ConfigError(
        "nodes.public_url must be http:// or https:// followed by host[:port][/path] (letters, "
        "digits and . - _ ~ : / [ ] % only)");
  }
  o.agent_binary = c.str("nodes.agent_binary");
  if (o.agent_binary.empty()) {
    std::error_code error;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (!error) o.agent_binary = (self.parent_path() / "node-agent").string();
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  std::shared_ptr<gateway::Gateway> server;
  return runtime::run(
      argc, argv,
      {
          .name = "api-gateway",
          .description = "REST API, authentication and dashboard",
          .default_interval = std::chrono::seconds(30),
          .required_tables = {"users", "api_keys", "audit_log", "workers", "readings",
                              "service_instances", "miners", "models", "statuses",
                              "chip_telemetry"},
          .declare_config = declare,
          .setup = [&server](const runtime::Setup& setup) -> runtime::CycleFn {
            const config::Config& c = setup.config;
            gateway::GatewayOptions o;
            o.address = c.str("gateway.address");
            o.port = static_cast<int>(c.integer("gateway.port"));
            // Two servers on one port would each answer half the requests (the probe server
            // 404s every API call), so naming the same port twice is a configuration error.
            if (o.port > 0 && o.port == c.integer("health.port")) {
              throw runtime::ConfigError(
                  "gateway.port (--port) and health.port (--health-port) "
                  "are both " +
                  std::to_string(o.port) + ": give each its own port");
            }
            o.threads = static_cast<int>(c.integer("gateway.threads"));
            if (o.threads == 0) o.threads = gateway::default_handler_threads(usable_cpus());
            o.nodes = gateway::node_options_from(c);
            o.db_connections = static_cast<int>(c.integer("gateway.db_connections"));
            if (o.db_connections == 0) o.db_connections = o.threads;
            o.max_connections = static_cast<std::size_t>(c.integer("gateway.max_connections"));
            o.miners_in_memory = c.boolean("gateway.miners_in_memory");
            o.auth.login_concurrency = static_cast<int>(c.integer("gateway.login_concurrency"));
            o.auth.api_key_default_days = c.integer("gateway.api_key_default_days");
            o.auth.api_key_max_days = c.integer("gateway.api_key_max_days");
            if (o.auth.api_key_default_days > o.auth.api_key_max_days) {
              throw runtime::ConfigError(
                  "gateway.api_key_default_days is above gateway.api_key_max_days");
            }
            for (std::string_view rest = c.str("gateway.trusted_proxies"); !rest.empty();) {
              const auto comma = rest.find(',');
              o.trusted_proxies.emplace_back(rest.substr(0, comma));
              rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
            }
            if (auto parsed = http::AddressSet::parse(o.trusted_proxies); !parsed.ok()) {
              throw runtime::ConfigError("gateway.trusted_proxies: " + parsed.error().message());
            }
            o.max_connections_per_client =
                static_cast<std::size_t>(c.integer("gateway.max_connections_per_client"));
            o.io_timeout = std::chrono::duration_cast<std::chrono::seconds>(
                c.duration("gateway.header_timeout"));
            o.keep_alive =
                std::chrono::duration_cast<std::chrono::seconds>(c.duration("gateway.keep_alive"));
            o.max_body_bytes = static_cast<std::size_t>(c.integer("gateway.max_body_bytes"));
            o.auth.token_ttl =
                std::chrono::duration_cast<std::chrono::seconds>(c.duration("gateway.token_ttl"));
            o.auth.max_failures = static_cast<int>(c.integer("gateway.login_max_failures"));
            o.auth.failure_window = std::chrono::duration_cast<std::chrono::seconds>(
                c.duration("gateway.login_window"));
            if (auto secret = c.optional_str("gateway.token_secret"); secret && !secret->empty()) {
              // A placeholder that is long enough signs tokens anyone can forge (issue 16.1).
              if (Status strong = check_secret("key 'gateway.token_secret'", *secret); !strong.ok())
                throw runtime::ConfigError(strong.error().message());
              o.auth.token_secret = *secret;
            } else {
              o.auth.token_secret = auth::random_token(32);
              spdlog::warn(
                  "gateway.token_secret is not set: sessions are signed with a random key, so they "
                  "end "
                  "when this process restarts and are not accepted by other replicas");
            }
            if (c.has("secrets.key")) {
              auto box = secrets::box_from(c);
              if (!box.ok()) throw runtime::ConfigError(box.error().message());
              o.secret_box = std::move(*box);
            } else {
              spdlog::warn(
                  "secrets.key (FLEET_SECRET_KEY) is not set: miner unlock passwords cannot be "
                  "changed "
                  "through the API");
            }
            o.node_admin = node_admin_options(c);
            o.hiveos.allow_http = c.boolean("hiveos.allow_http");
            o.hiveos.check_token = gateway::http_token_check(c.duration("hiveos.check_timeout"),
                                                             c.boolean("hiveos.verify_tls"));
            auto database = db::options_from(c);
            if (!database.ok()) throw runtime::ConfigError(database.error().message());
            database->application_name = "api-gateway";
            if (setup.dry_run) {
              // --dry-run checks the housekeeping only; the server is not started.
              return [](runtime::CycleContext&) { return runtime::CycleReport{}; };
            }
            server = std::make_shared<gateway::Gateway>(o, *database, setup);
            // --config-check stops here: the server is built (routes valid) but never listens.
            // The listener stops as soon as shutdown begins (from the runtime's signal thread).
            auto on_stop = std::make_shared<std::stop_callback<std::function<void()>>>(
                setup.stop, std::function<void()>([gw = server] { gw->stop(); }));
            return [gw = server, on_stop, started = false,
                    add_check = setup.add_liveness_check](runtime::CycleContext& ctx) mutable {
              if (!started) {
                // Started by the first cycle, so --config-check builds the routes without
                // listening.
                if (Status s = gw->start(); !s.ok()) throw runtime::StartError(s.error().message());
                started = true;
                add_check([gw] { return gw->problem(); });
              }
              ctx.db().transact(
                  [&](pqxx::transaction_base& tx) { gw->authenticator().housekeeping(tx); });
              return runtime::CycleReport{.counts = {{"housekeeping", 1}}};
            };
          },
      });
}
