// Fuzzes the api-gateway's request handling from raw bytes: the first byte picks who is calling
// (anonymous, viewer, operator, admin, the agent of node 7), the rest is an HTTP/1.1 request as it
// arrives on the wire. It runs through the server core's parser and every route's handler (paths,
// queries, headers, bodies). The database is unreachable, so a handler that gets past validation
// answers 503: what is fuzzed is everything a client's input meets before the database. Any answer
// must be a status in 100..599 and, for an error, a JSON body with a code; nothing may crash. Node
// heartbeats are deferred routes: outside a server the router waits for their batch (which
// fails on the unreachable database) and answers then.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "authenticator.h"
#include "heartbeat_batcher.h"
#include "http/parser.h"
#include "http/server.h"
#include "metrics/registry.h"
#include "router.h"
#include "routes.h"

namespace {

using namespace fleet;
using namespace fleet::gateway;

thread_local int g_caller = 0;

struct Harness {
  metrics::Registry registry;
  DbPool pool;
  Authenticator authenticator;
  Router router;
  NodeIngestOptions ingest;
  HeartbeatBatcher heartbeats;

  static db::ConnectionOptions unreachable() {
    db::ConnectionOptions o;
    // Nothing listens on port 1: every database call fails at once.
    o.conninfo = "host=127.0.0.1 port=1 dbname=fleet user=fleet connect_timeout=1";
    o.connect_timeout = std::chrono::seconds(1);
    return o;
  }

  Harness()
      : pool(unreachable(), 1),
        authenticator(pool, AuthOptions{.token_secret = std::string(64, 'k')}),
        router(
            pool,
            [](const http::Request&) {
              if (g_caller == 0) throw ApiError(401, "unauthenticated", "log in");
              Principal p;
              if (g_caller == 4) {
                p.name = "node:7";
                p.role = auth::Role::kNode;
                p.node_id = 7;
                return p;
              }
              p.user_id = 1;
              p.name = "fuzz";
              p.role = g_caller == 1   ? auth::Role::kViewer
                       : g_caller == 2 ? auth::Role::kOperator
                                       : auth::Role::kAdmin;
              return p;
            },
            registry),
        heartbeats(unreachable(), ingest) {
    add_auth_routes(router, authenticator);
    add_fleet_routes(router);
    add_miner_routes(router, std::nullopt);
    add_rule_routes(router);
    add_alert_routes(router);
    add_command_routes(router);
    add_relay_routes(router);
    // Container host nodes, the operators' side (issue 13): tokens, the installer, node lists.
    static const NodeAdminOptions nodes{.public_url = "https://fleet.example",
                                        .agent_binary = "/nonexistent/node-agent"};
    add_node_admin_routes(router, nodes);
    add_node_token_routes(router, nodes);
    // Organisations, deployments, routes, migration plans (issue 14).
    add_deployment_routes(router);
    // HiveOS accounts (issue 11): validation runs; HiveOS itself is never called (a token is
    // "rejected" without a network).
    add_hiveos_routes(
        router, std::nullopt,
        {.allow_http = true, .check_token = [](const std::string&, const std::string&) {
           return hiveos::ApiResult<bool>(hiveos::ApiError{
               .kind = ErrorKind::kUnauthenticated, .message = "fuzz", .http_status = 401});
         }});
    add_rig_routes(router);
    add_notification_channel_routes(router, std::nullopt, [](const std::string&) { return true; });
    add_notification_route_routes(router);
    add_notification_message_routes(router);
    // Container host nodes, the agents' side: registration, heartbeats (deferred), facts, commands.
    add_node_agent_routes(router, authenticator, heartbeats, ingest);
    add_openapi_route(router, "fuzz");
  }
};

Harness& harness() {
  static Harness* h = [] {
    spdlog::set_level(spdlog::level::off);
    return new Harness();
  }();
  return *h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > (1 << 18)) return 0;
  Harness& h = harness();
  g_caller = data[0] % 5;
  const std::string_view wire(reinterpret_cast<const char*>(data) + 1, size - 1);
  http::Limits limits;
  limits.max_body = 1 << 17;
  http::ParsedRequest parsed;
  const http::ParseResult r = http::parse_request(wire, limits, parsed);
  if (r.status == http::ParseStatus::kError) {
    if (r.error_status < 400 || r.error_status > 599 || r.error.empty()) __builtin_trap();
    return 0;
  }
  if (r.status != http::ParseStatus::kComplete) return 0;
  const http::Request req = http::make_request(parsed, "127.0.0.1", 40000);
  http::Response res;
  if (!h.router.dispatch(req, res)) return 0;  // not an API path: the gateway answers 404
  if (res.status < 100 || res.status > 599) __builtin_trap();
  if (res.status >= 400) {
    const auto body = nlohmann::json::parse(res.body, nullptr, false);
    if (body.is_discarded() || !body.contains("error") || !body["error"].contains("code"))
      __builtin_trap();
  }
  return 0;
}
