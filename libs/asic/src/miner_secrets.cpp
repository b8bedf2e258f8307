#include "asic/miner_secrets.h"

namespace fleet::asic {

MinerSecrets open_secrets(const secrets::SecretBox& box, const ClaimedMiner& miner,
                          const std::string& default_password) {
  MinerSecrets out;
  out.password = default_password;
  if (miner.unlock_pass_enc) {
    auto pass = box.open(*miner.unlock_pass_enc,
                         secrets::miner_secret_context(miner.mac, "unlock_password"));
    if (pass.ok()) {
      out.password = std::move(*pass);
    } else {
      out.problem = "stored unlock password: " + pass.error().message();
    }
  }
  if (miner.api_key_enc) {
    auto key = box.open(*miner.api_key_enc, secrets::miner_secret_context(miner.mac, "api_key"));
    if (key.ok()) {
      out.api_key = std::move(*key);
    } else {
      out.problem = "stored API key: " + key.error().message();
    }
  }
  return out;
}

}  // namespace fleet::asic
