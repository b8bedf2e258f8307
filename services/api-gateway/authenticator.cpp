#include "authenticator.h"

#include <pqxx/pqxx>

#include "core/strings.h"

#include <spdlog/spdlog.h>

namespace fleet::gateway {
namespace {

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kTokenState = R"sql(
SELECT u.username, u.role, u.disabled,
       floor(extract(epoch FROM u.password_changed_at) * 1000)::bigint,
       EXISTS (SELECT 1 FROM revoked_tokens WHERE token_id = $2)
  FROM users u WHERE u.id = $1
)sql";

// Failures in the window: from this client, for this user name, when the client's oldest one
// leaves the window (s), and how long ago the user name's latest one was (ms).
constexpr const char* kFailures = R"sql(
SELECT count(*) FILTER (WHERE client = $1),
       count(*) FILTER (WHERE username = $2),
       extract(epoch FROM min(at) FILTER (WHERE client = $1) + $3 * interval '1 second'
                          - now())::bigint,
       floor(extract(epoch FROM now() - max(at) FILTER (WHERE username = $2)) * 1000)::bigint
  FROM auth_failures
 WHERE at > now() - $3 * interval '1 second' AND (client = $1 OR username = $2)
)sql";

constexpr const char* kNodeCredential = R"sql(
SELECT credential_hash, previous_credential_hash,
       floor(extract(epoch FROM previous_valid_until) * 1000)::bigint,
       credential_revoked_at IS NOT NULL
  FROM nodes WHERE worker_id = $1
)sql";

}  // namespace

Authenticator::Authenticator(DbPool& pool, AuthOptions options)
    : pool_(pool),
      options_(std::move(options)),
      hash_slots_(std::max<std::ptrdiff_t>(1, options_.login_concurrency)),
      nodes_(
          [this](std::int64_t worker_id) -> std::optional<NodeCredentialState> {
            auto lease = pool_.acquire();
            auto rows = lease->transact([&](pqxx::transaction_base& tx) {
              return tx.exec_params(kNodeCredential, worker_id);
            });
            if (rows.empty()) return std::nullopt;
            NodeCredentialState s;
            s.hash = rows[0][0].as<std::string>();
            if (!rows[0][1].is_null()) s.previous_hash = rows[0][1].as<std::string>();
            if (!rows[0][2].is_null()) {
              s.previous_valid_until =
                  Clock::WallTime(std::chrono::milliseconds(rows[0][2].as<std::int64_t>()));
            }
            s.revoked = rows[0][3].as<bool>();
            return s;
          },
          Clock::real(), options_.node_cache_ttl) {}

void Authenticator::forget_cached() {
  std::lock_guard lock(mu_);
  cache_.clear();
}

Principal Authenticator::authenticate(const http::Request& request) {
  std::string credential;
  if (request.has_header("X-API-Key")) {
    credential = request.get_header_value("X-API-Key");
  } else if (request.has_header("Authorization")) {
    const std::string value = request.get_header_value("Authorization");
    if (value.size() < 8 || to_lower(value.substr(0, 7)) != "bearer ") {
      throw ApiError::unauthenticated("use 'Authorization: Bearer <token>' or 'X-API-Key: <key>'");
    }
    credential = std::string(trim(value.substr(7)));
  } else {
    throw ApiError::unauthenticated("authentication required: log in or send an API key");
  }
  if (credential.empty() || credential.size() > 4096)
    throw ApiError::unauthenticated("invalid credentials");
  // Node credentials have their own cache, dropped at once on revocation (not the TTL one below).
  if (credential.rfind("fwn_", 0) == 0) return from_node(credential);

  const std::string cache_key = auth::api_key_hash(credential);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(cache_key); it != cache_.end() && it->second.until > now) {
      return it->second.principal;
    }
  }
  Principal p = auth::api_key_id(credential) ? from_key(credential) : from_token(credential);
  std::lock_guard lock(mu_);
  if (cache_.size() > 50'000) cache_.clear();
  cache_[cache_key] = {p, now + options_.cache_ttl};
  return p;
}

