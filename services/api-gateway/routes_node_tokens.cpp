// Registration tokens for container host nodes (issue 13): admins make them (the token is shown
// once, only its SHA-256 is stored), list and revoke them; a new host fetches its installer and
// the node-agent with one. Fetching checks the token but spends no use: only a registration does.
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "core/strings.h"
#include "node_install_script.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

constexpr std::string_view kTokenPrefix = "fwr_";
constexpr std::size_t kTokenIdLength = 12;
constexpr std::size_t kTokenSecretLength = 43;

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

struct NewRegistrationToken {
  std::string token;     // shown once
  std::string token_id;  // stored, listed
  std::string hash;      // stored: hex SHA-256 of the whole token
};

// "fwr_<12 alnum id>_<43-char URL-safe secret>" (the scheme of API keys, libs/auth).
NewRegistrationToken new_registration_token() {
  std::string id;
  while (id.size() < kTokenIdLength) {
    for (char c : auth::random_token(9)) {
      if (alnum(c) && id.size() < kTokenIdLength) id += c;
    }
  }
  NewRegistrationToken t;
  t.token_id = id;
  t.token = std::string(kTokenPrefix) + id + "_" + auth::random_token(32);
  t.hash = auth::api_key_hash(t.token);
  return t;
}

bool is_registration_token(std::string_view t) {
  if (t.size() != kTokenPrefix.size() + kTokenIdLength + 1 + kTokenSecretLength ||
      t.substr(0, kTokenPrefix.size()) != kTokenPrefix ||
      t[kTokenPrefix.size() + kTokenIdLength] != '_')
    return false;
  for (std::size_t i = kTokenPrefix.size(); i < kTokenPrefix.size() + kTokenIdLength; ++i) {
    if (!alnum(t[i])) return false;
  }
  for (std::size_t i = kTokenPrefix.size() + kTokenIdLength + 1; i < t.size(); ++i) {
    if (!alnum(t[i]) && t[i] != '-' && t[i] != '_') return false;
  }
  return true;
}

const std::string kTokenState =
    "CASE WHEN t.revoked_at IS NOT NULL THEN 'revoked' WHEN t.uses >= t.max_uses THEN 'used' "
    "WHEN t.expires_at <= now() THEN 'expired' ELSE 'active' END";

const std::string kTokenSelect =
    "SELECT t.id, t.token_id, t.description, t.site, t.pool, t.labels::text, t.max_uses, t.uses, " +
    iso_sql("t.expires_at") + ", " + iso_sql("t.revoked_at") + ", t.created_by, " +
    iso_sql("t.created_at") + ", " + iso_sql("t.last_used_at") + ", " + kTokenState +
    ", (SELECT count(*) FROM nodes n WHERE n.registration_token_id = t.id) "
    "FROM registration_tokens t ";

json token_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},         {"token_id", r[1].as<std::string>()},
          {"description", r[2].as<std::string>()}, {"site", opt_text(r[3])},
          {"pool", r[4].as<std::string>()},        {"labels", json::parse(r[5].as<std::string>())},
          {"max_uses", r[6].as<std::int64_t>()},   {"uses", r[7].as<std::int64_t>()},
          {"expires_at", r[8].as<std::string>()},  {"revoked_at", opt_text(r[9])},
          {"created_by", r[10].as<std::string>()}, {"created_at", r[11].as<std::string>()},
          {"last_used_at", opt_text(r[12])},       {"state", r[13].as<std::string>()},
          {"nodes", r[14].as<std::int64_t>()}};
}

json load_token(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(kTokenSelect + "WHERE t.id = $1", id);
  if (rows.empty())
    throw ApiError::not_found("registration token " + std::to_string(id) + " not found");
  return token_json(rows[0]);
}

const json kNullableString = {{"type", "string"}, {"nullable", true}};
const json kStates = {"active", "expired", "used", "revoked"};

const json kToken = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"token_id", {{"type", "string"}, {"description", "the token's public id"}}},
      {"description", {{"type", "string"}}},
      {"site", kNullableString},
      {"pool", {{"type", "string"}}},
      {"labels", {{"type", "object"}}},
      {"max_uses", {{"type", "integer"}}},
      {"uses", {{"type", "integer"}}},
      {"expires_at", {{"type", "string"}, {"format", "date-time"}}},
      {"revoked_at", kNullableString},
      {"created_by", {{"type", "string"}}},
      {"created_at", {{"type", "string"}}},
      {"last_used_at", kNullableString},
      {"state", {{"type", "string"}, {"enum", kStates}}},
      {"nodes", {{"type", "integer"}, {"description", "nodes registered with it"}}}}}};

// The gateway's base URL as a new host reaches it: configured, or from the request's Host.
std::string base_url(const Call& call, const NodeAdminOptions& options) {
  if (!options.public_url.empty()) return options.public_url;
  const std::string host = call.request().get_header_value("Host");
  const std::string url = "http://" + host;
  if (host.empty() || !is_installer_base_url(url) || host.find('/') != std::string::npos) {
    throw ApiError::bad_request(
        "the request's Host header is missing or not a host[:port]; set nodes.public_url", "Host");
  }
  return url;
}

