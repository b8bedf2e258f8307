#include "core/strings.h"

#include <algorithm>
#include <cctype>

namespace fleet {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.emplace_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

namespace {
// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is invalid.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t len = 0;
  unsigned int cp = 0;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Reject overlong forms, surrogates and code points beyond U+10FFFF.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    return 0;
  }
  return len;
}
}  // namespace

bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    size_t len = utf8_sequence_length(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

namespace {

// Hand-written scanners, not std::regex: libstdc++'s regex executor recurses once per character
// matched, so a pattern like '(?:[^'\\]|\\.)*' overflowed the stack on a 100,000-character value
// in a log line (issue 15.1). Each pass is linear and keeps what the old expressions kept.

bool space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

bool starts_with_icase(std::string_view text, size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != word[i]) return false;
  }
  return true;
}

size_t skip_space(std::string_view text, size_t i) {
  while (i < text.size() && space(text[i]))
    ++i;
  return i;
}

// scheme://user:PASSWORD@ -> scheme://user:***@
std::string mask_url_passwords(std::string_view text) {
  std::string out;
  size_t copied = 0;
  for (size_t at = text.find("://"); at != std::string_view::npos; at = text.find("://", at + 3)) {
    if (at == 0 || !std::isalnum(static_cast<unsigned char>(text[at - 1]))) continue;
    size_t i = at + 3;
    while (i < text.size() && !space(text[i]) &&
           std::string_view(":/?#@").find(text[i]) == std::string_view::npos)
      ++i;
    if (i >= text.size() || text[i] != ':') continue;
    const size_t password = i + 1;
    size_t end = password;
    while (end < text.size() && text[end] != '@' && !space(text[end]))
      ++end;
    if (end >= text.size() || text[end] != '@') continue;
    out.append(text.substr(copied, password - copied)).append("***");
    copied = end;
    at = end;
  }
  return out.append(text.substr(copied));
}

// password = VALUE (a quoted value with backslash escapes, or up to space or &) -> password=***
std::string mask_password_values(std::string_view text) {
  std::string out;
  size_t copied = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!starts_with_icase(text, i, "password")) continue;
    size_t eq = skip_space(text, i + 8);
    if (eq >= text.size() || text[eq] != '=') continue;
    const size_t value = skip_space(text, eq + 1);
    size_t end = value;
    if (value < text.size() && text[value] == '\'') {
      size_t j = value + 1;
      while (j < text.size() && text[j] != '\'')
        j += text[j] == '\\' && j + 1 < text.size() ? 2 : 1;
      if (j < text.size()) end = j + 1;  // closed quote; an open one falls back to the bare form
    }
    if (end == value) {
      while (end < text.size() && !space(text[end]) && text[end] != '&')
        ++end;
    }
    if (end == value) continue;
    out.append(text.substr(copied, value - copied)).append("***");
    copied = end;
    i = end - 1;
  }
  return out.append(text.substr(copied));
}

// X-API-Key: VALUE / Authorization: [Bearer ]VALUE -> ***
std::string mask_header_values(std::string_view text) {
  std::string out;
  size_t copied = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    size_t name_end = 0;
    if (starts_with_icase(text, i, "x-api-key")) {
      name_end = i + 9;
    } else if (starts_with_icase(text, i, "authorization")) {
      name_end = i + 13;
    } else {
      continue;
    }
    size_t colon = skip_space(text, name_end);
    if (colon >= text.size() || text[colon] != ':') continue;
    size_t value = skip_space(text, colon + 1);
    if (starts_with_icase(text, value, "bearer") && value + 6 < text.size() &&
        space(text[value + 6])) {
      value = skip_space(text, value + 6);
    }
    size_t end = value;
    while (end < text.size() && !space(text[end]) && text[end] != '"' && text[end] != ',')
      ++end;
    if (end == value) continue;
    out.append(text.substr(copied, value - copied)).append("***");
    copied = end;
    i = end - 1;
  }
  return out.append(text.substr(copied));
}

}  // namespace

std::string redact_secrets(std::string_view text) {
  return mask_header_values(mask_password_values(mask_url_passwords(text)));
}

}  // namespace fleet