Principal Authenticator::from_token(const std::string& token) {
  auto claims = auth::verify_token(token, options_.token_secret, unix_now());
  if (!claims.ok()) throw ApiError::unauthenticated(claims.error().message());
  auto lease = pool_.acquire();
  auto row = lease->transact([&](pqxx::transaction_base& tx) {
    return tx.exec_params(kTokenState, claims->user_id, claims->token_id);
  });
  if (row.empty()) throw ApiError::unauthenticated("the token's user no longer exists");
  if (row[0][2].as<bool>()) throw ApiError::unauthenticated("user disabled");
  if (row[0][4].as<bool>()) throw ApiError::unauthenticated("token revoked (logged out)");
  // Milliseconds: with seconds, a token issued earlier in the second of a password change
  // survived it (issue 15.5). Within one millisecond the change wins (fail closed): over loopback
  // a login and the change that follows it fit in the same millisecond, while a login after a
  // change spends longer than that verifying the new password.
  if (row[0][3].as<std::int64_t>() >= claims->issued_at_ms) {
    throw ApiError::unauthenticated("password changed since this token was issued");
  }
  Principal p;
  p.user_id = claims->user_id;
  p.name = row[0][0].as<std::string>();
  // A role lowered since the token was issued applies at once.
  const auth::Role current =
      auth::parse_role(row[0][1].as<std::string>()).value_or(auth::Role::kViewer);
  p.role = auth::allows(current, claims->role) ? claims->role : current;
  p.token_id = claims->token_id;
  return p;
}

Principal Authenticator::from_key(const std::string& key) {
  auto lease = pool_.acquire();
  auto checked =
      lease->transact([&](pqxx::transaction_base& tx) { return auth::check_api_key(tx, key); });
  if (!checked.ok()) throw ApiError::unauthenticated(checked.error().message());
  Principal p;
  p.user_id = checked->owner.id;
  p.name = checked->owner.username + " (key " + checked->key_id + ")";
  p.role = checked->role;
  p.key_row_id = checked->key_row_id;
  p.devices = checked->devices;
  return p;
}

Principal Authenticator::from_node(const std::string& credential) {
  auto verified = nodes_.verify(credential);
  if (!verified.ok()) throw ApiError::unauthenticated(verified.error().message());
  Principal p;
  p.name = "node:" + std::to_string(*verified);
  p.role = auth::Role::kNode;
  p.node_id = *verified;
  return p;
}

