// Rows for COPY ... FROM STDIN through pqxx::stream_to (libpqxx 6.4 streams tuples; a
// std::array<CopyField, N> is one). Each field is already in PostgreSQL's text input form; the
// stream escapes it for the COPY text format, and a null field becomes \N.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/strconv>

namespace fleet::asic {

struct CopyField {
  std::string text;
  bool null = false;
};

inline CopyField null_field() {
  return {{}, true};
}
CopyField field(std::int64_t v);
inline CopyField field(int v) {
  return field(static_cast<std::int64_t>(v));
}
// Non-finite values are NULL (the firmware's NaN is no value, not a number).
CopyField field(double v);
CopyField field(std::string_view text);  // text is stored as is (the stream escapes it)
inline CopyField field(const std::string& text) {
  return field(std::string_view(text));
}
inline CopyField field(const char* text) {
  return field(std::string_view(text));
}
CopyField field(bool v);
template <class T>
CopyField field(const std::optional<T>& v) {
  return v ? field(*v) : null_field();
}
// "2025-06-01 12:00:00.123456+00"
CopyField timestamp_field(std::chrono::system_clock::time_point t);
// A PostgreSQL array literal "{1,NULL,3}" (an empty vector is "{}"); `null_if_empty` gives NULL.
CopyField int_array(const std::vector<std::optional<std::int64_t>>& values,
                    bool null_if_empty = false);
CopyField int_array(const std::vector<std::int64_t>& values, bool null_if_empty = false);

// Time as PostgreSQL text, for parameters too.
std::string timestamp_text(std::chrono::system_clock::time_point t);

}  // namespace fleet::asic

namespace pqxx {
template <>
struct string_traits<fleet::asic::CopyField> {
  static constexpr const char* name() noexcept { return "fleet::asic::CopyField"; }
  static constexpr bool has_null() noexcept { return true; }
  static bool is_null(const fleet::asic::CopyField& f) { return f.null; }
  static fleet::asic::CopyField null() { return fleet::asic::null_field(); }
  static void from_string(const char text[], fleet::asic::CopyField& f) { f = {text, false}; }
  static std::string to_string(const fleet::asic::CopyField& f) { return f.text; }
};
}  // namespace pqxx
