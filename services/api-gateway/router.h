// Routes of the API: each declares its method, path, the role it needs, whether calls are
// audited, its OpenAPI description, and a handler. The Router installs them on the HTTP server,
// wraps every call (authentication, authorisation, errors, audit, metrics) and produces the
// OpenAPI document from the same declarations.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api_error.h"
#include "auth/credentials.h"
#include "db_pool.h"
#include "http/server.h"
#include "json_body.h"

namespace fleet::metrics {
class Registry;
}

namespace fleet::gateway {

struct Principal {
  std::int64_t user_id = 0;  // 0 for a node (no user)
  std::string name;          // user name, "<owner> (key <key_id>)" or "node:<worker id>"
  auth::Role role = auth::Role::kViewer;
  std::optional<std::int64_t> key_row_id;
  std::string token_id;              // session token id ("" for API keys)
  std::vector<std::string> devices;  // an ingest key's device scope (auth::device_in_scope)
  // A container host node's agent (role kNode): the only worker whose routes it may call (the
  // route's first path parameter must be this id).
  std::optional<std::int64_t> node_id;
};

struct Reply {
  int status = 0;  // 0: the route's success_status
  nlohmann::json body;
  std::string raw;  // when set, sent instead of body (cached or static content)
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
};

class Call {
 public:
  Call(const http::Request& request, DbPool& pool, std::vector<std::string> params)
      : request_(request), pool_(pool), params_(std::move(params)) {}
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  const http::Request& request() const { return request_; }
  const Principal& who() const { return principal_; }
  void set_principal(Principal p) { principal_ = std::move(p); }
  std::string client() const;

  // Path parameters in order of appearance, e.g. {id}.
  std::int64_t id(std::size_t index = 0) const;
  const std::string& param(std::size_t index = 0) const { return params_.at(index); }
  std::size_t param_count() const { return params_.size(); }

  // Query parameters: validated, with defaults. Errors name the parameter.
  std::optional<std::string> query(const char* name, std::size_t max_length = 200) const;
  std::int64_t query_int(const char* name, std::int64_t fallback, std::int64_t min,
                         std::int64_t max) const;
  std::optional<std::int64_t> query_opt_int(const char* name, std::int64_t min,
                                            std::int64_t max) const;
  std::optional<bool> query_bool(const char* name) const;

  JsonBody body() const { return JsonBody::parse(request_.body); }

  // A database session for this call (leased on first use, returned when the call ends).
  db::Session& db();

  // A changing call's audit row is inserted by the first transaction the call commits, in that
  // transaction (a change is never committed without its row; a failure to write the row fails
  // the change). The router completes the row when the call ends.
  void audit_in_transactions(std::function<std::int64_t(pqxx::transaction_base&)> insert);
  std::optional<std::int64_t> audit_row() const { return audit_row_; }

  // What the audit log records about this call.
  void audit_target(std::string target) { audit_target_ = std::move(target); }
  void audit_detail(const std::string& key, nlohmann::json value) {
    audit_details_[key] = std::move(value);
  }
  const std::string& audit_target() const { return audit_target_; }
  const nlohmann::json& audit_details() const { return audit_details_; }

