// HiveOS accounts (issue 11, sql/0046_hiveos.sql): an API base URL and a personal token per
// account. The token is checked with HiveOS (GET /auth/check) before anything is stored, sealed at
// rest (secrets.key, context hiveos_token_context(id)) and never returned: lists show its last
// four characters only. Operators add and change accounts; turning exec (a remote shell on the
// rigs) on or off and deleting an account are for admins. hiveos-sync reads the accounts; the
// action-dispatcher's hiveos channel sends commands through them.
#include <pqxx/pqxx>

#include "core/strings.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

const std::string kAccountSelect =
    "SELECT a.id, a.name, a.base_url, a.token_hint, a.enabled, a.exec_enabled, "
    "a.requests_per_minute, a.burst, a.state, a.state_reason, " +
    iso_sql("a.state_since") + ", " + iso_sql("a.last_sync_at") + ", " +
    iso_sql("a.last_attempt_at") + ", " + iso_sql("a.blocked_until") +
    ", a.farms, a.workers, a.requests_total, a.created_by, " + iso_sql("a.created_at") + ", " +
    iso_sql("a.updated_at") + " FROM hiveos_accounts a ";

json account_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"name", r[1].as<std::string>()},
          {"base_url", r[2].as<std::string>()},
          {"token_hint", r[3].as<std::string>()},
          {"enabled", r[4].as<bool>()},
          {"exec_enabled", r[5].as<bool>()},
          {"requests_per_minute", r[6].as<double>()},
          {"burst", r[7].as<int>()},
          {"state", r[8].as<std::string>()},
          {"state_reason", r[9].as<std::string>()},
          {"state_since", r[10].as<std::string>()},
          {"last_sync_at", opt_text(r[11])},
          {"last_attempt_at", opt_text(r[12])},
          {"blocked_until", opt_text(r[13])},
          {"farms", r[14].as<int>()},
          {"workers", r[15].as<int>()},
          {"requests_total", r[16].as<std::int64_t>()},
          {"created_by", r[17].as<std::string>()},
          {"created_at", r[18].as<std::string>()},
          {"updated_at", r[19].as<std::string>()}};
}

const json kNullableString = {{"type", "string"}, {"nullable", true}};

const json kAccount = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"name", {{"type", "string"}}},
      {"base_url", {{"type", "string"}}},
      {"token_hint",
       {{"type", "string"}, {"description", "the token's last 4 characters (never the token)"}}},
      {"enabled", {{"type", "boolean"}}},
      {"exec_enabled", {{"type", "boolean"}}},
      {"requests_per_minute", {{"type", "number"}}},
      {"burst", {{"type", "integer"}}},
      {"state", {{"type", "string"}, {"enum", {"pending", "ok", "failing"}}}},
      {"state_reason", {{"type", "string"}}},
      {"state_since", {{"type", "string"}}},
      {"last_sync_at", kNullableString},
      {"last_attempt_at", kNullableString},
      {"blocked_until", kNullableString},
      {"farms", {{"type", "integer"}}},
      {"workers", {{"type", "integer"}}},
      {"requests_total", {{"type", "integer"}}},
      {"created_by", {{"type", "string"}}},
      {"created_at", {{"type", "string"}}},
      {"updated_at", {{"type", "string"}}}}}};

const json kAccountBody = {
    {"type", "object"},
    {"properties",
     {{"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$"}}},
      {"base_url",
       {{"type", "string"},
        {"description", "https://api2.hiveos.farm/api/v2 (http:// only with hiveos.allow_http)"}}},
      {"token",
       {{"type", "string"},
        {"description", "personal API token; checked with GET /auth/check, never shown again"}}},
      {"requests_per_minute", {{"type", "number"}, {"minimum", 0.01}, {"maximum", 6000}}},
      {"burst", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}},
      {"enabled", {{"type", "boolean"}}},
      {"exec_enabled", {{"type", "boolean"}, {"description", "admin only"}}}}}};

