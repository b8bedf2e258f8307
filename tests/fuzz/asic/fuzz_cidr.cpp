// Fuzzes the CIDR and address parsers of discovery's configuration: no crash, and whatever
// parses prints back to itself and describes a consistent block.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "netscan/cidr.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace fleet::netscan;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto ip = parse_ipv4(text); ip.ok()) {
    if (format_ipv4(*ip) != text) __builtin_trap();  // strict: one spelling per address
  }
  if (auto c = parse_cidr(text); c.ok()) {
    if (c->prefix < 8 || c->prefix > 32) __builtin_trap();
    auto again = parse_cidr(c->to_string());
    if (!again.ok() || again->network != c->network || again->prefix != c->prefix) __builtin_trap();
    if (!c->contains(c->first()) || !c->contains(c->last())) __builtin_trap();
    if (c->prefix >= 20) {
      auto hosts = host_addresses({*c});
      if (hosts.empty() || hosts.size() > c->size()) __builtin_trap();
      for (auto h : hosts) {
        if (!c->contains(h)) __builtin_trap();
      }
    }
  }
  std::vector<std::string> list;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',') {
      list.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  (void)parse_cidr_list(list, 1 << 20);
  return 0;
}
