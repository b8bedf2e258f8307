#include "encoding.h"

#include <zlib.h>

#include "core/strings.h"

namespace fleet::hiveossim {

bool accepts_gzip(std::string_view accept_encoding) {
  bool star = false;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    std::string_view item = accept_encoding.substr(0, comma);
    accept_encoding =
        comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
    std::string_view params;
    if (const auto semi = item.find(';'); semi != std::string_view::npos) {
      params = item.substr(semi + 1);
      item = item.substr(0, semi);
    }
    const std::string coding = to_lower(trim(item));
    // q=0 (or 0.0, 0.00...) refuses the coding.
    bool refused = false;
    const std::string p = to_lower(trim(params));
    if (p.rfind("q=", 0) == 0) {
      const std::string q = p.substr(2);
      refused = !q.empty() && q.find_first_not_of("0.") == std::string::npos;
    }
    if (coding == "gzip" || coding == "x-gzip") return !refused;
    if (coding == "*") star = !refused;
  }
  return star;
}

std::optional<std::string> gzip(std::string_view body, int level) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&zs, std::clamp(level, 1, 9), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return std::nullopt;
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(body.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  const auto written = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(written);
  return out;
}

}  // namespace fleet::hiveossim
