// /api/auth (login, logout, me), /api/users and /api/keys.
#include <pqxx/pqxx>

#include "routes.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

json user_json(const auth::User& u) {
  json j = {{"id", u.id},
            {"username", u.username},
            {"role", std::string(auth::to_string(u.role))},
            {"disabled", u.disabled},
            {"created_at", u.created_at}};
  j["last_login_at"] = u.last_login_at ? json(*u.last_login_at) : json();
  return j;
}

json key_json(const auth::ApiKeyInfo& k) {
  json j = {{"id", k.id},
            {"user_id", k.user_id},
            {"owner", k.owner},
            {"name", k.name},
            {"key_id", k.key_id},
            {"role", std::string(auth::to_string(k.role))},
            {"created_at", k.created_at}};
  j["last_used_at"] = k.last_used_at ? json(*k.last_used_at) : json();
  j["expires_at"] = k.expires_at ? json(*k.expires_at) : json();
  j["revoked_at"] = k.revoked_at ? json(*k.revoked_at) : json();
  j["devices"] = k.devices.empty() ? json() : json(k.devices);
  return j;
}

// A user's role (admin, operator, viewer), or with `for_key` also an API key's (ingest).
Role role_field(const JsonBody& body, const char* field, bool for_key = false) {
  auto text = body.string(field, 16);
  auto role = auth::parse_role(text);
  if (!role || (*role == Role::kIngest && !for_key)) {
    throw ApiError::bad_request("'" + std::string(field) + "' must be admin, operator or viewer" +
                                    (for_key ? " or ingest" : ""),
                                field);
  }
  return *role;
}

// "devices": the device names or prefixes ("pump-*") an ingest key may write readings for.
std::vector<std::string> devices_field(const JsonBody& body) {
  std::vector<std::string> out;
  auto items = body.opt_array("devices");
  if (!items) return out;
  if (items->empty()) throw ApiError::bad_request("'devices' must not be empty", "devices");
  for (const auto& item : *items) {
    if (!item.is_string()) throw ApiError::bad_request("'devices' must hold strings", "devices");
    out.push_back(item.get<std::string>());
  }
  if (Status s = auth::check_device_scope(out); !s.ok())
    throw ApiError::bad_request(s.error().message(), "devices");
  return out;
}

// Maps a store error to the API.
[[noreturn]] void fail(const Error& e, const std::string& field = "") {
  switch (e.kind()) {
    case ErrorKind::kNotFound:
      throw ApiError::not_found(e.message());
    case ErrorKind::kAlreadyExists:
      throw ApiError::conflict(e.message(), field);
    case ErrorKind::kPermissionDenied:
      throw ApiError::forbidden(e.message());
    case ErrorKind::kUnauthenticated:
      throw ApiError::unauthenticated(e.message());
    default:
      throw ApiError::bad_request(e.message(), field);
  }
}

const json kUser = {{"type", "object"},
                    {"properties",
                     {{"id", {{"type", "integer"}}},
                      {"username", {{"type", "string"}}},
                      {"role", {{"type", "string"}, {"enum", {"admin", "operator", "viewer"}}}},
                      {"disabled", {{"type", "boolean"}}}}}};
const json kKey = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"name", {{"type", "string"}}},
      {"key_id", {{"type", "string"}}},
      {"role", {{"type", "string"}}},
      {"devices", {{"type", "array"}, {"items", {{"type", "string"}}}, {"nullable", true}}},
      {"expires_at", {{"type", "string"}, {"nullable", true}}},
      {"last_used_at", {{"type", "string"}, {"nullable", true}}}}}};

// User management changes who can log in: an API key (a bearer secret that may sit in a script or
// on a device) must not create a user it could then log in as, nor reset a password.
void require_session(const Call& call, const char* what) {
  if (call.who().key_row_id) {
    throw ApiError::forbidden(std::string(what) +
                              " needs an administrator's session, not an API key; log in");
  }
}

}  // namespace