bool is_account_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s[0])) return false;
  for (char c : s) {
    if (!alnum(c) && c != ' ' && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

std::optional<std::string> opt_name(const JsonBody& body) {
  auto name = body.opt_string("name", 200);
  if (name && !is_account_name(*name)) {
    throw ApiError::bad_request(
        "'name' must be 1-64 letters, digits, spaces, '_', '.' or '-', starting with a letter or "
        "digit",
        "name");
  }
  return name;
}

// http(s)://host[:port][/path]: no credentials, query, fragment, spaces or control characters
// (what sql/0046 accepts, and nothing a URL parser could read two ways). A trailing '/' is
// dropped.
std::optional<std::string> opt_base_url(const JsonBody& body, bool allow_http) {
  auto url = body.opt_string("base_url", 500);
  if (!url) return url;
  while (!url->empty() && url->back() == '/')
    url->pop_back();
  const bool https = url->rfind("https://", 0) == 0;
  const bool http = url->rfind("http://", 0) == 0;
  if (!https && !http) {
    throw ApiError::bad_request(
        "'base_url' must start with https:// (e.g. "
        "https://api2.hiveos.farm/api/v2)",
        "base_url");
  }
  if (http && !allow_http) {
    throw ApiError::bad_request(
        "'base_url' must use https:// (http:// is accepted only when the gateway's "
        "hiveos.allow_http is on, e.g. for hiveos-sim)",
        "base_url");
  }
  const std::string rest = url->substr(https ? 8 : 7);
  const std::string host = rest.substr(0, rest.find('/'));
  if (host.empty()) throw ApiError::bad_request("'base_url' has no host", "base_url");
  for (char c : *url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == '?' || c == '#' || c == '\\' || c == '"' || c == '<' ||
        c == '>') {
      throw ApiError::bad_request(
          "'base_url' may not contain spaces, control or non-ASCII characters, a query (?) or a "
          "fragment (#)",
          "base_url");
    }
  }
  if (host.find('@') != std::string::npos) {
    throw ApiError::bad_request("'base_url' may not contain credentials (user@host)", "base_url");
  }
  return url;
}

// A personal token: printable ASCII without spaces (it goes into a header), 8..4096 characters.
std::optional<std::string> opt_token(const JsonBody& body) {
  auto token = body.opt_string("token", 4096);
  if (!token) return token;
  if (token->size() < 8) throw ApiError::bad_request("'token' is too short", "token");
  for (char c : *token) {
    if (c <= 32 || c >= 127) {
      throw ApiError::bad_request(
          "'token' must be printable ASCII without spaces (copy it from HiveOS's account page)",
          "token");
    }
  }
  return token;
}

std::string hint_of(const std::string& token) {
  return token.size() <= 4 ? std::string() : token.substr(token.size() - 4);
}

// GET /auth/check through `check`: returns when HiveOS accepts the token, else throws the API
// error the caller sees (never with the token in it).
void check_with_hiveos(const HiveosAccountOptions& options, const std::string& base_url,
                       const std::string& token, Call& call) {
  if (!options.check_token) {
    throw ApiError(503, "unavailable", "HiveOS tokens cannot be checked by this gateway");
  }
  auto answer = options.check_token(base_url, token);
  if (answer.index() == 0) {
    if (std::get<0>(answer)) return;
    throw ApiError::bad_request("HiveOS rejected the token", "token");
  }
  const hiveos::ApiError& e = std::get<1>(answer);
  call.audit_detail("hiveos_check", redact_secrets(e.message));
  if (e.kind == ErrorKind::kUnauthenticated || e.http_status == 401) {
    throw ApiError::bad_request("HiveOS rejected the token (401)", "token");
  }
  if (e.kind == ErrorKind::kResourceExhausted) {
    throw ApiError(503, "unavailable", "HiveOS is rate limiting this token: try again later")
        .with_retry_after(e.retry_after ? e.retry_after->count() : 30);
  }
  throw ApiError(502, "bad_gateway",
                 "HiveOS at " + base_url + " could not check the token: " +
                     sanitize_utf8(redact_secrets(e.message)).substr(0, 300),
                 "base_url");
}

json load_account(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(kAccountSelect + "WHERE a.id = $1", id);
  if (rows.empty())
    throw ApiError::not_found("HiveOS account " + std::to_string(id) + " not found");
  return account_json(rows[0]);
}

void check_name_free(pqxx::transaction_base& tx, const std::string& name, std::int64_t self) {
  if (!tx.exec_params("SELECT 1 FROM hiveos_accounts WHERE name = $1 AND id <> $2", name, self)
           .empty()) {
    throw ApiError::conflict("a HiveOS account named '" + name + "' exists already", "name");
  }
}

const secrets::SecretBox& box_or_503(const std::optional<secrets::SecretBox>& box) {
  if (!box) {
    throw ApiError(503, "unavailable",
                   "secrets.key (FLEET_SECRET_KEY) is not set: HiveOS tokens cannot be stored");
  }
  return *box;
}

}  // namespace

