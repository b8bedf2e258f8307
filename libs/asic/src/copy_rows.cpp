#include "asic/copy_rows.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>

namespace fleet::asic {

CopyField field(std::int64_t v) {
  return {std::to_string(v), false};
}

CopyField field(double v) {
  if (!std::isfinite(v)) return null_field();
  return {fmt::format("{}", v), false};
}

CopyField field(std::string_view text) {
  return {std::string(text), false};
}

CopyField field(bool v) {
  return {v ? "t" : "f", false};
}

std::string timestamp_text(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us % 1'000'000);
}

CopyField timestamp_field(std::chrono::system_clock::time_point t) {
  return {timestamp_text(t), false};
}

CopyField int_array(const std::vector<std::optional<std::int64_t>>& values, bool null_if_empty) {
  if (values.empty() && null_if_empty) return null_field();
  std::string out;
  out.reserve(values.size() * 5 + 2);
  out += '{';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (values[i]) {
      fmt::format_to(std::back_inserter(out), "{}", *values[i]);
    } else {
      out += "NULL";
    }
  }
  out += '}';
  return {std::move(out), false};
}

CopyField int_array(const std::vector<std::int64_t>& values, bool null_if_empty) {
  if (values.empty() && null_if_empty) return null_field();
  std::string out;
  out.reserve(values.size() * 5 + 2);
  out += '{';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    fmt::format_to(std::back_inserter(out), "{}", values[i]);
  }
  out += '}';
  return {std::move(out), false};
}

}  // namespace fleet::asic
