#include "netscan/cidr.h"

#include <algorithm>

#include "core/strings.h"

namespace fleet::netscan {

namespace {

// A decimal number without sign, spaces or leading zeros, at most `max`.
bool parse_decimal(std::string_view text, unsigned max, unsigned& out) {
  if (text.empty() || text.size() > 3) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  unsigned v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return false;
  out = v;
  return true;
}

std::string quoted(std::string_view text) {
  std::string shown = sanitize_utf8(text.substr(0, 64));
  return "'" + shown + (text.size() > 64 ? "...'" : "'");
}

}  // namespace

Result<Ipv4> parse_ipv4(std::string_view text) {
  Ipv4 out = 0;
  int parts = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = text.find('.', start);
    const std::string_view part =
        text.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    unsigned octet = 0;
    if (!parse_decimal(part, 255, octet)) {
      return Error::invalid(quoted(text) +
                            " is not an IPv4 address (expected four numbers 0-255 separated by "
                            "dots, without leading zeros)");
    }
    out = (out << 8) | octet;
    ++parts;
    if (dot == std::string_view::npos) break;
    if (parts == 4) return Error::invalid(quoted(text) + " has more than four parts");
    start = dot + 1;
  }
  if (parts != 4) return Error::invalid(quoted(text) + " does not have four parts");
  return out;
}

std::string format_ipv4(Ipv4 a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 0xFF) + "." +
         std::to_string((a >> 8) & 0xFF) + "." + std::to_string(a & 0xFF);
}

std::string Cidr::to_string() const {
  return format_ipv4(network) + "/" + std::to_string(prefix);
}

Result<Cidr> parse_cidr(std::string_view raw) {
  const std::string_view text = trim(raw);
  if (text.empty()) return Error::invalid("empty network (expected e.g. 192.168.1.0/24)");
  const size_t slash = text.find('/');
  auto address = parse_ipv4(text.substr(0, slash));
  if (!address.ok()) {
    if (slash == std::string_view::npos) return address.error();
    return Error::invalid(quoted(text) + ": " + address.error().message());
  }
  unsigned prefix = 32;
  if (slash != std::string_view::npos) {
    if (!parse_decimal(text.substr(slash + 1), 32, prefix)) {
      return Error::invalid(quoted(text) + ": the prefix length must be a number from 8 to 32");
    }
  }
  if (prefix < 8) {
    return Error::invalid(quoted(text) + ": /" + std::to_string(prefix) +
                          " is too large to sweep (at most /8)");
  }
  Cidr c{*address, static_cast<int>(prefix)};
  const Ipv4 mask = prefix == 0 ? 0 : ~Ipv4{0} << (32 - prefix);
  if ((*address & ~mask) != 0) {
    c.network = *address & mask;
    return Error::invalid(quoted(text) + " has host bits set; did you mean " + c.to_string() + "?");
  }
  return c;
}

Result<std::vector<Cidr>> parse_cidr_list(const std::vector<std::string>& texts,
                                          std::uint64_t max_addresses) {
  std::vector<Cidr> out;
  std::vector<std::string> problems;
  std::uint64_t total = 0;
  for (const auto& t : texts) {
    auto c = parse_cidr(t);
    if (!c.ok()) {
      problems.push_back(c.error().message());
      continue;
    }
    total += c->size();
    out.push_back(*c);
  }
  if (!problems.empty()) return Error::invalid(join(problems, "; "));
  if (total > max_addresses) {
    return Error::invalid("the networks hold " + std::to_string(total) +
                          " addresses, more than the limit of " + std::to_string(max_addresses));
  }
  return out;
}

std::vector<Ipv4> host_addresses(const std::vector<Cidr>& blocks) {
  std::vector<Ipv4> out;
  std::uint64_t total = 0;
  for (const auto& b : blocks)
    total += b.size();
  out.reserve(total);
  for (const auto& b : blocks) {
    std::uint64_t first = b.first();
    std::uint64_t last = b.last();
    if (b.prefix <= 30) {
      ++first;
      --last;
    }
    for (std::uint64_t a = first; a <= last; ++a)
      out.push_back(static_cast<Ipv4>(a));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace fleet::netscan
