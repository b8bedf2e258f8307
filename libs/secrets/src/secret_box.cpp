#include "secrets/secret_box.h"

#include <sodium.h>

#include "core/secret_strength.h"

#include <cstring>
#include <vector>

namespace fleet::secrets {

namespace {

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

constexpr std::string_view kPrefix = "v1:";

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

std::string SecretBox::seal(std::string_view plaintext) const {
  std::vector<unsigned char> buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                 plaintext.size());
  unsigned char* nonce = buf.data();
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        nonce, key_.data());
  std::string out(kPrefix);
  std::string b64(sodium_base64_ENCODED_LEN(buf.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), buf.data(), buf.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(std::strlen(b64.c_str()));
  out += b64;
  return out;
}

Result<std::string> SecretBox::open(std::string_view sealed) const {
  if (sealed.substr(0, kPrefix.size()) != kPrefix) {
    return Error(ErrorKind::kDataLoss, "sealed secret: unknown format");
  }
  sealed.remove_prefix(kPrefix.size());
  std::vector<unsigned char> buf(sealed.size());
  size_t len = 0;
  if (sodium_base642bin(buf.data(), buf.size(), sealed.data(), sealed.size(), nullptr, &len,
                        nullptr, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Error(ErrorKind::kDataLoss, "sealed secret: malformed");
  }
  const size_t cipher_len = len - crypto_secretbox_NONCEBYTES;
  std::string out(cipher_len - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 buf.data() + crypto_secretbox_NONCEBYTES, cipher_len, buf.data(),
                                 key_.data()) != 0) {
    return Error(ErrorKind::kDataLoss,
                 "sealed secret: cannot be opened with this key (wrong FLEET_SECRET_KEY?)");
  }
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
