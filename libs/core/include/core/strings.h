// Small string helpers shared by the libraries.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fleet {

std::string_view trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string to_lower(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);

// Replaces every byte sequence that is not valid UTF-8 with U+FFFD, so text from devices can be
// written into JSON and logs safely.
std::string sanitize_utf8(std::string_view text);
bool is_valid_utf8(std::string_view text);

// Levenshtein distance, for "did you mean" suggestions.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo, else "".
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

// Masks secrets in free text before it is logged, stored or returned: the password in
// scheme://user:password@host URLs, `password=...` in libpq conninfo strings, and the values of
// x-api-key / Authorization headers.
std::string redact_secrets(std::string_view text);

}  // namespace fleet