json hiveos_rig_of(pqxx::transaction_base& tx, std::int64_t worker_id) {
  auto rows = tx.exec_params(
      "SELECT r.account_id, a.name, r.hiveos_farm_id, r.hiveos_worker_id, r.platform, "
      "r.units_count, r.description, array_to_json(r.ip_addresses)::text, r.remote_ip, "
      "r.versions::text, "
      "r.gpus::text, r.boards::text, r.hardware::text, r.watchdog::text, r.hashrates::text, "
      "array_to_json(r.problems)::text, r.online, " +
          iso_sql("r.stats_time") + ", " + iso_sql("r.boot_time") + ", " +
          iso_sql("r.miner_start_time") + ", r.stale, " + iso_sql("r.synced_at") + ", " +
          iso_sql("r.removed_at") + ", a.state, a.state_reason, a.exec_enabled " +
          "FROM rigs r JOIN hiveos_accounts a ON a.id = r.account_id WHERE r.worker_id = $1",
      worker_id);
  if (rows.empty()) return nullptr;
  const auto& r = rows[0];
  auto parsed = [](const pqxx::field& f, json fallback) {
    if (f.is_null()) return fallback;
    json j = json::parse(f.as<std::string>(), nullptr, false);
    return j.is_discarded() ? fallback : j;
  };
  json out = {{"account_id", r[0].as<std::int64_t>()},
              {"account_name", r[1].as<std::string>()},
              {"account",
               {{"id", r[0].as<std::int64_t>()},
                {"name", r[1].as<std::string>()},
                {"state", r[23].as<std::string>()},
                {"state_reason", r[24].as<std::string>()},
                {"exec_enabled", r[25].as<bool>()}}},
              {"hiveos_farm_id", r[2].as<std::int64_t>()},
              {"hiveos_worker_id", r[3].as<std::int64_t>()},
              {"platform", r[4].as<int>()},
              {"units_count", opt_int(r[5])},
              {"description", r[6].as<std::string>()},
              {"ip_addresses", parsed(r[7], json::array())},
              {"remote_ip", opt_text(r[8])},
              {"versions", parsed(r[9], json::object())},
              {"gpus", parsed(r[10], json::array())},
              {"boards", parsed(r[11], json::array())},
              {"hardware", parsed(r[12], json::object())},
              {"watchdog", parsed(r[13], json::object())},
              {"hashrates", parsed(r[14], json::array())},
              {"problems", parsed(r[15], json::array())},
              {"online", r[16].is_null() ? json() : json(r[16].as<bool>())},
              {"stats_time", opt_text(r[17])},
              {"boot_time", opt_text(r[18])},
              {"miner_start_time", opt_text(r[19])},
              {"stale", r[20].as<bool>()},
              {"synced_at", r[21].as<std::string>()},
              {"removed_at", opt_text(r[22])}};
  return out;
}

