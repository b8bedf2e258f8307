// Checks shared by the JSON decoders of the relay layouts.
#pragma once

#include <cstddef>
#include <string_view>

namespace fleet::relay::detail {

// The deepest nesting of objects/arrays in `text` (strings and escapes are skipped). Run before
// parsing so a hostile payload never reaches the parser's recursion.
int json_nesting(std::string_view text);

// [A-Za-z0-9._:-]{1,128}
bool valid_request_id(std::string_view id);

}  // namespace fleet::relay::detail
