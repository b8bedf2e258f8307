// Encryption at rest for the secrets the fleet must use later (miner API keys and unlock
// passwords; DESIGN §7): libsodium's secretbox (XSalsa20-Poly1305) with a 32-byte key from the
// environment (FLEET_SECRET_KEY). A sealed value is text ("v2:" + base64), so it fits a text
// column, and is bound to the place it is stored in (issue 16.8).
//
// Thread-safe after construction. The key never leaves the object and is wiped on destruction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "core/result.h"

namespace fleet::secrets {

class SecretBox {
 public:
  // `key_text` is 64 hex characters or the base64 of 32 bytes. kInvalidArgument otherwise
  // (the message never contains the text).
  static Result<SecretBox> from_key_text(std::string_view key_text);

  SecretBox(const SecretBox&) = default;
  SecretBox& operator=(const SecretBox&) = default;
  ~SecretBox();

  // A fresh random nonce per call: sealing the same text twice gives different results. The
  // value is bound to `context` (where it is stored, see miner_secret_context()): it opens only
  // with the same context, so a value copied into another row or column is refused. "v2:" +
  // base64(nonce || ciphertext) of XChaCha20-Poly1305 with the context as associated data.
  std::string seal(std::string_view plaintext, std::string_view context) const;
  // kDataLoss when the value is malformed, was sealed with another key or for another context,
  // or was tampered with. "v1:" values (sealed before contexts existed, XSalsa20-Poly1305) still
  // open with any context; they are bound once they are sealed again.
  Result<std::string> open(std::string_view sealed, std::string_view context) const;

 private:
  SecretBox() = default;
  std::array<unsigned char, 32> key_{};
};

// The context of a miner's sealed secret: its MAC (any case) and which secret ("api_key",
// "unlock_password"), so a value cannot move to another miner or another column.
std::string miner_secret_context(std::string_view mac, std::string_view which);

// The context of a notification channel's sealed secret (webhook signing key, SMTP or MQTT
// password): "notification_channel:<id>:secret" (sql/0047), so a value cannot move to another
// channel.
std::string notification_channel_secret_context(std::int64_t channel_id);
// The context of a HiveOS account's sealed personal token (hiveos_accounts.token_enc):
// "hiveos_account:<id>:token", so a token cannot move to another account's row.
std::string hiveos_token_context(std::int64_t account_id);

// A new random key in the hex form from_key_text() accepts (for `fleetctl` and docs).
std::string generate_key_text();

// Declares secrets.key (env FLEET_SECRET_KEY; secret, masked in logs).
void declare_config(config::Schema& schema);
// The box from secrets.key; kInvalidArgument naming the key when unset or malformed.
Result<SecretBox> box_from(const config::Config& config);

}  // namespace fleet::secrets
