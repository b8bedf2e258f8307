// Credentials of fleetward's users and programs (DESIGN §7): Argon2id password hashes, random API
// keys stored only as hashes, and signed session tokens. No database access here.
//
// Thread-safety: every function is safe to call from any thread (libsodium is initialised once).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fleet::auth {

// viewer < operator < admin: each includes the ones below. ingest stands apart: an API key for a
// device or sensor that may only push readings (POST /api/readings), which operators and admins
// may do too; it can read nothing and act on nothing (issue 16.7). node stands apart too: a
// container host's agent (node credential, node_credentials.h), allowed only the node-scoped
// routes of its own node (the gateway checks the id); no user or key ever has it.
enum class Role { kViewer = 0, kOperator = 1, kAdmin = 2, kIngest = 3, kNode = 4 };

std::string_view to_string(Role role);
// Parses a user's or key's role: viewer, operator, admin, ingest ("node" is not one).
std::optional<Role> parse_role(std::string_view text);
// True when `have` may do what `need` may.
inline bool allows(Role have, Role need) {
  if (have == Role::kNode || need == Role::kNode) return have == need;
  if (have == Role::kIngest) return need == Role::kIngest;
  if (need == Role::kIngest) return have == Role::kOperator || have == Role::kAdmin;
  return static_cast<int>(have) >= static_cast<int>(need);
}

// --- passwords ---------------------------------------------------------------------------------
// Rejects passwords shorter than 10 characters, longer than 1024, or not valid UTF-8.
Status check_password_policy(std::string_view password);
// Argon2id (libsodium crypto_pwhash_str, interactive limits). The result embeds salt and limits.
Result<std::string> hash_password(std::string_view password);
// Constant-time verification against a stored hash; false for a malformed hash.
bool verify_password(std::string_view stored_hash, std::string_view password);
// True when a stored hash used other parameters than hash_password() uses now (upgrade on login).
bool password_needs_rehash(std::string_view stored_hash);

// --- API keys ----------------------------------------------------------------------------------
// A key looks like "fwk_<12-char id>_<43-char secret>" (256 bits of randomness in the secret). Only
// its id (for lookup and display) and SHA-256 hash (for verification) are stored.
struct NewApiKey {
  std::string key;     // shown once to its owner
  std::string key_id;  // stored, shown in listings
  std::string hash;    // stored: hex SHA-256 of the whole key
};
NewApiKey generate_api_key();
// Splits a presented key into its id; nullopt when it is not shaped like one of ours.
std::optional<std::string> api_key_id(std::string_view key);
std::string api_key_hash(std::string_view key);
// Constant-time comparison of two hex hashes.
bool hashes_equal(std::string_view a, std::string_view b);
// The devices an ingest key may write: worker names, or prefixes ending in '*' ("pump-*"). An
// empty scope is every device. check_device_scope() accepts at most 100 entries of 1-200
// characters of UTF-8 without control characters ('*' only at the end); its error says which
// entry is wrong.
Status check_device_scope(const std::vector<std::string>& scope);
bool device_in_scope(const std::vector<std::string>& scope, std::string_view device_name);

// --- session tokens ----------------------------------------------------------------------------
// HS256-signed JSON Web Tokens. The secret is shared by every gateway replica.
struct TokenClaims {
  std::int64_t user_id = 0;
  std::string username;
  Role role = Role::kViewer;
  std::int64_t issued_at = 0;  // Unix seconds ("iat")
  // Unix milliseconds ("iat_ms"): a password change ends every session issued before it, also
  // those issued earlier in the same second. Tokens without it count as issued at issued_at's
  // first millisecond.
  std::int64_t issued_at_ms = 0;
  std::int64_t expires_at = 0;  // Unix seconds
  std::string token_id;         // "jti": revocation handle
};
std::string sign_token(const TokenClaims& claims, std::string_view secret);
// Checks shape, signature (constant time) and expiry at `now` (Unix seconds). Errors are
// kUnauthenticated with a reason safe to show ("token expired", "bad signature", ...).
Result<TokenClaims> verify_token(std::string_view token, std::string_view secret, std::int64_t now);

// Random URL-safe text with `bytes` of entropy (for token ids and secrets).
std::string random_token(std::size_t bytes);

}  // namespace fleet::auth