void add_hiveos_routes(Router& router, const std::optional<secrets::SecretBox>& box,
                       HiveosAccountOptions options) {
  router.add(
      {.method = "GET",
       .path = "/api/hiveos/accounts",
       .tag = "hiveos",
       .summary = "HiveOS accounts with how their last sync went (state, state_reason, "
                  "last_sync_at, farms, workers); tokens are never shown (token_hint)",
       .response_schema = {{"type", "object"},
                           {"properties", {{"items", {{"type", "array"}, {"items", kAccount}}}}}},
       .handler = [](Call& call) {
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           items = json::array();
           for (const auto& r : tx.exec(kAccountSelect + "ORDER BY a.name"))
             items.push_back(account_json(r));
         });
         return Reply{.body = {{"items", items}}};
       }});

  router.add({.method = "GET",
              .path = "/api/hiveos/accounts/{id}",
              .tag = "hiveos",
              .summary = "One HiveOS account",
              .response_schema = kAccount,
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = load_account(tx, call.id()); });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/hiveos/accounts",
       .tag = "hiveos",
       .summary = "Add a HiveOS account (name, base_url, token, requests_per_minute, burst, "
                  "enabled). The token is checked with HiveOS first (GET /auth/check): a token "
                  "HiveOS rejects is a 400 naming 'token', an unreachable HiveOS a 502; nothing "
                  "is stored then. The token is sealed and never shown again.",
       .role = Role::kOperator,
       .request_schema =
           [] {
             json s = kAccountBody;
             s["required"] = {"name", "base_url", "token"};
             s["properties"].erase("exec_enabled");
             return s;
           }(),
       .response_schema = kAccount,
       .success_status = 201,
       .handler =
           [box, options](Call& call) {
             JsonBody body = call.body();
             body.only({"name", "base_url", "token", "requests_per_minute", "burst", "enabled",
                        "exec_enabled"});
             if (body.raw().contains("exec_enabled")) {
               throw ApiError::bad_request(
                   "'exec_enabled' is turned on by an admin with PATCH after the account exists",
                   "exec_enabled");
             }
             auto name = opt_name(body);
             if (!name) throw ApiError::bad_request("'name' is required", "name");
             auto base_url = opt_base_url(body, options.allow_http);
             if (!base_url) throw ApiError::bad_request("'base_url' is required", "base_url");
             auto token = opt_token(body);
             if (!token) throw ApiError::bad_request("'token' is required", "token");
             const double rpm = body.opt_number("requests_per_minute", 0.01, 6000).value_or(20);
             const auto burst = body.opt_integer("burst", 1, 1000).value_or(5);
             const bool enabled = body.opt_bool("enabled").value_or(true);
             call.audit_target("hiveos-account:" + *name);
             call.audit_detail("base_url", *base_url);
             call.audit_detail("requests_per_minute", rpm);
             call.audit_detail("burst", burst);
             const secrets::SecretBox& sealer = box_or_503(box);
             // Fail fast on a taken name, before asking HiveOS.
             call.db().transact([&](pqxx::transaction_base& tx) { check_name_free(tx, *name, 0); });
             check_with_hiveos(options, *base_url, *token, call);
             json out;
             call.db().transact([&](pqxx::transaction_base& tx) {
               check_name_free(tx, *name, 0);
               const auto id =
                   tx.exec_params1(
                         "INSERT INTO hiveos_accounts (name, base_url, token_enc, token_hint, "
                         "enabled, requests_per_minute, burst, created_by) VALUES ($1, $2, '', "
                         "$3, $4, $5, $6, $7) RETURNING id",
                         *name, *base_url, hint_of(*token), enabled, rpm, burst, call.who().name)[0]
                       .as<std::int64_t>();
               tx.exec_params("UPDATE hiveos_accounts SET token_enc = $2 WHERE id = $1", id,
                              sealer.seal(*token, secrets::hiveos_token_context(id)));
               out = load_account(tx, id);
             });
             call.audit_target("hiveos-account:" + std::to_string(out["id"].get<std::int64_t>()));
             return Reply{.status = 201, .body = out};
           }});

  router.add(
      {.method = "PATCH",
       .path = "/api/hiveos/accounts/{id}",
       .tag = "hiveos",
       .summary = "Change a HiveOS account (only the fields sent). A new token or base_url is "
                  "checked with HiveOS first and resets the account's state to pending. "
                  "exec_enabled (a remote shell on its rigs) is for admins only.",
       .role = Role::kOperator,
       .request_schema = kAccountBody,
       .response_schema = kAccount,
       .handler = [box, options](Call& call) {
         const std::int64_t id = call.id();
         JsonBody body = call.body();
         body.only({"name", "base_url", "token", "requests_per_minute", "burst", "enabled",
                    "exec_enabled"});
         auto name = opt_name(body);
         auto base_url = opt_base_url(body, options.allow_http);
         auto token = opt_token(body);
         auto rpm = body.opt_number("requests_per_minute", 0.01, 6000);
         auto burst = body.opt_integer("burst", 1, 1000);
         auto enabled = body.opt_bool("enabled");
         auto exec = body.opt_bool("exec_enabled");
         call.audit_target("hiveos-account:" + std::to_string(id));
         json changes = body.raw();
         if (changes.contains("token")) changes["token"] = "(new token)";
         call.audit_detail("changes", changes);
         if (exec && !auth::allows(call.who().role, Role::kAdmin)) {
           throw ApiError::forbidden(
               "only an admin may turn exec (a remote shell on the rigs) on or off");
         }
         std::string current_url, current_token_enc;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto cur =
               tx.exec_params("SELECT base_url, token_enc FROM hiveos_accounts WHERE id = $1", id);
           if (cur.empty())
             throw ApiError::not_found("HiveOS account " + std::to_string(id) + " not found");
           current_url = cur[0][0].as<std::string>();
           current_token_enc = cur[0][1].as<std::string>();
           if (name) check_name_free(tx, *name, id);
         });
         const bool recheck = token || (base_url && *base_url != current_url);
         std::optional<std::string> sealed;
         if (recheck) {
           const secrets::SecretBox& sealer = box_or_503(box);
           std::string check_token;
           if (token) {
             check_token = *token;
           } else {
             auto opened = sealer.open(current_token_enc, secrets::hiveos_token_context(id));
             if (!opened.ok()) {
               throw ApiError::unprocessable(
                   "the stored token does not open with this gateway's secrets.key: send "
                   "'token' with the new base_url",
                   "token");
             }
             check_token = std::move(*opened);
           }
           check_with_hiveos(options, base_url.value_or(current_url), check_token, call);
           if (token) sealed = sealer.seal(*token, secrets::hiveos_token_context(id));
         }
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (name) check_name_free(tx, *name, id);
           auto updated = tx.exec_params(
               "UPDATE hiveos_accounts SET name = coalesce($2, name), base_url = "
               "coalesce($3, base_url), token_enc = coalesce($4, token_enc), token_hint = "
               "coalesce($5, token_hint), requests_per_minute = coalesce($6, "
               "requests_per_minute), burst = coalesce($7, burst), enabled = coalesce($8, "
               "enabled), exec_enabled = coalesce($9, exec_enabled), "
               "state = CASE WHEN $10 THEN 'pending' ELSE state END, "
               "state_reason = CASE WHEN $10 THEN '' ELSE state_reason END, "
               "state_since = CASE WHEN $10 THEN now() ELSE state_since END, "
               "blocked_until = CASE WHEN $10 THEN NULL ELSE blocked_until END, "
               "consecutive_errors = CASE WHEN $10 THEN 0 ELSE consecutive_errors END "
               "WHERE id = $1 RETURNING 1",
               id, name, base_url, sealed,
               token ? std::optional<std::string>(hint_of(*token)) : std::nullopt, rpm, burst,
               enabled, exec, recheck);
           if (updated.empty())
             throw ApiError::not_found("HiveOS account " + std::to_string(id) + " not found");
           out = load_account(tx, id);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "DELETE",
       .path = "/api/hiveos/accounts/{id}",
       .tag = "hiveos",
       .summary = "Remove a HiveOS account: its rigs' HiveOS detail goes with it and their "
                  "workers become 'removed' (kept, with their history), in one transaction",
       .role = Role::kAdmin,
       .response_schema = {{"type", "object"},
                           {"properties",
                            {{"deleted", {{"type", "integer"}}},
                             {"workers_removed", {{"type", "integer"}}}}}},
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("hiveos-account:" + std::to_string(id));
         std::int64_t removed = 0;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto a = tx.exec_params("SELECT name FROM hiveos_accounts WHERE id = $1 FOR UPDATE", id);
           if (a.empty())
             throw ApiError::not_found("HiveOS account " + std::to_string(id) + " not found");
           call.audit_detail("name", a[0][0].as<std::string>());
           removed = static_cast<std::int64_t>(
               tx.exec_params("UPDATE workers SET status = 'removed' WHERE id IN (SELECT worker_id "
                              "FROM rigs WHERE account_id = $1) AND status <> 'removed'",
                              id)
                   .affected_rows());
           tx.exec_params("DELETE FROM hiveos_accounts WHERE id = $1", id);
         });
         call.audit_detail("workers_removed", removed);
         return Reply{.body = {{"deleted", id}, {"workers_removed", removed}}};
       }});
}

}  // namespace fleet::gateway
