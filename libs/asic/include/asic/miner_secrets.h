// Opening a claimed miner's sealed credentials (miners.api_key_enc / unlock_pass_enc).
#pragma once

#include <optional>
#include <string>

#include "asic/miner_claims.h"
#include "secrets/secret_box.h"

namespace fleet::asic {

struct MinerSecrets {
  std::optional<std::string> api_key;  // nullopt: none stored, or it cannot be opened
  std::string password;                // the miner's own, else the default
  std::string problem;                 // why a stored secret could not be opened ("" = none)
};

MinerSecrets open_secrets(const secrets::SecretBox& box, const ClaimedMiner& miner,
                          const std::string& default_password);

}  // namespace fleet::asic
