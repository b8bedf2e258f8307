#include "table.h"

#include <algorithm>
#include <cmath>

namespace fleet::cli {
namespace {

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;  // count code points, not bytes
  }
  return n;
}

std::string shorten(const std::string& s, size_t max) {
  if (display_width(s) <= max) return s;
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++n > max - 1) break;
    out += s[i];
  }
  return out + "…";
}

}  // namespace

std::string Table::render(size_t max_cell) const {
  std::vector<std::vector<std::string>> all;
  all.push_back(headers_);
  for (const auto& r : rows_) {
    std::vector<std::string> cells;
    for (const auto& c : r) {
      std::string flat = c;
      std::replace(flat.begin(), flat.end(), '\n', ' ');
      cells.push_back(shorten(flat, max_cell));
    }
    all.push_back(std::move(cells));
  }
  std::vector<size_t> widths(headers_.size(), 0);
  for (const auto& r : all) {
    for (size_t i = 0; i < r.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(r[i]));
    }
  }
  std::string out;
  for (const auto& r : all) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < r.size() ? r[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - display_width(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string short_age(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  auto s = static_cast<long long>(seconds);
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  if (s < 86'400) {
    return std::to_string(s / 3600) + "h" +
           (s % 3600 / 60 ? std::to_string(s % 3600 / 60) + "m" : "");
  }
  return std::to_string(s / 86'400) + "d" +
         (s % 86'400 / 3600 ? std::to_string(s % 86'400 / 3600) + "h" : "");
}

}  // namespace fleet::cli
