#include "router.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "auth/user_store.h"
#include "core/strings.h"
#include "db/errors.h"
#include "metrics/registry.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;

bool numeric_parameter(std::string_view name) {
  return name == "id" || (name.size() > 3 && name.substr(name.size() - 3) == "_id");
}

// Names of a path's {parameters}, in order.
std::vector<std::string> parameter_names(const std::string& path) {
  std::vector<std::string> names;
  for (auto open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1)) {
    const auto close = path.find('}', open);
    if (close == std::string::npos) break;
    names.push_back(path.substr(open + 1, close - open - 1));
  }
  return names;
}

ApiError from_database(const std::exception& e, const std::string& request_id) {
  const std::string state = db::sqlstate_of(e);
  if (dynamic_cast<const db::Unavailable*>(&e) != nullptr ||
      db::classify(e) == ErrorKind::kUnavailable) {
    return ApiError(503, "unavailable", "the database is unavailable; retry shortly");
  }
  if (state == "23505") return ApiError::conflict("a record with these values exists already");
  if (state == "23503")
    return ApiError::conflict("a referenced record does not exist or is still in use");
  if (state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0) {
    return ApiError::bad_request("a value is out of range or malformed");
  }
  if (state == "57014") return ApiError(503, "timeout", "the request took too long");
  return ApiError(500, "internal", "internal error (request " + request_id + ")");
}

std::string without_nul(std::string text) {
  std::replace(text.begin(), text.end(), '\0', '?');
  return text;
}

// JSON text with every \u0000 escape replaced by U+FFFD (the same length, still valid JSON).
std::string without_nul_escapes(std::string text) {
  for (auto at = text.find("\\u0000"); at != std::string::npos; at = text.find("\\u0000", at)) {
    // An escaped backslash before it ("\\\\u0000") is the text "\u0000", not a NUL.
    std::size_t slashes = 0;
    while (at > slashes && text[at - slashes - 1] == '\\')
      ++slashes;
    if (slashes % 2 == 0) text.replace(at, 6, "\\ufffd");
    at += 6;
  }
  return text;
}

}  // namespace

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void write_error(http::Response& res, const ApiError& error) {
  json e = {{"code", error.code()}, {"message", sanitize_utf8(error.what())}};
  if (!error.field().empty()) e["field"] = error.field();
  if (!error.details().is_null()) e["details"] = error.details();
  res.status = error.status();
  if (error.retry_after() > 0) {
    e["retry_after"] = error.retry_after();
    res.set_header("Retry-After", std::to_string(error.retry_after()));
  }
  res.set_content(dump(json{{"error", e}}), "application/json");
}

std::string Call::client() const {
  return request_.remote_addr.empty() ? "unknown" : request_.remote_addr;
}

std::int64_t Call::id(std::size_t index) const {
  const std::string& text = params_.at(index);
  try {
    std::int64_t v = std::stoll(text);
    if (v < 1) throw ApiError::not_found("no such record");
    return v;
  } catch (const std::out_of_range&) {
    throw ApiError::not_found("no such record");
  }
}

std::optional<std::string> Call::query(const char* name, std::size_t max_length) const {
  if (!request_.has_param(name)) return std::nullopt;
  std::string v = request_.get_param_value(name);
  if (v.size() > max_length || !is_valid_utf8(v) || v.find('\0') != std::string::npos) {
    throw ApiError::bad_request(
        std::string("query parameter '") + name + "' is too long or malformed", name);
  }
  return v;
}

std::optional<std::int64_t> Call::query_opt_int(const char* name, std::int64_t min,
                                                std::int64_t max) const {
  auto v = query(name, 24);
  if (!v) return std::nullopt;
  try {
    size_t used = 0;
    std::int64_t i = std::stoll(*v, &used);
    if (used != v->size() || i < min || i > max) throw std::out_of_range("");
    return i;
  } catch (const std::exception&) {
    throw ApiError::bad_request(std::string("query parameter '") + name + "' must be an integer " +
                                    std::to_string(min) + ".." + std::to_string(max),
                                name);
  }
}