 private:
  const http::Request& request_;
  DbPool& pool_;
  std::vector<std::string> params_;
  Principal principal_;
  std::optional<DbPool::Lease> lease_;
  std::function<std::int64_t(pqxx::transaction_base&)> audit_insert_;
  std::optional<std::int64_t> audit_row_;
  std::string audit_target_;
  nlohmann::json audit_details_ = nlohmann::json::object();
};

using Handler = std::function<Reply(Call&)>;

// A route that answers later (RouteSpec::deferred_handler): the work it started calls `Later`
// once, from any thread, with a function that returns the Reply or throws ApiError like a
// handler; the request is answered then, and meanwhile no handler thread waits for it.
using Later = std::function<void(std::function<Reply()>)>;
using DeferredHandler = std::function<void(Call&, Later)>;

struct RouteSpec {
  std::string method;  // GET, POST, PATCH, PUT, DELETE
  std::string path;    // OpenAPI form: /api/workers/{id}
  std::string tag;     // OpenAPI grouping
  std::string summary;
  std::optional<auth::Role> role = auth::Role::kViewer;  // nullopt = public
  nlohmann::json request_schema;                         // OpenAPI schema of the body (null = none)
  nlohmann::json response_schema;                        // OpenAPI schema of a 2xx body
  std::vector<nlohmann::json> query_parameters;          // OpenAPI parameter objects
  int success_status = 200;
  std::chrono::milliseconds cache_ttl{0};  // GET responses cached this long per role and query
  // A query parameter whose presence skips the cache: a keyset cursor. The pages after the first
  // are one client's walk, seldom asked again within the TTL, and each would take a cache entry
  // (and a copy of tens of kB) and, past the cache's bound, evict the pages many dashboards share.
  std::string uncached_with;
  Handler handler;
  // Instead of `handler`: validates the call (throwing ApiError like any handler) and hands the
  // work and `Later` to something that answers when it is done (node heartbeats wait for their
  // batch's commit this way). The Call is gone by then: take what the work needs from it before
  // returning. Only for routes that are neither audited nor cached. Not answered within
  // `deferred_timeout`, the request gets a 503.
  DeferredHandler deferred_handler;
  std::chrono::milliseconds deferred_timeout{10'000};
  // A POST that changes nothing (validation, dry runs): not audited, keeps the cache.
  bool read_only = false;
  // Machine traffic at thousands of calls a second that changes only telemetry (node
  // heartbeats): not audited and keeps the cache, like read_only, although it writes.
  bool audited = true;
};

// Authenticates a request; throws ApiError 401 (or 429) when it cannot.
using Authenticate = std::function<Principal(const http::Request&)>;

class Router {
 public:
  Router(DbPool& pool, Authenticate authenticate, metrics::Registry& metrics);
  void add(RouteSpec spec);
  // A prepared statement for the hot routes (see DbPool::prepare).
  void prepare(const std::string& name, const std::string& sql) { pool_.prepare(name, sql); }
  // Answers a request whose path is a route's: the route's answer, or a JSON 405 naming the
  // allowed methods. False when no route has this path (the caller answers 404).
  bool dispatch(const http::Request& req, http::Response& res);
  // OpenAPI 3.0 document of every route.
  nlohmann::json openapi(const std::string& version) const;
  const std::vector<RouteSpec>& routes() const { return routes_; }
  // Forgets cached responses and runs the change hooks (called after every successful change,
  // before it is answered).
  void invalidate_cache();
  // Runs `hook` after every successful change (a copy of data that must show the caller's own
  // writes). Register before serving.
  void on_change(std::function<void()> hook) { change_hooks_.push_back(std::move(hook)); }

 private:
  void handle(const RouteSpec& spec, const http::Request& req, http::Response& res,
              std::vector<std::string> params);
  // A deferred route's work, started: `res` is deferred (or, outside a server, the answer is
  // waited for here).
  void handle_later(const RouteSpec& spec, Call& call, const http::Request& req,
                    http::Response& res, std::chrono::steady_clock::time_point started,
                    const std::string& request_id);
  // A handler's failure as an answer in `res` (ApiError as is, anything else through
  // from_database); returns the status.
  static int write_failure(std::exception_ptr failure, const RouteSpec& spec,
                           const std::string& method, const std::string& request_id,
                           http::Response& res);
  // Metrics and the debug log line of an answered call.
  void record(const RouteSpec& spec, const std::string& method, const std::string& path, int status,
              std::chrono::steady_clock::time_point started);

  // A route's path, split into segments once: literals, and {id}-style (digits) or named (a
  // segment of safe characters) parameters. Matching walks segments; no regex meets a client's
  // path.
  struct Segment {
    enum class Kind { kLiteral, kNumber, kName } kind = Kind::kLiteral;
    std::string text;
  };
  static std::vector<Segment> compile(const std::string& path);
  static bool match(const std::vector<Segment>& pattern, std::string_view path,
                    std::vector<std::string>* params);

  // Writes an audit row for a call refused for want of valid credentials (rate-bounded), with the
  // call's session, or a session of the pool for a deferred call (`call` null).
  void audit_refused(const RouteSpec& spec, const std::string& client, Call* call);

  DbPool& pool_;
  Authenticate authenticate_;
  std::mutex refusals_mu_;
  std::optional<std::chrono::steady_clock::time_point> refusal_window_;  // guarded by refusals_mu_
  int refusals_in_window_ = 0;                                           // guarded by refusals_mu_
  metrics::Registry& metrics_;
  std::vector<RouteSpec> routes_;
  std::vector<std::vector<Segment>> patterns_;  // patterns_[i] is routes_[i]'s path

  struct CachedReply {
    std::shared_ptr<const std::string> body;  // copied out of the lock
    int status = 200;
    std::chrono::steady_clock::time_point until;
    std::uint64_t generation = 0;
    // One request is refreshing this entry; the others keep getting the previous answer meanwhile
    // instead of all querying the database at once when it expires.
    bool refreshing = false;
  };
  std::mutex cache_mu_;
  std::map<std::string, CachedReply> cache_;  // guarded by cache_mu_
  std::atomic<std::uint64_t> generation_{0};
  std::vector<std::function<void()>> change_hooks_;
};

// Sends `error` as {"error": {...}}.
void write_error(http::Response& res, const ApiError& error);

// JSON text safe for any string content (invalid UTF-8 replaced).
std::string dump(const nlohmann::json& j);

}  // namespace fleet::gateway