LoginResult Authenticator::login(const std::string& username, const std::string& password,
                                 const std::string& client) {
  const std::string name = sanitize_utf8(username.substr(0, 64));
  const long long window = options_.failure_window.count();
  struct Gate {
    long long by_client = 0, by_user = 0, retry = 0, since_user_failure_ms = -1;
    std::int64_t pending = 0;
    std::optional<auth::LoginCandidate> candidate;
  };
  Gate gate;
  {
    auto lease = pool_.acquire();
    gate = lease->transact([&](pqxx::transaction_base& tx) {
      Gate g;
      auto r = tx.exec_params1(kFailures, client, name, window);
      g.by_client = r[0].as<long long>();
      g.by_user = r[1].as<long long>();
      g.retry = r[2].is_null() ? window : r[2].as<long long>();
      g.since_user_failure_ms = r[3].is_null() ? -1 : r[3].as<long long>();
      const bool client_blocked = g.by_client >= options_.max_failures;
      const bool user_slowed = g.by_user >= options_.max_failures && g.since_user_failure_ms >= 0 &&
                               g.since_user_failure_ms < options_.user_slowdown.count();
      if (client_blocked || user_slowed) return g;
      // Counted before the hash: parallel attempts see each other at once. A success deletes it.
      g.pending = tx.exec_params1(
                        "INSERT INTO auth_failures (client, username) VALUES ($1, $2) RETURNING id",
                        client, name)[0]
                      .as<std::int64_t>();
      g.candidate = auth::find_login(tx, username);
      return g;
    });
  }  // the lease is back in the pool: the hash below holds no database connection
  if (gate.pending == 0) {
    const long long retry =
        gate.by_client >= options_.max_failures
            ? std::max(gate.retry, 1LL)
            : std::max(1LL,
                       (options_.user_slowdown.count() - gate.since_user_failure_ms + 999) / 1000);
    audit_login(name, std::nullopt, 429, client);
    throw ApiError(429, "rate_limited",
                   "too many failed logins; retry in " + std::to_string(retry) + " s")
        .with_retry_after(retry);
  }

  bool matched = false;
  std::optional<std::string> rehash;
  {
    // Each check takes 64 MiB: at most login_concurrency at once, whatever the number of clients.
    if (!hash_slots_.try_acquire_for(options_.hash_wait)) {
      throw ApiError(503, "busy", "too many logins in progress; retry shortly").with_retry_after(1);
    }
    struct Release {
      std::counting_semaphore<>& slots;
      ~Release() { slots.release(); }
    } release{hash_slots_};
    matched = auth::password_matches(gate.candidate, password);
    if (matched && auth::password_needs_rehash(gate.candidate->password_hash)) {
      if (auto h = auth::hash_password(password); h.ok()) rehash = *h;
    }
  }
  if (!matched) {
    audit_login(name, gate.candidate ? std::optional(gate.candidate->user.id) : std::nullopt, 401,
                client);
    throw ApiError::unauthenticated("wrong user name or password");
  }
  const auth::User& user = gate.candidate->user;
  {
    auto lease = pool_.acquire();
    lease->transact([&](pqxx::transaction_base& tx) {
      tx.exec_params("DELETE FROM auth_failures WHERE id = $1 OR username = $2", gate.pending,
                     name);
      auth::record_login(tx, user.id, rehash);
      auth::audit(tx, user.username, user.id, std::nullopt, "POST /api/auth/login", user.username,
                  200, client, "{}");
    });
  }
  auth::TokenClaims claims;
  claims.user_id = user.id;
  claims.username = user.username;
  claims.role = user.role;
  claims.issued_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  claims.issued_at = claims.issued_at_ms / 1000;
  claims.expires_at = claims.issued_at + options_.token_ttl.count();
  claims.token_id = auth::random_token(16);
  return {auth::sign_token(claims, options_.token_secret), claims.expires_at, user};
}

void Authenticator::audit_login(const std::string& name, std::optional<std::int64_t> user_id,
                                int status, const std::string& client) {
  try {
    auto lease = pool_.acquire();
    lease->transact([&](pqxx::transaction_base& tx) {
      auth::audit(tx, name.empty() ? "anonymous" : name, user_id, std::nullopt,
                  "POST /api/auth/login", name, status, client, "{}");
    });
  } catch (const std::exception& e) {
    spdlog::error("could not write the audit log for a login: {}", redact_secrets(e.what()));
  }
}

void Authenticator::logout(const Principal& who) {
  if (who.token_id.empty()) return;
  auto lease = pool_.acquire();
  lease->transact([&](pqxx::transaction_base& tx) {
    tx.exec_params(
        "INSERT INTO revoked_tokens (token_id, expires_at) VALUES ($1, now() + $2 * interval '1 "
        "second') "
        "ON CONFLICT DO NOTHING",
        who.token_id, static_cast<long long>(options_.token_ttl.count()));
  });
  forget_cached();
}

void Authenticator::housekeeping(pqxx::transaction_base& tx) {
  tx.exec("DELETE FROM revoked_tokens WHERE expires_at < now()");
  tx.exec_params("DELETE FROM auth_failures WHERE at < now() - $1 * interval '1 second'",
                 static_cast<long long>(options_.failure_window.count() * 2));
}

}  // namespace fleet::gateway