// Checks a presented token without spending a use; 401 saying why it cannot be used.
void check_token(const Call& call, pqxx::transaction_base& tx, const std::string& token) {
  auto refuse = [&](const std::string& why) {
    spdlog::warn("refused a registration token from {}: {}", call.client(), why);
    return ApiError::unauthenticated("registration token " + why);
  };
  if (!is_registration_token(token)) throw refuse("is malformed");
  auto rows = tx.exec_params("SELECT " + kTokenState +
                                 ", t.uses, t.max_uses FROM registration_tokens t "
                                 "WHERE t.token_hash = $1",
                             auth::api_key_hash(token));
  if (rows.empty()) throw refuse("is unknown");
  const std::string state = rows[0][0].as<std::string>();
  if (state == "revoked") throw refuse("was revoked");
  if (state == "expired") throw refuse("has expired");
  if (state == "used") {
    throw refuse("is used up (" + rows[0][1].as<std::string>() + " of " +
                 rows[0][2].as<std::string>() + " uses)");
  }
}

std::string token_query(const Call& call) {
  auto token = call.query("token", 200);
  if (!token || token->empty())
    throw ApiError::bad_request("query parameter 'token' is required", "token");
  return *token;
}

std::optional<std::string> labels_field(const JsonBody& body) {
  auto labels = body.opt_object("labels");
  if (!labels) return std::nullopt;
  if (labels->size() > 64) throw ApiError::bad_request("at most 64 labels", "labels");
  for (const auto& [k, v] : labels->items()) {
    if (k.empty() || k.size() > 63 || !v.is_string() || v.get<std::string>().size() > 200) {
      throw ApiError::bad_request("labels must map names (1-63 characters) to strings (up to 200)",
                                  "labels");
    }
  }
  return dump(*labels);
}