void add_auth_routes(Router& router, Authenticator& authn) {
  router.add({.method = "POST",
              .path = "/api/auth/login",
              .tag = "auth",
              .summary = "Log in with a user name and password; returns a session token",
              .role = std::nullopt,
              .request_schema = {{"type", "object"},
                                 {"required", {"username", "password"}},
                                 {"properties",
                                  {{"username", {{"type", "string"}}},
                                   {"password", {{"type", "string"}}}}}},
              .response_schema = {{"type", "object"},
                                  {"properties",
                                   {{"token", {{"type", "string"}}},
                                    {"expires_at", {{"type", "integer"}}},
                                    {"user", kUser}}}},
              .handler = [&authn](Call& call) {
                JsonBody body = call.body();
                body.only({"username", "password"});
                auto result = authn.login(body.string("username", 64),
                                          body.string("password", 1024), call.client());
                return Reply{.body = {{"token", result.token},
                                      {"token_type", "Bearer"},
                                      {"expires_at", result.expires_at},
                                      {"user", user_json(result.user)}}};
              }});
  router.add({.method = "POST",
              .path = "/api/auth/logout",
              .tag = "auth",
              .summary = "Revoke the session token of this request",
              .success_status = 204,
              .handler = [&authn](Call& call) {
                authn.logout(call.who());
                return Reply{.status = 204};
              }});
  router.add({.method = "GET",
              .path = "/api/auth/me",
              .tag = "auth",
              .summary = "Who this request acts as",
              .response_schema = kUser,
              .handler = [](Call& call) {
                const Principal& p = call.who();
                return Reply{.body = {{"id", p.user_id},
                                      {"name", p.name},
                                      {"role", std::string(auth::to_string(p.role))},
                                      {"via", p.key_row_id ? "api_key" : "session"}}};
              }});

  // --- users (admin) ---
  router.add(
      {.method = "GET",
       .path = "/api/users",
       .tag = "users",
       .summary = "List users",
       .role = Role::kAdmin,
       .response_schema = {{"type", "object"},
                           {"properties", {{"items", {{"type", "array"}, {"items", kUser}}}}}},
       .handler = [](Call& call) {
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           for (const auto& u : auth::list_users(tx))
             items.push_back(user_json(u));
         });
         return Reply{.body = {{"items", items}}};
       }});
  router.add({.method = "POST",
              .path = "/api/users",
              .tag = "users",
              .summary = "Create a user",
              .role = Role::kAdmin,
              .request_schema = {{"type", "object"},
                                 {"required", {"username", "password", "role"}},
                                 {"properties",
                                  {{"username", {{"type", "string"}}},
                                   {"password", {{"type", "string"}}},
                                   {"role", {{"type", "string"}}}}}},
              .response_schema = kUser,
              .success_status = 201,
              .handler = [&authn](Call& call) {
                require_session(call, "managing users");
                JsonBody body = call.body();
                body.only({"username", "password", "role"});
                const std::string name = body.string("username", 64);
                const std::string password = body.string("password", 1024);
                const Role role = role_field(body, "role");
                auto created = call.db().transact([&](pqxx::transaction_base& tx) {
                  return auth::create_user(tx, name, password, role);
                });
                if (!created.ok())
                  fail(created.error(), created.error().kind() == ErrorKind::kAlreadyExists
                                            ? "username"
                                            : "password");
                call.audit_target("user:" + std::to_string(created->id));
                call.audit_detail("username", name);
                call.audit_detail("role", std::string(auth::to_string(role)));
                authn.forget_cached();
                return Reply{.status = 201, .body = user_json(*created)};
              }});
  router.add({.method = "PATCH",
              .path = "/api/users/{id}",
              .tag = "users",
              .summary = "Change a user's role, enable or disable it, or set its password",
              .role = Role::kAdmin,
              .request_schema = {{"type", "object"},
                                 {"properties",
                                  {{"role", {{"type", "string"}}},
                                   {"disabled", {{"type", "boolean"}}},
                                   {"password", {{"type", "string"}}}}}},
              .response_schema = kUser,
              .handler = [&authn](Call& call) {
                require_session(call, "managing users");
                const std::int64_t id = call.id();
                JsonBody body = call.body();
                body.only({"role", "disabled", "password"});
                std::optional<Role> role;
                if (body.has("role")) role = role_field(body, "role");
                auto disabled = body.opt_bool("disabled");
                auto password = body.opt_string("password", 1024);
                if (id == call.who().user_id &&
                    ((role && *role != Role::kAdmin) || disabled.value_or(false))) {
                  throw ApiError::conflict("you cannot demote or disable yourself");
                }
                call.audit_target("user:" + std::to_string(id));
                auto user = call.db().transact([&](pqxx::transaction_base& tx) {
                  if (!auth::find_user(tx, id))
                    throw ApiError::not_found("user " + std::to_string(id) + " not found");
                  if (role) {
                    if (Status s = auth::set_role(tx, id, *role); !s.ok()) fail(s.error());
                  }
                  if (disabled) {
                    if (Status s = auth::set_disabled(tx, id, *disabled); !s.ok()) fail(s.error());
                  }
                  if (password) {
                    if (Status s = auth::set_password(tx, id, *password); !s.ok())
                      fail(s.error(), "password");
                  }
                  return *auth::find_user(tx, id);
                });
                if (role) call.audit_detail("role", std::string(auth::to_string(*role)));
                if (disabled) call.audit_detail("disabled", *disabled);
                if (password) call.audit_detail("password", "changed");
                authn.forget_cached();
                return Reply{.body = user_json(user)};
              }});
  router.add({.method = "DELETE",
              .path = "/api/users/{id}",
              .tag = "users",
              .summary = "Delete a user and its keys",
              .role = Role::kAdmin,
              .success_status = 204,
              .handler = [&authn](Call& call) {
                require_session(call, "managing users");
                const std::int64_t id = call.id();
                if (id == call.who().user_id)
                  throw ApiError::conflict("you cannot delete yourself");
                call.audit_target("user:" + std::to_string(id));
                call.db().transact([&](pqxx::transaction_base& tx) {
                  if (Status s = auth::delete_user(tx, id); !s.ok()) fail(s.error());
                });
                authn.forget_cached();
                return Reply{.status = 204};
              }});

  // --- API keys: everyone manages their own; admins see and revoke all ---
  router.add(
      {.method = "GET",
       .path = "/api/keys",
       .tag = "keys",
       .summary = "List API keys (yours; every key for admins)",
       .response_schema = {{"type", "object"},
                           {"properties", {{"items", {{"type", "array"}, {"items", kKey}}}}}},
       .handler = [](Call& call) {
         std::optional<std::int64_t> owner;
         if (call.who().role != Role::kAdmin) owner = call.who().user_id;
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           for (const auto& k : auth::list_api_keys(tx, owner))
             items.push_back(key_json(k));
         });
         return Reply{.body = {{"items", items}}};
       }});
  router.add(
      {.method = "POST",
       .path = "/api/keys",
       .tag = "keys",
       .summary = "Create an API key for yourself; the key is shown only in this response. "
                  "It expires after expires_in_days (default gateway.api_key_default_days, "
                  "at most gateway.api_key_max_days). An ingest key may only push "
                  "readings, with devices only for those devices (names, or prefixes "
                  "ending in *)",
       .request_schema = {{"type", "object"},
                          {"required", {"name"}},
                          {"properties",
                           {{"name", {{"type", "string"}}},
                            {"role", {{"type", "string"}}},
                            {"expires_in_days", {{"type", "integer"}}},
                            {"devices", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}},
       .response_schema = kKey,
       .success_status = 201,
       .handler = [&authn](Call& call) {
         if (call.who().key_row_id)
           throw ApiError::forbidden("API keys cannot create API keys; log in");
         JsonBody body = call.body();
         body.only({"name", "role", "expires_in_days", "devices"});
         const std::string name = body.string("name", 100);
         const Role role = body.has("role") ? role_field(body, "role", true) : call.who().role;
         const std::vector<std::string> devices = devices_field(body);
         if (!devices.empty() && role != Role::kIngest) {
           throw ApiError::bad_request("only ingest keys are limited to devices", "devices");
         }
         // Every key expires: a default when none is asked, never beyond the maximum.
         const AuthOptions& o = authn.options();
         const std::int64_t days = body.opt_integer("expires_in_days", 1, o.api_key_max_days)
                                       .value_or(o.api_key_default_days);
         auto created = call.db().transact([&](pqxx::transaction_base& tx) {
           return auth::create_api_key(tx, call.who().user_id, name, role, days, devices);
         });
         if (!created.ok()) fail(created.error(), "role");
         call.audit_target("api_key:" + std::to_string(created->info.id));
         call.audit_detail("name", name);
         call.audit_detail("role", std::string(auth::to_string(role)));
         if (!devices.empty()) call.audit_detail("devices", devices);
         json out = key_json(created->info);
         out["key"] = created->key;
         return Reply{.status = 201, .body = out};
       }});
  router.add({.method = "DELETE",
              .path = "/api/keys/{id}",
              .tag = "keys",
              .summary = "Revoke an API key",
              .success_status = 204,
              .handler = [&authn](Call& call) {
                const std::int64_t id = call.id();
                std::optional<std::int64_t> owner;
                if (call.who().role != Role::kAdmin) owner = call.who().user_id;
                call.audit_target("api_key:" + std::to_string(id));
                call.db().transact([&](pqxx::transaction_base& tx) {
                  if (Status s = auth::revoke_api_key(tx, id, owner); !s.ok()) fail(s.error());
                });
                authn.forget_cached();
                return Reply{.status = 204};
              }});
}

}  // namespace fleet::gateway
