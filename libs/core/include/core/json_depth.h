// How deeply a JSON text nests, found by a scan of its brackets outside strings, before anything
// parses it: a deeply nested document is cheap to send and expensive (recursive) to parse. Used
// by every reader of outside JSON (firmware payloads, MQTT state messages, HTTP bodies).
#pragma once

#include <string_view>

namespace fleet {

// The deepest level of '[' / '{' outside string literals ("1" = 0, "[]" = 1, "[{}]" = 2). Not a
// validator: malformed text gives some number and is refused by the parser afterwards. Stops
// scanning as soon as `stop_above` is exceeded (the result is then stop_above + 1).
int json_nesting_depth(std::string_view text, int stop_above = 1 << 30);

}  // namespace fleet