bool is_pool(const std::string& p) {
  if (p.empty() || p.size() > 63 || !((p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9')))
    return false;
  for (char c : p) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

}  // namespace

void add_node_token_routes(Router& router, const NodeAdminOptions& options) {
  router.add(
      {.method = "POST",
       .path = "/api/nodes/registration-tokens",
       .tag = "nodes",
       .summary = "Make a registration token for new nodes (description, site, pool, labels "
                  "given to the nodes it registers; max_uses 1..100000, default 1; "
                  "expires_in_hours 1..720, default 24). The token and the install command are "
                  "shown only in this answer.",
       .role = Role::kAdmin,
       .request_schema =
           {{"type", "object"},
            {"properties",
             {{"description", {{"type", "string"}, {"maxLength", 500}}},
              {"site", {{"type", "string"}, {"maxLength", 200}}},
              {"pool", {{"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9_.-]{0,62}$"}}},
              {"labels", {{"type", "object"}}},
              {"max_uses", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100000}}},
              {"expires_in_hours", {{"type", "integer"}, {"minimum", 1}, {"maximum", 720}}}}}},
       .response_schema =
           [] {
             json s = kToken;
             s["properties"]["token"] = {{"type", "string"}, {"description", "shown once"}};
             s["properties"]["install_command"] = {{"type", "string"}};
             return s;
           }(),
       .success_status = 201,
       .handler =
           [&options](Call& call) {
             JsonBody body = call.body();
             body.only({"description", "site", "pool", "labels", "max_uses", "expires_in_hours"});
             const auto description = body.opt_string("description", 500, true).value_or("");
             auto site = body.opt_string("site", 200);
             const auto pool = body.opt_string("pool", 63).value_or("default");
             if (!is_pool(pool)) {
               throw ApiError::bad_request(
                   "'pool' must be 1-63 of a-z 0-9 _ . -, starting with a letter or digit", "pool");
             }
             const auto labels = labels_field(body).value_or("{}");
             const auto max_uses = body.opt_integer("max_uses", 1, 100'000).value_or(1);
             const auto hours = body.opt_integer("expires_in_hours", 1, 720).value_or(24);
             const std::string base = base_url(call, options);
             const NewRegistrationToken t = new_registration_token();
             call.audit_target("registration-token:" + t.token_id);
             call.audit_detail("max_uses", max_uses);
             call.audit_detail("expires_in_hours", hours);
             call.audit_detail("pool", pool);
             if (site) call.audit_detail("site", *site);
             json out;
             call.db().transact([&](pqxx::transaction_base& tx) {
               const auto id =
                   tx.exec_params1(
                         "INSERT INTO registration_tokens (token_id, token_hash, description, "
                         "site, "
                         "pool, labels, max_uses, expires_at, created_by) VALUES ($1, $2, $3, $4, "
                         "$5, "
                         "$6::jsonb, $7, now() + $8 * interval '1 hour', $9) RETURNING id",
                         t.token_id, t.hash, description, site, pool, labels, max_uses, hours,
                         call.who().name)[0]
                       .as<std::int64_t>();
               out = load_token(tx, id);
             });
             out["token"] = t.token;
             out["install_command"] = node_install_command(base, t.token);
             return Reply{.status = 201, .body = out};
           }});

  router.add(
      {.method = "GET",
       .path = "/api/nodes/registration-tokens",
       .tag = "nodes",
       .summary = "Registration tokens, newest first, with their state (active, expired, "
                  "used, revoked); never the token itself",
       .role = Role::kAdmin,
       .response_schema = {{"type", "object"},
                           {"properties",
                            {{"items", {{"type", "array"}, {"items", kToken}}},
                             {"total", {{"type", "integer"}}},
                             {"limit", {{"type", "integer"}}},
                             {"offset", {{"type", "integer"}}}}}},
       .query_parameters = {query_param("state", "string", "active, expired, used or revoked"),
                            query_param("limit", "integer", "1..1000 (default 100)"),
                            query_param("offset", "integer", "items to skip")},
       .handler = [](Call& call) {
         auto state = call.query("state", 20);
         if (state && *state != "active" && *state != "expired" && *state != "used" &&
             *state != "revoked") {
           throw ApiError::bad_request(
               "query parameter 'state' must be active, expired, used or revoked", "state");
         }
         const auto limit = call.query_int("limit", 100, 1, 1000);
         const auto offset = call.query_int("offset", 0, 0, 1'000'000'000);
         const std::string where = "WHERE ($1::text IS NULL OR " + kTokenState + " = $1) ";
         json page;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const auto total =
               tx.exec_params1("SELECT count(*) FROM registration_tokens t " + where, state)[0]
                   .as<std::int64_t>();
           json items = json::array();
           for (const auto& r :
                tx.exec_params(kTokenSelect + where + "ORDER BY t.id DESC LIMIT $2 OFFSET $3",
                               state, limit, offset))
             items.push_back(token_json(r));
           page = {
               {"items", std::move(items)}, {"total", total}, {"limit", limit}, {"offset", offset}};
         });
         return Reply{.body = page};
       }});

  router.add({.method = "DELETE",
              .path = "/api/nodes/registration-tokens/{id}",
              .tag = "nodes",
              .summary = "Revoke a registration token: no more registrations, installer or agent "
                         "downloads with it (nodes registered with it stay)",
              .role = Role::kAdmin,
              .response_schema = kToken,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                call.audit_target("registration-token:" + std::to_string(id));
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  tx.exec_params(
                      "UPDATE registration_tokens SET revoked_at = coalesce(revoked_at, now()) "
                      "WHERE id = $1",
                      id);
                  out = load_token(tx, id);
                });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "GET",
       .path = "/api/nodes/install-script",
       .tag = "nodes",
       .summary = "The bash installer of a new node for a registration token (public: the token "
                  "is the credential; 401 when it cannot be used; no use is spent). It downloads "
                  "the node-agent, registers the host and installs a systemd service.",
       .role = std::nullopt,
       .response_schema = {{"type", "string"}, {"description", "text/x-shellscript"}},
       .query_parameters = {query_param("token", "string", "the registration token")},
       .handler = [&options](Call& call) {
         const std::string token = token_query(call);
         call.db().transact([&](pqxx::transaction_base& tx) { check_token(call, tx, token); });
         return Reply{.raw = node_install_script(base_url(call, options), token),
                      .content_type = "text/x-shellscript; charset=utf-8"};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/nodes/agent-binary",
       .tag = "nodes",
       .summary = "The node-agent executable (nodes.agent_binary) for a registration token "
                  "(public: the token is the credential; 401 when it cannot be used; 404 when "
                  "this gateway has no agent to serve)",
       .role = std::nullopt,
       .response_schema = {{"type", "string"}, {"format", "binary"}},
       .query_parameters = {query_param("token", "string", "the registration token")},
       .handler = [&options](Call& call) {
         const std::string token = token_query(call);
         call.db().transact([&](pqxx::transaction_base& tx) { check_token(call, tx, token); });
         std::ifstream in(options.agent_binary, std::ios::binary);
         if (options.agent_binary.empty() || !in) {
           spdlog::warn("GET /api/nodes/agent-binary: no node-agent at '{}' (nodes.agent_binary)",
                        options.agent_binary);
           throw ApiError::not_found(
               "this gateway has no node-agent to serve (nodes.agent_binary)");
         }
         std::ostringstream bytes;
         bytes << in.rdbuf();
         std::string data = std::move(bytes).str();
         if (data.empty())
           throw ApiError::not_found(
               "this gateway's node-agent file is empty (nodes.agent_binary)");
         return Reply{.raw = std::move(data),
                      .content_type = "application/octet-stream",
                      .headers = {{"Content-Disposition", "attachment; filename=\"node-agent\""}}};
       }});
}

}  // namespace fleet::gateway
