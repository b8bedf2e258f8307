#include "secrets/secret_box.h"

#include <sodium.h>

#include "core/secret_strength.h"

#include <cctype>
#include <cstring>
#include <vector>

namespace fleet::secrets {

namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

constexpr std::string_view kPrefix = "v1:";       // secretbox, no context (before issue 16.8)
constexpr std::string_view kBoundPrefix = "v2:";  // XChaCha20-Poly1305, context as AD

}  // namespace

SecretBox::~SecretBox() {
  sodium_memzero(key_.data(), key_.size());
}

Result<SecretBox> SecretBox::from_key_text(std::string_view text) {
  if (!sodium_ready()) return Error::internal("libsodium could not be initialised");
  SecretBox box;
  size_t len = 0;
  const char* end = nullptr;
  // A key from an example or a typed pattern ("aaaa…", all zeros) is refused: it would decode.
  auto strong = [&box]() -> Result<SecretBox> {
    if (Status s = check_key_bytes("secrets.key", box.key_.data(), box.key_.size()); !s.ok()) {
      return s.error();
    }
    return std::move(box);
  };
  if (text.size() == 64 &&
      sodium_hex2bin(box.key_.data(), box.key_.size(), text.data(), text.size(), nullptr, &len,
                     &end) == 0 &&
      len == 32 && end == text.data() + text.size()) {
    return strong();
  }
  for (int variant :
       {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_URLSAFE,
        sodium_base64_VARIANT_ORIGINAL_NO_PADDING, sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    if (sodium_base642bin(box.key_.data(), box.key_.size(), text.data(), text.size(), nullptr, &len,
                          &end, variant) == 0 &&
        len == 32 && end == text.data() + text.size()) {
      return strong();
    }
  }
  return Error::invalid(
      "secrets.key: expected 64 hex characters or the base64 of 32 bytes (generate one with "
      "`openssl rand -hex 32`)");
}

namespace {

std::string to_base64(const std::vector<unsigned char>& buf) {
  std::string b64(sodium_base64_ENCODED_LEN(buf.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), buf.data(), buf.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  return b64;
}

bool from_base64(std::string_view text, std::vector<unsigned char>& out) {
  out.resize(text.size());
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  out.resize(len);
  return true;
}

}  // namespace

std::string SecretBox::seal(std::string_view plaintext, std::string_view context) const {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::vector<unsigned char> buf(kNonce + plaintext.size() +
                                 crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned char* nonce = buf.data();
  randombytes_buf(nonce, kNonce);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonce, &written, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(context.data()), context.size(),
      nullptr, nonce, key_.data());
  buf.resize(kNonce + written);
  return std::string(kBoundPrefix) + to_base64(buf);
}

Result<std::string> SecretBox::open(std::string_view sealed, std::string_view context) const {
  const bool bound = sealed.substr(0, kBoundPrefix.size()) == kBoundPrefix;
  if (!bound && sealed.substr(0, kPrefix.size()) != kPrefix) {
    return Error(ErrorKind::kDataLoss, "sealed secret: unknown format");
  }
  sealed.remove_prefix(kPrefix.size());  // both prefixes are 3 characters
  std::vector<unsigned char> buf;
  const size_t overhead = bound ? crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
                                      crypto_aead_xchacha20poly1305_ietf_ABYTES
                                : crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  if (!from_base64(sealed, buf) || buf.size() < overhead) {
    return Error(ErrorKind::kDataLoss, "sealed secret: malformed");
  }
  std::string out(buf.size() - overhead, '\0');
  if (bound) {
    constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    unsigned long long len = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<unsigned char*>(out.data()), &len, nullptr, buf.data() + kNonce,
            buf.size() - kNonce, reinterpret_cast<const unsigned char*>(context.data()),
            context.size(), buf.data(), key_.data()) != 0) {
      return Error(ErrorKind::kDataLoss,
                   "sealed secret: cannot be opened here (another FLEET_SECRET_KEY, or a value "
                   "copied from another place)");
    }
    out.resize(len);
    return out;
  }
  const size_t cipher_len = buf.size() - crypto_secretbox_NONCEBYTES;
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 buf.data() + crypto_secretbox_NONCEBYTES, cipher_len, buf.data(),
                                 key_.data()) != 0) {
    return Error(ErrorKind::kDataLoss,
                 "sealed secret: cannot be opened with this key (wrong FLEET_SECRET_KEY?)");
  }
  return out;
}

std::string notification_channel_secret_context(std::int64_t channel_id) {
  return "notification_channel:" + std::to_string(channel_id) + ":secret";
}

std::string hiveos_token_context(std::int64_t account_id) {
  return "hiveos_account:" + std::to_string(account_id) + ":token";
}

std::string miner_secret_context(std::string_view mac, std::string_view which) {
  std::string out = "miner ";
  for (char c : mac)
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  out += ' ';
  out += which;
  return out;
}

std::string generate_key_text() {
  sodium_ready();
  unsigned char key[32];
  randombytes_buf(key, sizeof key);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key, sizeof key);
  sodium_memzero(key, sizeof key);
  return hex;
}

void declare_config(config::Schema& schema) {
  schema.add({.name = "secrets.key",
              .type = config::Type::kString,
              .help = "key that encrypts miner API keys and unlock passwords at rest "
                      "(64 hex characters; `openssl rand -hex 32`)",
              .secret = true,
              .env = {"FLEET_SECRET_KEY"}});
}

Result<SecretBox> box_from(const config::Config& config) {
  auto text = config.optional_str("secrets.key");
  if (!text || text->empty()) {
    return Error::invalid(
        "secrets.key is not set (environment FLEET_SECRET_KEY): it encrypts "
        "miner API keys at rest");
  }
  return SecretBox::from_key_text(*text);
}

}  // namespace fleet::secrets
