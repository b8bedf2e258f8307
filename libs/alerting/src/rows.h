// Fast conversions of result fields (private). libpqxx 6's as<double>() goes through streams;
// the evaluator reads hundreds of thousands of fields per cycle.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/field>

#include "rules/episode.h"

namespace fleet::alerting {

inline std::int64_t to_i64(const pqxx::field& f) {
  std::int64_t v = 0;
  const char* s = f.c_str();
  std::from_chars(s, s + f.size(), v);
  return v;
}

inline double to_f64(const pqxx::field& f) {
  double v = 0;
  const char* s = f.c_str();
  std::from_chars(s, s + f.size(), v);
  return v;
}

inline std::optional<std::int64_t> opt_i64(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return to_i64(f);
}

inline std::optional<double> opt_f64(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return to_f64(f);
}

inline std::optional<std::string> opt_str(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return std::string(f.c_str(), f.size());
}

inline std::string str(const pqxx::field& f) {
  return std::string(f.c_str(), f.size());
}

inline rules::Time to_time(std::int64_t ms) {
  return rules::Time(std::chrono::milliseconds(ms));
}

inline std::optional<rules::Time> opt_time(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return to_time(to_i64(f));
}

inline std::int64_t ms_of(rules::Time t) {
  return t.time_since_epoch().count();
}

}  // namespace fleet::alerting
