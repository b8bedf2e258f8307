#include "auth/credentials.h"

#include <sodium.h>

#include <cctype>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace fleet::auth {
namespace {

using json = nlohmann::json;

void init_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  });
}

std::string base64url(const unsigned char* data, std::size_t size) {
  std::string out(sodium_base64_ENCODED_LEN(size, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::optional<std::string> unbase64url(std::string_view text) {
  std::vector<unsigned char> out(text.size());
  std::size_t length = 0;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &length, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  return std::string(reinterpret_cast<const char*>(out.data()), length);
}

std::string hmac(std::string_view data, std::string_view secret) {
  unsigned char key[crypto_auth_hmacsha256_KEYBYTES];
  // Secrets of any length: hash to the key size.
  crypto_hash_sha256(key, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(mac, reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                         key);
  return base64url(mac, sizeof mac);
}

}  // namespace

std::string_view to_string(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
    case Role::kIngest:
      return "ingest";
    case Role::kNode:
      return "node";
  }
  return "viewer";
}

std::optional<Role> parse_role(std::string_view text) {
  if (text == "viewer") return Role::kViewer;
  if (text == "operator") return Role::kOperator;
  if (text == "admin") return Role::kAdmin;
  if (text == "ingest") return Role::kIngest;
  return std::nullopt;
}

Status check_password_policy(std::string_view password) {
  if (!is_valid_utf8(password)) return Error::invalid("password must be valid UTF-8");
  size_t chars = 0;
  for (unsigned char c : password)
    chars += (c & 0xC0) != 0x80;
  if (chars < 10) return Error::invalid("password must have at least 10 characters");
  if (password.size() > 1024) return Error::invalid("password must have at most 1024 bytes");
  return Status::success();
}

Result<std::string> hash_password(std::string_view password) {
  init_sodium();
  if (Status s = check_password_policy(password); !s.ok()) return s.error();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error(ErrorKind::kResourceExhausted, "not enough memory to hash the password");
  }
  return std::string(out);
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
  init_sodium();
  if (stored_hash.size() >= crypto_pwhash_STRBYTES) return false;
  std::string hash(stored_hash);  // NUL-terminated copy
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view stored_hash) {
  init_sodium();
  if (stored_hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string hash(stored_hash);
  return crypto_pwhash_str_needs_rehash(hash.c_str(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0;
}

std::string random_token(std::size_t bytes) {
  init_sodium();
  std::vector<unsigned char> buf(bytes);
  randombytes_buf(buf.data(), buf.size());
  return base64url(buf.data(), buf.size());
}

NewApiKey generate_api_key() {
  init_sodium();
  // 9 random bytes -> 12 URL-safe characters of id; 32 bytes -> 43 characters of secret. The id
  // alphabet excludes '_' so the key splits unambiguously.
  std::string id;
  while (id.size() < 12) {
    std::string candidate = random_token(9);
    if (candidate.find('_') == std::string::npos) id = candidate;
  }
  NewApiKey k;
  k.key_id = id;
  k.key = "fwk_" + id + "_" + random_token(32);
  k.hash = api_key_hash(k.key);
  return k;
}

std::optional<std::string> api_key_id(std::string_view key) {
  if (key.size() != 4 + 12 + 1 + 43 || key.substr(0, 4) != "fwk_" || key[16] != '_')
    return std::nullopt;
  for (char c : key.substr(4)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return std::nullopt;
  }
  return std::string(key.substr(4, 12));
}

std::string api_key_hash(std::string_view key) {
  init_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

bool hashes_equal(std::string_view a, std::string_view b) {
  init_sodium();
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

Status check_device_scope(const std::vector<std::string>& scope) {
  if (scope.size() > 100) return Error::invalid("a key may name at most 100 devices");
  for (std::size_t i = 0; i < scope.size(); ++i) {
    const std::string& entry = scope[i];
    const std::string where = "devices[" + std::to_string(i) + "]";
    if (entry.empty() || entry.size() > 200 || !is_valid_utf8(entry))
      return Error::invalid(where + " must be 1-200 characters of UTF-8");
    for (std::size_t j = 0; j < entry.size(); ++j) {
      const auto c = static_cast<unsigned char>(entry[j]);
      if (c < 0x20 || c == 0x7f) return Error::invalid(where + " has a control character");
      if (c == '*' && j + 1 != entry.size())
        return Error::invalid(where + " may have '*' only at its end (a prefix)");
    }
  }
  return Status::success();
}

bool device_in_scope(const std::vector<std::string>& scope, std::string_view device_name) {
  if (scope.empty()) return true;
  for (const std::string& entry : scope) {
    if (!entry.empty() && entry.back() == '*') {
      if (device_name.substr(0, entry.size() - 1) ==
          std::string_view(entry).substr(0, entry.size() - 1))
        return true;
    } else if (device_name == entry) {
      return true;
    }
  }
  return false;
}

std::string sign_token(const TokenClaims& c, std::string_view secret) {
  static const std::string header = [] {
    const std::string h = R"({"alg":"HS256","typ":"JWT"})";
    return base64url(reinterpret_cast<const unsigned char*>(h.data()), h.size());
  }();
  json payload = {{"sub", std::to_string(c.user_id)},
                  {"name", c.username},
                  {"role", std::string(to_string(c.role))},
                  {"iat", c.issued_at},
                  {"iat_ms", c.issued_at_ms},
                  {"exp", c.expires_at},
                  {"jti", c.token_id}};
  const std::string p = payload.dump();
  const std::string body =
      header + "." + base64url(reinterpret_cast<const unsigned char*>(p.data()), p.size());
  return body + "." + hmac(body, secret);
}

Result<TokenClaims> verify_token(std::string_view token, std::string_view secret,
                                 std::int64_t now) {
  auto bad = [](const char* why) { return Error(ErrorKind::kUnauthenticated, why); };
  if (token.size() > 4096) return bad("token too long");
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return bad("malformed token");
  }
  const std::string expected = hmac(token.substr(0, second), secret);
  if (!hashes_equal(expected, token.substr(second + 1))) return bad("bad token signature");
  auto header = unbase64url(token.substr(0, first));
  auto payload = unbase64url(token.substr(first + 1, second - first - 1));
  if (!header || !payload) return bad("malformed token");
  json h = json::parse(*header, nullptr, false);
  json p = json::parse(*payload, nullptr, false);
  if (!h.is_object() || h.value("alg", "") != "HS256" || !p.is_object())
    return bad("malformed token");
  TokenClaims c;
  try {
    c.user_id = std::stoll(p.at("sub").get<std::string>());
    c.username = p.at("name").get<std::string>();
    auto role = parse_role(p.at("role").get<std::string>());
    if (!role) return bad("malformed token");
    c.role = *role;
    c.issued_at = p.at("iat").get<std::int64_t>();
    c.issued_at_ms = p.value("iat_ms", c.issued_at * 1000);
    c.expires_at = p.at("exp").get<std::int64_t>();
    c.token_id = p.at("jti").get<std::string>();
  } catch (const std::exception&) {
    return bad("malformed token");
  }
  if (now >= c.expires_at) return bad("token expired");
  return c;
}

}  // namespace fleet::auth
