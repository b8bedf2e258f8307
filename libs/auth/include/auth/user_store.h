// Users and API keys in PostgreSQL: the operations shared by `fleetctl users|keys` and the
// api-gateway. Every function runs in the caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "auth/credentials.h"
#include "core/result.h"

namespace fleet::auth {

struct User {
  std::int64_t id = 0;
  std::string username;
  Role role = Role::kViewer;
  bool disabled = false;
  std::string created_at;
  std::optional<std::string> last_login_at;
};

struct ApiKeyInfo {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string owner;
  std::string name;
  std::string key_id;
  Role role = Role::kViewer;
  std::string created_at;
  std::optional<std::string> last_used_at;
  std::optional<std::string> expires_at;
  std::optional<std::string> revoked_at;
  std::vector<std::string> devices;  // an ingest key's device scope; empty: every device
};

// Validates the name (^[A-Za-z0-9._@-]{1,64}$) and password policy. kAlreadyExists when taken.
// kInvalid for Role::kIngest (a role for API keys only), here and in set_role().
Result<User> create_user(pqxx::transaction_base& tx, const std::string& username,
                         const std::string& password, Role role);
std::vector<User> list_users(pqxx::transaction_base& tx);
std::optional<User> find_user(pqxx::transaction_base& tx, std::int64_t id);
std::optional<User> find_user(pqxx::transaction_base& tx, const std::string& username);
Status set_role(pqxx::transaction_base& tx, std::int64_t id, Role role);
Status set_disabled(pqxx::transaction_base& tx, std::int64_t id, bool disabled);
// Also revokes every API key of the user (a key minted with a stolen session must not survive the
// change that locks the thief out).
Status set_password(pqxx::transaction_base& tx, std::int64_t id, const std::string& password);
Status delete_user(pqxx::transaction_base& tx, std::int64_t id);

// A login in three steps, so the deliberately slow hash runs outside any transaction:
// find_login() reads the user a login names (nullopt when none), password_matches() checks the
// password without the database (against a decoy hash when there is no such user, so a missing
// name takes as long as a wrong password; a disabled user never matches), record_login() records
// the time and stores a rehash when the old hash used weaker parameters.
struct LoginCandidate {
  User user;
  std::string password_hash;
};
std::optional<LoginCandidate> find_login(pqxx::transaction_base& tx, const std::string& username);
bool password_matches(const std::optional<LoginCandidate>& candidate, std::string_view password);
void record_login(pqxx::transaction_base& tx, std::int64_t user_id,
                  const std::optional<std::string>& new_hash);

struct CreatedKey {
  ApiKeyInfo info;
  std::string key;  // the secret, shown once
};
// `role` may not exceed the owner's role (kPermissionDenied; an ingest key needs an operator or
// admin owner). `devices` (see check_device_scope) limits an ingest key to those devices; other
// roles take no scope (kInvalid).
Result<CreatedKey> create_api_key(pqxx::transaction_base& tx, std::int64_t user_id,
                                  const std::string& name, Role role,
                                  std::optional<std::int64_t> expires_in_days,
                                  const std::vector<std::string>& devices = {});
std::vector<ApiKeyInfo> list_api_keys(pqxx::transaction_base& tx,
                                      std::optional<std::int64_t> user_id);
// kNotFound when no such unrevoked key (of that user, when given).
Status revoke_api_key(pqxx::transaction_base& tx, std::int64_t key_row_id,
                      std::optional<std::int64_t> user_id);

// Who a presented key acts as: enabled owner, unrevoked, unexpired; the effective role is the
// lower of the key's and the owner's. An ingest key whose owner may no longer push readings is
// refused (kUnauthenticated) rather than lowered to its owner's role. Updates last_used_at at
// most once a minute.
struct KeyPrincipal {
  std::int64_t key_row_id = 0;
  std::string key_id;
  User owner;
  Role role = Role::kViewer;
  std::vector<std::string> devices;  // ingest keys: the devices it may write; empty: every one
};
Result<KeyPrincipal> check_api_key(pqxx::transaction_base& tx, const std::string& presented);

// Appends to audit_log.
void audit(pqxx::transaction_base& tx, const std::string& actor,
           std::optional<std::int64_t> user_id, std::optional<std::int64_t> key_row_id,
           const std::string& action, const std::string& target, int status,
           const std::string& client, const std::string& details_json);

}  // namespace fleet::auth
