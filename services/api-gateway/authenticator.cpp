#include "authenticator.h"

#include <pqxx/pqxx>

#include "core/strings.h"

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

constexpr const char* kFailures = R"sql(
SELECT count(*) FILTER (WHERE client = $1),
       count(*) FILTER (WHERE username = $2),
       extract(epoch FROM min(at) + $3 * interval '1 second' - now())::bigint
  FROM auth_failures
 WHERE at > now() - $3 * interval '1 second' AND (client = $1 OR username = $2)
)sql";

}  // namespace

Authenticator::Authenticator(DbPool& pool, AuthOptions options)
    : pool_(pool), options_(std::move(options)) {}

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
  // survived it (issue 15.5).
  if (row[0][3].as<std::int64_t>() > claims->issued_at_ms) {
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
  return p;
}

LoginResult Authenticator::login(const std::string& username, const std::string& password,
                                 const std::string& client) {
  auto lease = pool_.acquire();
  const long long window = options_.failure_window.count();
  auto [by_client, by_user, retry] = lease->transact([&](pqxx::transaction_base& tx) {
    auto r = tx.exec_params1(kFailures, client, username, window);
    return std::tuple<long long, long long, long long>(
        r[0].as<long long>(), r[1].as<long long>(), r[2].is_null() ? window : r[2].as<long long>());
  });
  if (by_client >= options_.max_failures || by_user >= options_.max_failures) {
    throw ApiError(
        429, "rate_limited",
        "too many failed logins; retry in " + std::to_string(std::max(retry, 1LL)) + " s")
        .with_retry_after(std::max(retry, 1LL));
  }
  auto user = lease->transact(
      [&](pqxx::transaction_base& tx) { return auth::check_login(tx, username, password); });
  if (!user.ok()) {
    lease->transact([&](pqxx::transaction_base& tx) {
      tx.exec_params("INSERT INTO auth_failures (client, username) VALUES ($1, $2)", client,
                     username.substr(0, 64));
    });
    throw ApiError::unauthenticated(user.error().message());
  }
  lease->transact([&](pqxx::transaction_base& tx) {
    tx.exec_params("DELETE FROM auth_failures WHERE username = $1", username);
  });
  auth::TokenClaims claims;
  claims.user_id = user->id;
  claims.username = user->username;
  claims.role = user->role;
  claims.issued_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  claims.issued_at = claims.issued_at_ms / 1000;
  claims.expires_at = claims.issued_at + options_.token_ttl.count();
  claims.token_id = auth::random_token(16);
  return {auth::sign_token(claims, options_.token_secret), claims.expires_at, *user};
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
