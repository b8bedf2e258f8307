// Checks shared by the JSON decoders of the relay layouts (nesting: core/json_depth.h).
#pragma once

#include <cstddef>
#include <string_view>

namespace fleet::relay::detail {

// [A-Za-z0-9._:-]{1,128}
bool valid_request_id(std::string_view id);

}  // namespace fleet::relay::detail
