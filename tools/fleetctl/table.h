// Plain-text tables for terminal output.
#pragma once

#include <string>
#include <vector>

namespace fleet::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Columns padded to their widest cell (UTF-8 aware), two spaces apart; cells longer than
  // max_cell characters are shortened with "…".
  std::string render(size_t max_cell = 60) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "3s", "4m", "2h5m", "3d": a compact age for tables.
std::string short_age(double seconds);

}  // namespace fleet::cli
