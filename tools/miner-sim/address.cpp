#include "address.h"

#include "core/strings.h"

namespace fleet::minersim {

std::string format_ip(uint32_t ip) {
  return std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
         std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255);
}

Result<uint32_t> parse_ip(std::string_view text) {
  const auto parts = split(trim(text), '.');
  if (parts.size() != 4)
    return Error::invalid("'" + std::string(text) + "' is not an IPv4 address");
  uint32_t ip = 0;
  for (const auto& p : parts) {
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) {
      return Error::invalid("'" + std::string(text) + "' is not an IPv4 address");
    }
    const int v = std::stoi(p);
    if (v > 255) return Error::invalid("'" + std::string(text) + "' is not an IPv4 address");
    ip = (ip << 8) | static_cast<uint32_t>(v);
  }
  return ip;
}

}  // namespace fleet::minersim