std::int64_t Call::query_int(const char* name, std::int64_t fallback, std::int64_t min,
                             std::int64_t max) const {
  return query_opt_int(name, min, max).value_or(fallback);
}

std::optional<bool> Call::query_bool(const char* name) const {
  auto v = query(name, 8);
  if (!v) return std::nullopt;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  throw ApiError::bad_request(std::string("query parameter '") + name + "' must be true or false",
                              name);
}

db::Session& Call::db() {
  if (!lease_) {
    lease_.emplace(pool_.acquire());
    if (audit_insert_) {
      (*lease_)->set_before_commit([this](pqxx::transaction_base& tx) {
        if (!audit_row_ && audit_insert_) audit_row_ = audit_insert_(tx);
      });
    }
  }
  return **lease_;
}

Call::~Call() {
  if (lease_) (*lease_)->set_before_commit(nullptr);  // the session goes back to the pool
}

void Call::audit_in_transactions(std::function<std::int64_t(pqxx::transaction_base&)> insert) {
  audit_insert_ = std::move(insert);
}

Router::Router(DbPool& pool, Authenticate authenticate, metrics::Registry& metrics)
    : pool_(pool), authenticate_(std::move(authenticate)), metrics_(metrics) {}

void Router::add(RouteSpec spec) {
  if (spec.deferred_handler && (spec.handler || spec.cache_ttl.count() > 0 ||
                                (spec.method != "GET" && spec.audited && !spec.read_only))) {
    throw std::logic_error("a deferred route is neither audited nor cached and has no handler: " +
                           spec.path);
  }
  patterns_.push_back(compile(spec.path));
  routes_.push_back(std::move(spec));
}

std::vector<Router::Segment> Router::compile(const std::string& path) {
  std::vector<Segment> out;
  std::string_view rest(path);
  while (!rest.empty()) {
    if (rest.front() != '/') throw std::logic_error("route path must start with '/': " + path);
    rest.remove_prefix(1);
    const auto slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      const std::string_view name = seg.substr(1, seg.size() - 2);
      out.push_back({numeric_parameter(name) ? Segment::Kind::kNumber : Segment::Kind::kName,
                     std::string(name)});
    } else {
      out.push_back({Segment::Kind::kLiteral, std::string(seg)});
    }
    rest.remove_prefix(slash == std::string_view::npos ? rest.size() : slash);
  }
  return out;
}

bool Router::match(const std::vector<Segment>& pattern, std::string_view path,
                   std::vector<std::string>* params) {
  // A decoded path: a model alias may hold spaces and "+".
  auto name_char = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == ' ' || c == '-';
  };
  for (const Segment& seg : pattern) {
    if (path.empty() || path.front() != '/') return false;
    path.remove_prefix(1);
    const auto slash = path.find('/');
    const std::string_view text = path.substr(0, slash);
    path.remove_prefix(text.size());
    switch (seg.kind) {
      case Segment::Kind::kLiteral:
        if (text != seg.text) return false;
        break;
      case Segment::Kind::kNumber:
        if (text.empty() || text.size() > 18 ||
            !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
          return false;
        if (params != nullptr) params->emplace_back(text);
        break;
      case Segment::Kind::kName:
        if (text.empty() || text.size() > 128 || !std::all_of(text.begin(), text.end(), name_char))
          return false;
        if (params != nullptr) params->emplace_back(text);
        break;
    }
  }
  return path.empty();
}

void Router::invalidate_cache() {
  for (const auto& hook : change_hooks_)
    hook();
  generation_.fetch_add(1);
  std::lock_guard lock(cache_mu_);
  cache_.clear();
}

