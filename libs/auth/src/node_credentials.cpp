#include "auth/node_credentials.h"

#include <charconv>

#include "auth/credentials.h"

namespace fleet::auth {
namespace {

constexpr std::size_t kSecretChars = 43;  // 32 random bytes, URL-safe base64 without padding

bool url_safe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool secret_shaped(std::string_view secret) {
  if (secret.size() != kSecretChars) return false;
  for (char c : secret)
    if (!url_safe(c)) return false;
  return true;
}

}  // namespace

std::string credential_hash(std::string_view text) {
  return api_key_hash(text);
}

NewRegistrationToken generate_registration_token() {
  // 12 alphanumeric characters: URL-safe base64 without '-' and '_' (about 71 bits, an id only).
  std::string id;
  while (id.size() < 12) {
    for (char c : random_token(12))
      if (alnum(c) && id.size() < 12) id += c;
  }
  NewRegistrationToken t;
  t.token_id = id;
  t.token = "fwr_" + id + "_" + random_token(32);
  t.hash = credential_hash(t.token);
  return t;
}

std::optional<std::string> registration_token_id(std::string_view token) {
  constexpr std::size_t kLength = 4 + 12 + 1 + kSecretChars;
  if (token.size() != kLength || token.substr(0, 4) != "fwr_" || token[16] != '_')
    return std::nullopt;
  const std::string_view id = token.substr(4, 12);
  for (char c : id)
    if (!alnum(c)) return std::nullopt;
  if (!secret_shaped(token.substr(17))) return std::nullopt;
  return std::string(id);
}

NewNodeCredential generate_node_credential(std::int64_t worker_id) {
  NewNodeCredential c;
  c.credential = "fwn_" + std::to_string(worker_id) + "_" + random_token(32);
  c.hash = credential_hash(c.credential);
  return c;
}

std::optional<std::int64_t> node_credential_worker(std::string_view credential) {
  if (credential.size() > 4 + 19 + 1 + kSecretChars || credential.substr(0, 4) != "fwn_")
    return std::nullopt;
  // The secret may contain '_': the id ends at the first one after the prefix.
  const std::string_view rest = credential.substr(4);
  const auto sep = rest.find('_');
  if (sep == std::string_view::npos || sep == 0 || rest[0] == '0') return std::nullopt;
  const std::string_view digits = rest.substr(0, sep);
  for (char c : digits)
    if (c < '0' || c > '9') return std::nullopt;
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size() || id < 1) return std::nullopt;
  if (!secret_shaped(rest.substr(sep + 1))) return std::nullopt;
  return id;
}

}  // namespace fleet::auth
