// Users (admin) and API keys.
#include "client/client.h"
#include "parse.h"
#include "session.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;

std::string id_path(const char* base, std::int64_t id) {
  return std::string(base) + "/" + std::to_string(id);
}

}  // namespace

std::vector<User> UsersApi::list() {
  return parse::page<User>(s_.call("GET", "/api/users"), parse::user).items;
}

User UsersApi::create(const std::string& username, const std::string& password,
                      const std::string& role) {
  json body = {{"username", username}, {"password", password}, {"role", role}};
  return parse::user(s_.call("POST", "/api/users", &body));
}

User UsersApi::set_role(std::int64_t id, const std::string& role) {
  json body = {{"role", role}};
  return parse::user(s_.call("PATCH", id_path("/api/users", id), &body));
}

User UsersApi::set_disabled(std::int64_t id, bool disabled) {
  json body = {{"disabled", disabled}};
  return parse::user(s_.call("PATCH", id_path("/api/users", id), &body));
}

void UsersApi::remove(std::int64_t id) {
  s_.call("DELETE", id_path("/api/users", id));
}

std::vector<ApiKey> KeysApi::list() {
  return parse::page<ApiKey>(s_.call("GET", "/api/keys"), parse::api_key).items;
}

ApiKey KeysApi::create(const std::string& name, const std::optional<std::string>& role,
                       std::optional<int> expires_in_days) {
  json body = {{"name", name}};
  if (role) body["role"] = *role;
  if (expires_in_days) body["expires_in_days"] = *expires_in_days;
  return parse::api_key(s_.call("POST", "/api/keys", &body));
}

void KeysApi::revoke(std::int64_t id) {
  s_.call("DELETE", id_path("/api/keys", id));
}

}  // namespace fleet::client