bool Router::dispatch(const http::Request& req, http::Response& res) {
  // HEAD is answered like GET (the server leaves out the body).
  const std::string_view method = req.method == "HEAD" ? std::string_view("GET") : req.method;
  std::vector<std::string> allowed;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    std::vector<std::string> params;
    if (!match(patterns_[i], req.path, &params)) continue;
    if (routes_[i].method == method) {
      handle(routes_[i], req, res, std::move(params));
      return true;
    }
    allowed.push_back(routes_[i].method);
  }
  if (allowed.empty()) return false;
  res.set_header("Allow", join(allowed, ", "));
  write_error(res, ApiError(405, "method_not_allowed",
                            sanitize_utf8(req.method.substr(0, 20)) +
                                " is not allowed here (allowed: " + join(allowed, ", ") + ")"));
  return true;
}

namespace {
constexpr std::size_t kMaxCachedReplies = 256;

// A request's id, for logs, error bodies and the audit trail: it tells requests apart and is no
// secret, so it comes from a generator each thread seeds once (asking the kernel for random bytes
// on every request was a system call on the hot path). 48 bits in 8 URL-safe characters.
std::string new_request_id() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  std::uint64_t bits = rng();
  std::string id(8, ' ');
  for (char& c : id) {
    c = kAlphabet[bits & 63];
    bits >>= 6;
  }
  return id;
}
}  // namespace

