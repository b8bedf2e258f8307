// Human-readable durations: "250ms", "30s", "5m", "1h30m", "2d". Used by configuration and rules.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"

namespace fleet {

// Parses a sequence of <number><unit> parts (units ms, s, m, h, d; numbers may have a fraction).
// A bare number is rejected: callers that accept bare seconds convert before calling.
// Errors name the offending text.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// Inverse of parse_duration for display: 90000ms -> "1m30s", 250ms -> "250ms", 0 -> "0s".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace fleet
