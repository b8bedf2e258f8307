// IPv4 addresses and CIDR blocks for discovery targets (seed 003 §1: "configurable CIDRs").
//
// Parsing is strict, because a typo here sweeps the wrong network: four dotted decimal octets
// (0-255, no leading zeros, no spaces inside), an optional "/prefix" (0-32; a bare address is
// /32), no host bits set ("10.0.0.5/24" is rejected with the network it probably meant), and no
// block larger than /8. Errors name the offending text. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fleet::netscan {

using Ipv4 = std::uint32_t;  // host byte order: 10.0.0.1 == 0x0A000001

Result<Ipv4> parse_ipv4(std::string_view text);
std::string format_ipv4(Ipv4 address);

struct Cidr {
  Ipv4 network = 0;
  int prefix = 32;

  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix); }
  Ipv4 first() const { return network; }
  Ipv4 last() const { return static_cast<Ipv4>(network + size() - 1); }
  bool contains(Ipv4 address) const { return address - network < size(); }
  std::string to_string() const;  // "10.0.0.0/24"
};

Result<Cidr> parse_cidr(std::string_view text);

// Parses every entry; the error lists each bad entry. Fails when the blocks together hold more
// than `max_addresses` addresses (a guard against sweeping a /8 by accident).
Result<std::vector<Cidr>> parse_cidr_list(const std::vector<std::string>& texts,
                                          std::uint64_t max_addresses);

// The host addresses of the blocks, ascending, each once even when blocks overlap. Blocks of /30
// and larger lose their network and broadcast addresses (nothing answers there on a LAN).
std::vector<Ipv4> host_addresses(const std::vector<Cidr>& blocks);

}  // namespace fleet::netscan