void Router::handle(const RouteSpec& spec, const http::Request& req, http::Response& res,
                    std::vector<std::string> params) {
  const auto started = std::chrono::steady_clock::now();
  Call call(req, pool_, std::move(params));
  const std::string request_id = new_request_id();
  const bool mutating = spec.method != "GET" && !spec.read_only && spec.audited;
  std::string cache_key;
  bool authenticated = false;
  int status = 500;
  try {
    if (spec.role) {
      call.set_principal(authenticate_(req));
      authenticated = true;
      if (mutating) {
        // Inserted with the change; the target, details and final status are filled in below.
        call.audit_in_transactions([&call, &spec](pqxx::transaction_base& tx) {
          const Principal& who = call.who();
          return tx
              .exec_params1(
                  "INSERT INTO audit_log (actor, actor_user_id, actor_key_id, action, target, "
                  "status, client) VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, NULLIF($7, '')) "
                  "RETURNING id",
                  who.name, who.node_id ? std::nullopt : std::optional(who.user_id), who.key_row_id,
                  spec.method + " " + spec.path, without_nul(sanitize_utf8(call.audit_target())),
                  spec.success_status, call.client())[0]
              .as<std::int64_t>();
        });
      }
      if (!auth::allows(call.who().role, *spec.role)) {
        throw ApiError::forbidden("this needs the " + std::string(auth::to_string(*spec.role)) +
                                  " role; you are " +
                                  std::string(auth::to_string(call.who().role)));
      }
      // A node's credential opens only its own node's routes: /api/nodes/{id}/... with its id.
      if (const auto& node = call.who().node_id;
          node && (call.param_count() == 0 || call.param(0) != std::to_string(*node))) {
        throw ApiError::forbidden("a node credential may only be used for its own node");
      }
    }
    if (spec.deferred_handler) {
      handle_later(spec, call, req, res, started, request_id);
      return;  // answered (metrics too) when the work is done
    }
    bool cached = false;
    if (!mutating && spec.cache_ttl.count() > 0 &&
        (spec.uncached_with.empty() || !req.has_param(spec.uncached_with))) {
      std::string query;
      for (const auto& [k, v] : req.params)
        query += k + "=" + v + "&";  // multimap: sorted
      cache_key = spec.path + "?" + query + "#" + std::string(auth::to_string(call.who().role));
      std::shared_ptr<const std::string> hit;
      {
        std::lock_guard lock(cache_mu_);
        auto it = cache_.find(cache_key);
        if (it != cache_.end() && it->second.generation == generation_.load() &&
            (it->second.until > std::chrono::steady_clock::now() || it->second.refreshing)) {
          hit = it->second.body;
          status = it->second.status;
        } else if (it != cache_.end() && it->second.generation == generation_.load()) {
          it->second.refreshing = true;  // expired: this request refreshes it
        }
      }
      if (hit) {
        res.status = status;
        res.set_content(*hit, "application/json");
        metrics_
            .counter("fleet_http_cache_hits_total", "API responses served from the cache",
                     {{"route", spec.path}})
            .inc();
        cached = true;
      }
    }
    if (!cached) {
      const std::uint64_t generation = generation_.load();
      // Should the handler fail, the next request refreshes the entry instead.
      struct RefreshGuard {
        Router& router;
        const std::string& key;
        ~RefreshGuard() {
          if (key.empty()) return;
          std::lock_guard lock(router.cache_mu_);
          if (auto e = router.cache_.find(key); e != router.cache_.end())
            e->second.refreshing = false;
        }
      } refresh_guard{*this, cache_key};
      Reply reply = spec.handler(call);
      status = reply.status == 0 ? spec.success_status : reply.status;
      res.status = status;
      for (const auto& [k, v] : reply.headers)
        res.set_header(k, v);
      // A page is tens of kB: moved, and copied only into the cache.
      std::string body = reply.raw.empty() ? dump(reply.body) : std::move(reply.raw);
      if (!cache_key.empty() && status == 200) {
        auto copy = std::make_shared<const std::string>(body);  // outside the lock
        std::lock_guard lock(cache_mu_);
        // Bounded: pages of a keyset walk each make an entry, and a page can be tens of kB.
        if (cache_.size() >= kMaxCachedReplies) {
          const auto now = std::chrono::steady_clock::now();
          std::erase_if(cache_, [&](const auto& e) { return e.second.until <= now; });
          if (cache_.size() >= kMaxCachedReplies) cache_.clear();
        }
        cache_[cache_key] = {std::move(copy), status,
                             std::chrono::steady_clock::now() + spec.cache_ttl, generation};
      }
      if (status != 204) res.set_content(std::move(body), reply.content_type);
    }
  } catch (const std::exception&) {
    status = write_failure(std::current_exception(), spec, req.method, request_id, res);
  }
  if (mutating && authenticated) {
    if (status < 400) invalidate_cache();
    try {
      const Principal& who = call.who();
      call.audit_in_transactions(nullptr);  // this last transaction completes or writes the row
      const std::optional<std::int64_t> row = call.audit_row();
      call.db().transact([&](pqxx::transaction_base& tx) {
        // Whatever the input, the audit row must be writable: PostgreSQL refuses NUL in text
        // and jsonb ("unsupported Unicode escape sequence"), which once lost a refused call's row.
        const std::string target = without_nul(sanitize_utf8(call.audit_target()));
        const std::string details = without_nul_escapes(dump(call.audit_details()));
        if (row && tx.exec_params("UPDATE audit_log SET target = NULLIF($2, ''), status = $3, "
                                  "details = $4::jsonb WHERE id = $1",
                                  *row, target, status, details)
                           .affected_rows() == 1) {
          return;
        }
        // No transaction of the call committed (refused, failed): the row is written now.
        auth::audit(tx, who.name, who.node_id ? std::nullopt : std::optional(who.user_id),
                    who.key_row_id, spec.method + " " + spec.path, target, status, call.client(),
                    details);
      });
    } catch (const std::exception& e) {
      spdlog::error("could not write the audit log for {} {}: {}", spec.method, spec.path,
                    redact_secrets(e.what()));
    }
  }
  if (status == 401 && spec.role) audit_refused(spec, call.client(), &call);
  record(spec, req.method, req.path, status, started);
}

int Router::write_failure(std::exception_ptr failure, const RouteSpec& spec,
                          const std::string& method, const std::string& request_id,
                          http::Response& res) {
  try {
    std::rethrow_exception(std::move(failure));
  } catch (const ApiError& e) {
    write_error(res, e);
    if (e.status() == 401) res.set_header("WWW-Authenticate", "Bearer");
    if (e.status() >= 500)
      spdlog::warn("{} {} -> {} ({})", method, spec.path, e.status(), e.what());
    return e.status();
  } catch (const std::exception& e) {
    ApiError error = from_database(e, request_id);
    write_error(res, error);
    if (error.status() >= 500) {
      spdlog::error("request {} {} {} failed: {}", request_id, method, spec.path,
                    redact_secrets(e.what()));
    }
    return error.status();
  }
}

