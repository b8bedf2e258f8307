// Deterministic identities for the simulated fleet: MAC, serial, firmware version and payload
// style of miner `index`, from the seed. Different indices always get different MACs.
#pragma once

#include "miner.h"
#include "sim_options.h"

namespace fleet::minersim {

MinerIdentity make_identity(int index, const SimOptions& options);

// The address of miner `index` at start: base_ip + index.
inline uint32_t initial_ip(int index, const SimOptions& options) {
  return options.base_ip + static_cast<uint32_t>(index);
}

}  // namespace fleet::minersim
