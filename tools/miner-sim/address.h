// IPv4 addresses in host byte order, as the simulator stores them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace fleet::minersim {

// "127.20.0.1"
std::string format_ip(uint32_t ip);
// Parses dotted-quad IPv4; the error names the text.
Result<uint32_t> parse_ip(std::string_view text);
// True for 127.0.0.0/8: the simulator never listens anywhere else.
inline bool is_loopback(uint32_t ip) {
  return (ip >> 24) == 127;
}
// The gateway a miner reports: .1 of its /24 (.254 for the .1 host itself).
inline uint32_t gateway_for(uint32_t ip) {
  return (ip & 0xffffff00u) | ((ip & 0xffu) == 1 ? 254u : 1u);
}

}  // namespace fleet::minersim
