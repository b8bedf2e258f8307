#include "core/duration.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace fleet {

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return Error::invalid("empty duration");
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
      ++i;
    }
    if (i == start) {
      return Error::invalid("invalid duration '" + std::string(text) + "': expected a number at '" +
                            std::string(text.substr(start)) + "'");
    }
    std::string number(text.substr(start, i - start));
    char* end = nullptr;
    double value = std::strtod(number.c_str(), &end);
    if (end != number.c_str() + number.size() || !std::isfinite(value)) {
      return Error::invalid("invalid duration '" + std::string(text) + "': bad number '" + number +
                            "'");
    }
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else if (unit.empty()) {
      return Error::invalid("invalid duration '" + std::string(text) +
                            "': missing unit after '" + number + "' (use ms, s, m, h or d)");
    } else {
      return Error::invalid("invalid duration '" + std::string(text) + "': unknown unit '" +
                            std::string(unit) + "' (use ms, s, m, h or d)");
    }
    total_ms += value * scale;
    if (total_ms > 1e15) return Error::invalid("duration '" + std::string(text) + "' is too large");
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(total_ms)));
}

std::string format_duration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  if (ms < 1000) return out + std::to_string(ms) + "ms";
  const struct {
    long long size;
    const char* unit;
  } parts[] = {{86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (const auto& part : parts) {
    if (ms >= part.size) {
      out += std::to_string(ms / part.size) + part.unit;
      ms %= part.size;
    }
  }
  return out;
}

}  // namespace fleet