void Router::handle_later(const RouteSpec& spec, Call& call, const http::Request& req,
                          http::Response& res, std::chrono::steady_clock::time_point started,
                          const std::string& request_id) {
  // What the answer needs once this call has returned (the request and the Call are gone then).
  struct Pending {
    std::string method;
    std::string path;
    std::string client;
    std::string request_id;
    std::chrono::steady_clock::time_point started;
    http::Responder responder;
    // Outside a server (the fuzz target): the answer, waited for by this thread.
    std::mutex mu;
    std::condition_variable cv;
    std::optional<http::Response> answer;
  };
  auto pending = std::make_shared<Pending>();
  pending->method = req.method;
  pending->path = req.path;
  pending->client = call.client();
  pending->request_id = request_id;
  pending->started = started;
  const bool deferred = res.can_defer();
  if (deferred) pending->responder = res.defer(spec.deferred_timeout);
  Later later = [this, &spec, pending](std::function<Reply()> make) {
    http::Response out;
    int status = 500;
    try {
      Reply reply = make();
      status = reply.status == 0 ? spec.success_status : reply.status;
      out.status = status;
      for (const auto& [k, v] : reply.headers)
        out.set_header(k, v);
      if (status != 204)
        out.set_content(reply.raw.empty() ? dump(reply.body) : std::move(reply.raw),
                        reply.content_type);
    } catch (const std::exception&) {
      status =
          write_failure(std::current_exception(), spec, pending->method, pending->request_id, out);
    }
    if (status == 401 && spec.role) audit_refused(spec, pending->client, nullptr);
    if (pending->responder.valid()) {
      // Too late (the server answered 503 when the timeout passed): the metrics say what the
      // client got.
      if (!pending->responder.send(std::move(out))) status = 503;
    } else {
      std::lock_guard lock(pending->mu);
      if (!pending->answer) pending->answer = std::move(out);
      pending->cv.notify_all();
    }
    record(spec, pending->method, pending->path, status, pending->started);
  };
  try {
    spec.deferred_handler(call, later);
  } catch (const std::exception&) {
    // Refused before the work started (validation): answered the same way.
    later([failure = std::current_exception()]() -> Reply { std::rethrow_exception(failure); });
  }
  if (!deferred) {
    std::unique_lock lock(pending->mu);
    if (!pending->cv.wait_for(lock, spec.deferred_timeout,
                              [&] { return pending->answer.has_value(); })) {
      write_error(res,
                  ApiError(503, "unavailable", "the answer did not come in time; retry shortly"));
      return;
    }
    const http::Response& answer = *pending->answer;
    res.status = answer.status;
    res.headers = answer.headers;
    res.body = answer.body;
    res.content_type = answer.content_type;
  }
}

void Router::record(const RouteSpec& spec, const std::string& method, const std::string& path,
                    int status, std::chrono::steady_clock::time_point started) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  metrics_
      .counter("fleet_http_requests_total", "API requests",
               {{"method", spec.method}, {"route", spec.path}, {"status", std::to_string(status)}})
      .inc();
  metrics_
      .histogram("fleet_http_request_duration_seconds", "API request durations",
                 {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
                 {{"route", spec.path}})
      .observe(seconds);
  spdlog::debug("{} {} {} {:.1f}ms", method, path, status, seconds * 1000);
}

