// Who is calling: a session token (Authorization: Bearer <JWT>), an API key (X-API-Key, or
// Authorization: Bearer fwk_...) or a container host node's credential (Authorization: Bearer
// fwn_..., role "node" scoped to its own worker id; see node_credential_cache.h). Logins are
// throttled per client address and per user name, counted in the database so every gateway replica
// sees the same failures.
//
// Thread-safe. Verified credentials are cached for a few seconds, so revoking a key, disabling a
// user or logging out takes effect on other replicas within `cache_ttl`. Node credentials are
// cached longer but dropped at once on revocation or rotation (forget_node() here, NOTIFY
// fleet_node_credentials on every replica).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <semaphore>
#include <string>

#include "auth/user_store.h"
#include "db_pool.h"
#include "http/server.h"
#include "node_credential_cache.h"
#include "router.h"

namespace fleet::gateway {

struct AuthOptions {
  std::string token_secret;                                       // shared by every replica
  std::chrono::seconds token_ttl{std::chrono::hours(12)};         // session lifetime
  int max_failures = 10;                                          // per client address...
  std::chrono::seconds failure_window{std::chrono::minutes(15)};  // ...within this window
  // Past max_failures for one user name (from any address) logins are slowed, not refused: one
  // attempt per this interval, so nobody can lock an account out by failing on purpose.
  std::chrono::milliseconds user_slowdown{2'000};
  // Password hashes at once (each Argon2id check takes 64 MiB); the rest wait up to
  // hash_wait, then get 503.
  int login_concurrency = 2;
  std::chrono::milliseconds hash_wait{10'000};
  // API keys always expire: after this many days unless asked otherwise, never after the max.
  std::int64_t api_key_default_days = 90;
  std::int64_t api_key_max_days = 365;
  std::chrono::seconds cache_ttl{5};
  // Node credentials: invalidated by NOTIFY, so this only bounds a lost notification.
  std::chrono::seconds node_cache_ttl{60};
};

struct LoginResult {
  std::string token;
  std::int64_t expires_at = 0;
  auth::User user;
};

class Authenticator {
 public:
  Authenticator(DbPool& pool, AuthOptions options);

  // Throws ApiError 401 when the request carries no valid credentials.
  Principal authenticate(const http::Request& request);
  // Throws ApiError 401 on bad credentials, 429 (with retry_after) when throttled.
  LoginResult login(const std::string& username, const std::string& password,
                    const std::string& client);
  const AuthOptions& options() const { return options_; }
  // Revokes the caller's session token (no-op for API keys).
  void logout(const Principal& who);
  // Drops cached verifications (after a user or key changed on this replica).
  void forget_cached();
  // Drops a node's cached credential (after its credential changed or was revoked; also on
  // NOTIFY fleet_node_credentials). forget_nodes(): every node's (after the listener reconnects).
  void forget_node(std::int64_t worker_id) { nodes_.forget(worker_id); }
  void forget_nodes() { nodes_.forget_all(); }
  // Deletes expired revocations and old login failures.
  void housekeeping(pqxx::transaction_base& tx);

 private:
  Principal from_token(const std::string& token);
  Principal from_key(const std::string& key);
  Principal from_node(const std::string& credential);
  // An audit row for a refused login (a failure to write it is logged, not fatal).
  void audit_login(const std::string& name, std::optional<std::int64_t> user_id, int status,
                   const std::string& client);

  DbPool& pool_;
  const AuthOptions options_;
  std::counting_semaphore<> hash_slots_;
  std::mutex mu_;
  struct Cached {
    Principal principal;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::string, Cached> cache_;  // credential hash -> principal; guarded by mu_
  NodeCredentialCache nodes_;
};

}  // namespace fleet::gateway
