// Build identity, fixed at configure time.
#pragma once

#include <string_view>

namespace fleet {

// "0.1.0"
std::string_view version();
// Short git revision of the source tree, with "-dirty" when it had uncommitted changes; "unknown"
// outside a git checkout.
std::string_view git_revision();
// "0.1.0 (abc1234)"
std::string_view version_string();

}  // namespace fleet
