// hiveos-sim's answer compression: gzip at a level of its own (zlib's fastest by default, as
// nginx's gzip_comp_level 1) instead of cpp-httplib's built-in level 6, which cost as much CPU
// as rendering the answer (docs/tools/hiveos-sim.md).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace fleet::hiveossim {

// Whether an Accept-Encoding header value accepts gzip (a "gzip" or "x-gzip" coding or "*",
// not refused with q=0).
bool accepts_gzip(std::string_view accept_encoding);

// `body` as a gzip member at `level` (1..9); nullopt if zlib fails.
std::optional<std::string> gzip(std::string_view body, int level);

}  // namespace fleet::hiveossim
