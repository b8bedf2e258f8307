#include "auth/user_store.h"

#include <algorithm>
#include <regex>

#include <pqxx/pqxx>

namespace fleet::auth {
namespace {

// The columns user_from() reads, qualified by the table alias `u`.
constexpr const char* kUserColumns =
    "u.id, u.username, u.role, u.disabled, to_char(u.created_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), to_char(u.last_login_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

User user_from(const pqxx::row& r) {
  User u;
  u.id = r[0].as<std::int64_t>();
  u.username = r[1].as<std::string>();
  u.role = parse_role(r[2].as<std::string>()).value_or(Role::kViewer);
  u.disabled = r[3].as<bool>();
  u.created_at = r[4].as<std::string>();
  if (!r[5].is_null()) u.last_login_at = r[5].as<std::string>();
  return u;
}

constexpr const char* kKeyColumns = R"sql(
k.id, k.user_id, u.username, k.name, k.key_id, k.role,
to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
to_char(k.last_used_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
to_char(k.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
to_char(k.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
array_to_string(k.devices, E'\n')
)sql";

// Device scopes travel as newline-joined text (entries hold no control characters).
std::vector<std::string> split_lines(const pqxx::field& f) {
  std::vector<std::string> out;
  if (f.is_null()) return out;
  const std::string text = f.as<std::string>();
  for (std::size_t start = 0; start <= text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Status check_user_role(Role role) {
  if (role == Role::kIngest) return Error::invalid("role 'ingest' is for API keys only, not users");
  return Status::success();
}

ApiKeyInfo key_from(const pqxx::row& r) {
  ApiKeyInfo k;
  k.id = r[0].as<std::int64_t>();
  k.user_id = r[1].as<std::int64_t>();
  k.owner = r[2].as<std::string>();
  k.name = r[3].as<std::string>();
  k.key_id = r[4].as<std::string>();
  k.role = parse_role(r[5].as<std::string>()).value_or(Role::kViewer);
  k.created_at = r[6].as<std::string>();
  if (!r[7].is_null()) k.last_used_at = r[7].as<std::string>();
  if (!r[8].is_null()) k.expires_at = r[8].as<std::string>();
  if (!r[9].is_null()) k.revoked_at = r[9].as<std::string>();
  k.devices = split_lines(r[10]);
  return k;
}

Status expect_one(const pqxx::result& r, const std::string& what) {
  if (r.affected_rows() == 0) return Error::not_found(what + " not found");
  return Status::success();
}

// A well-formed Argon2id hash of a random password: checked when the user does not exist, so a
// missing name takes as long as a wrong password.
const std::string& decoy_hash() {
  static const std::string hash = *hash_password(random_token(24));
  return hash;
}

}  // namespace

Result<User> create_user(pqxx::transaction_base& tx, const std::string& username,
                         const std::string& password, Role role) {
  static const std::regex name_pattern("^[A-Za-z0-9._@-]{1,64}$");
  if (!std::regex_match(username, name_pattern)) {
    return Error::invalid("user name must be 1-64 letters, digits or . _ @ -");
  }
  if (Status s = check_user_role(role); !s.ok()) return s.error();
  if (find_user(tx, username))
    return Error(ErrorKind::kAlreadyExists, "user '" + username + "' exists");
  auto hash = hash_password(password);
  if (!hash.ok()) return hash.error();
  auto r = tx.exec_params1(
      std::string("INSERT INTO users AS u (username, password_hash, role) VALUES ($1, $2, $3) "
                  "RETURNING ") +
          kUserColumns,
      username, *hash, std::string(to_string(role)));
  return user_from(r);
}

std::vector<User> list_users(pqxx::transaction_base& tx) {
  std::vector<User> out;
  for (const auto& r :
       tx.exec(std::string("SELECT ") + kUserColumns + " FROM users u ORDER BY u.id")) {
    out.push_back(user_from(r));
  }
  return out;
}

std::optional<User> find_user(pqxx::transaction_base& tx, std::int64_t id) {
  auto r =
      tx.exec_params(std::string("SELECT ") + kUserColumns + " FROM users u WHERE u.id = $1", id);
  if (r.empty()) return std::nullopt;
  return user_from(r[0]);
}

std::optional<User> find_user(pqxx::transaction_base& tx, const std::string& username) {
  auto r = tx.exec_params(
      std::string("SELECT ") + kUserColumns + " FROM users u WHERE u.username = $1", username);
  if (r.empty()) return std::nullopt;
  return user_from(r[0]);
}

Status set_role(pqxx::transaction_base& tx, std::int64_t id, Role role) {
  if (Status s = check_user_role(role); !s.ok()) return s;
  return expect_one(
      tx.exec_params("UPDATE users SET role = $2 WHERE id = $1", id, std::string(to_string(role))),
      "user " + std::to_string(id));
}

Status set_disabled(pqxx::transaction_base& tx, std::int64_t id, bool disabled) {
  return expect_one(tx.exec_params("UPDATE users SET disabled = $2 WHERE id = $1", id, disabled),
                    "user " + std::to_string(id));
}

Status set_password(pqxx::transaction_base& tx, std::int64_t id, const std::string& password) {
  auto hash = hash_password(password);
  if (!hash.ok()) return hash.error();
  Status changed =
      expect_one(tx.exec_params("UPDATE users SET password_hash = $2, password_changed_at = now() "
                                "WHERE id = $1",
                                id, *hash),
                 "user " + std::to_string(id));
  if (!changed.ok()) return changed;
  // A key minted with a stolen session must not outlive the password change that locks the
  // thief out (issue 16.6): the user's keys are revoked with it.
  tx.exec_params("UPDATE api_keys SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
                 id);
  return changed;
}

Status delete_user(pqxx::transaction_base& tx, std::int64_t id) {
  return expect_one(tx.exec_params("DELETE FROM users WHERE id = $1", id),
                    "user " + std::to_string(id));
}

std::optional<LoginCandidate> find_login(pqxx::transaction_base& tx, const std::string& username) {
  if (username.size() > 64) return std::nullopt;
  auto r = tx.exec_params(std::string("SELECT ") + kUserColumns +
                              ", u.password_hash FROM users u WHERE u.username = $1",
                          username);
  if (r.empty()) return std::nullopt;
  return LoginCandidate{user_from(r[0]), r[0][6].as<std::string>()};
}

bool password_matches(const std::optional<LoginCandidate>& candidate, std::string_view password) {
  if (password.size() > 1024) return false;
  if (!candidate) {
    verify_password(decoy_hash(), password);  // a missing name takes as long as a wrong password
    return false;
  }
  return verify_password(candidate->password_hash, password) && !candidate->user.disabled;
}

void record_login(pqxx::transaction_base& tx, std::int64_t user_id,
                  const std::optional<std::string>& new_hash) {
  if (new_hash) {
    tx.exec_params("UPDATE users SET last_login_at = now(), password_hash = $2 WHERE id = $1",
                   user_id, *new_hash);
  } else {
    tx.exec_params("UPDATE users SET last_login_at = now() WHERE id = $1", user_id);
  }
}

Result<CreatedKey> create_api_key(pqxx::transaction_base& tx, std::int64_t user_id,
                                  const std::string& name, Role role,
                                  std::optional<std::int64_t> expires_in_days,
                                  const std::vector<std::string>& devices) {
  auto owner = find_user(tx, user_id);
  if (!owner) return Error::not_found("user " + std::to_string(user_id) + " not found");
  if (!allows(owner->role, role)) {
    return Error(ErrorKind::kPermissionDenied, "a key cannot have a higher role than its owner (" +
                                                   std::string(to_string(owner->role)) + ")");
  }
  if (name.empty() || name.size() > 100)
    return Error::invalid("key name must have 1-100 characters");
  if (expires_in_days && (*expires_in_days < 1 || *expires_in_days > 3650)) {
    return Error::invalid("expires_in_days must be 1..3650");
  }
  if (!devices.empty() && role != Role::kIngest)
    return Error::invalid("only ingest keys are limited to devices");
  if (Status s = check_device_scope(devices); !s.ok()) return s.error();
  std::string scope;
  for (const auto& d : devices)
    scope += (scope.empty() ? "" : "\n") + d;
  NewApiKey fresh = generate_api_key();
  auto r = tx.exec_params1(
      std::string("WITH k AS (INSERT INTO api_keys (user_id, name, key_id, key_hash, role, "
                  "expires_at, devices) VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 day', "
                  "string_to_array(NULLIF($7, ''), E'\\n')) RETURNING *) SELECT ") +
          kKeyColumns + " FROM k JOIN users u ON u.id = k.user_id",
      user_id, name, fresh.key_id, fresh.hash, std::string(to_string(role)), expires_in_days,
      scope);
  return CreatedKey{key_from(r), fresh.key};
}

std::vector<ApiKeyInfo> list_api_keys(pqxx::transaction_base& tx,
                                      std::optional<std::int64_t> user_id) {
  std::vector<ApiKeyInfo> out;
  for (const auto& r :
       tx.exec_params(std::string("SELECT ") + kKeyColumns +
                          " FROM api_keys k JOIN users u ON u.id = k.user_id "
                          "WHERE $1::bigint IS NULL OR k.user_id = $1 ORDER BY k.id",
                      user_id)) {
    out.push_back(key_from(r));
  }
  return out;
}

Status revoke_api_key(pqxx::transaction_base& tx, std::int64_t key_row_id,
                      std::optional<std::int64_t> user_id) {
  return expect_one(tx.exec_params("UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND "
                                   "revoked_at IS NULL AND ($2::bigint IS NULL OR user_id = $2)",
                                   key_row_id, user_id),
                    "API key " + std::to_string(key_row_id));
}

Result<KeyPrincipal> check_api_key(pqxx::transaction_base& tx, const std::string& presented) {
  const Error denied(ErrorKind::kUnauthenticated, "invalid API key");
  auto key_id = api_key_id(presented);
  if (!key_id) return denied;
  auto r = tx.exec_params(
      std::string("SELECT k.id, k.key_hash, k.role, k.revoked_at IS NOT NULL, "
                  "k.expires_at IS NOT NULL AND k.expires_at <= now(), "
                  "k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute', ") +
          kUserColumns +
          ", array_to_string(k.devices, E'\\n') FROM api_keys k JOIN users u ON u.id = k.user_id "
          "WHERE k.key_id = $1",
      *key_id);
  if (r.empty() || !hashes_equal(r[0][1].as<std::string>(), api_key_hash(presented))) return denied;
  if (r[0][3].as<bool>()) return Error(ErrorKind::kUnauthenticated, "API key revoked");
  if (r[0][4].as<bool>()) return Error(ErrorKind::kUnauthenticated, "API key expired");
  KeyPrincipal p;
  p.key_row_id = r[0][0].as<std::int64_t>();
  p.key_id = *key_id;
  pqxx::row owner_row = r[0];
  User owner;
  owner.id = owner_row[6].as<std::int64_t>();
  owner.username = owner_row[7].as<std::string>();
  owner.role = parse_role(owner_row[8].as<std::string>()).value_or(Role::kViewer);
  owner.disabled = owner_row[9].as<bool>();
  if (owner.disabled) return Error(ErrorKind::kUnauthenticated, "the key's owner is disabled");
  p.owner = owner;
  Role key_role = parse_role(r[0][2].as<std::string>()).value_or(Role::kViewer);
  if (key_role == Role::kIngest && !allows(owner.role, key_role)) {
    // Lowering it to its owner's role would let a device key read the fleet.
    return Error(ErrorKind::kUnauthenticated, "the ingest key's owner may no longer push readings");
  }
  p.role = allows(owner.role, key_role) ? key_role : owner.role;
  p.devices = split_lines(r[0][12]);
  if (r[0][5].as<bool>())
    tx.exec_params("UPDATE api_keys SET last_used_at = now() WHERE id = $1", p.key_row_id);
  return p;
}

void audit(pqxx::transaction_base& tx, const std::string& actor,
           std::optional<std::int64_t> user_id, std::optional<std::int64_t> key_row_id,
           const std::string& action, const std::string& target, int status,
           const std::string& client, const std::string& details_json) {
  tx.exec_params(
      "INSERT INTO audit_log (actor, actor_user_id, actor_key_id, action, target, status, "
      "client, details) VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, NULLIF($7, ''), $8::jsonb)",
      actor, user_id, key_row_id, action, target, status, client, details_json);
}

}  // namespace fleet::auth