void Router::audit_refused(const RouteSpec& spec, const std::string& client, Call* call) {
  // A flood of bad credentials must not become a flood of database writes: at most
  // kAuditedRefusalsPerSecond rows a second; the rest are counted in a metric.
  constexpr int kAuditedRefusalsPerSecond = 20;
  {
    std::lock_guard lock(refusals_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!refusal_window_ || now - *refusal_window_ >= std::chrono::seconds(1)) {
      refusal_window_ = now;
      refusals_in_window_ = 0;
    }
    if (++refusals_in_window_ > kAuditedRefusalsPerSecond) {
      metrics_
          .counter("fleet_http_unaudited_refusals_total",
                   "401 answers not written to the audit log (over the per-second budget)")
          .inc();
      return;
    }
  }
  try {
    // The call's own session when it has one (a second lease could wait on a full pool).
    std::optional<DbPool::Lease> lease;
    if (call == nullptr) lease.emplace(pool_.acquire());
    db::Session& session = call != nullptr ? call->db() : **lease;
    session.transact([&](pqxx::transaction_base& tx) {
      auth::audit(tx, "anonymous", std::nullopt, std::nullopt, spec.method + " " + spec.path, "",
                  401, without_nul(sanitize_utf8(client)), "{}");
    });
  } catch (const std::exception& e) {
    spdlog::error("could not write the audit log for a refused {} {}: {}", spec.method, spec.path,
                  redact_secrets(e.what()));
  }
}

json Router::openapi(const std::string& version) const {
  json paths = json::object();
  for (const auto& spec : routes_) {
    const std::vector<std::string> names = parameter_names(spec.path);
    json op = {{"summary", spec.summary},
               {"tags", json::array({spec.tag})},
               {"operationId", spec.method + " " + spec.path}};
    json parameters = json::array();
    for (const auto& n : names) {
      const bool numeric = numeric_parameter(n);
      parameters.push_back({{"name", n},
                            {"in", "path"},
                            {"required", true},
                            {"schema", numeric ? json{{"type", "integer"}, {"minimum", 1}}
                                               : json{{"type", "string"}}}});
    }
    for (const auto& q : spec.query_parameters)
      parameters.push_back(q);
    if (!parameters.empty()) op["parameters"] = parameters;
    if (!spec.request_schema.is_null()) {
      op["requestBody"] = {{"required", true},
                           {"content", {{"application/json", {{"schema", spec.request_schema}}}}}};
    }
    json ok = {{"description", "success"}};
    if (!spec.response_schema.is_null()) {
      ok["content"] = {{"application/json", {{"schema", spec.response_schema}}}};
    }
    json responses = {{std::to_string(spec.success_status), ok},
                      {"400", {{"$ref", "#/components/responses/Error"}}}};
    if (spec.role) {
      op["security"] =
          json::array({{{"bearerAuth", json::array()}}, {{"apiKeyAuth", json::array()}}});
      op["x-required-role"] = std::string(auth::to_string(*spec.role));
      responses["401"] = {{"$ref", "#/components/responses/Error"}};
      responses["403"] = {{"$ref", "#/components/responses/Error"}};
    } else {
      op["security"] = json::array();
    }
    op["responses"] = responses;
    std::string method = to_lower(spec.method);
    paths[spec.path][method] = op;
  }
  json error_schema = {{"type", "object"},
                       {"required", {"error"}},
                       {"properties",
                        {{"error",
                          {{"type", "object"},
                           {"required", {"code", "message"}},
                           {"properties",
                            {{"code", {{"type", "string"}}},
                             {"message", {{"type", "string"}}},
                             {"field", {{"type", "string"}}}}}}}}}};
  return {
      {"openapi", "3.0.3"},
      {"info",
       {{"title", "fleetward API"},
        {"version", version},
        {"description",
         "Fleet manager for ASIC miners, GPU rigs, container nodes and sensor devices."}}},
      {"servers", json::array({{{"url", "/"}}})},
      {"paths", paths},
      {"components",
       {{"securitySchemes",
         {{"bearerAuth", {{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}},
          {"apiKeyAuth", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-API-Key"}}}}},
        {"schemas", {{"Error", error_schema}}},
        {"responses",
         {{"Error",
           {{"description", "error"},
            {"content",
             {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}}}}}};
}

}  // namespace fleet::gateway
