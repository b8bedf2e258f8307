// Strict parsing of JSON request bodies: one object, a bounded depth, no unknown fields, every
// value type- and range-checked. Every failure is an ApiError 400 naming the field.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api_error.h"

namespace fleet::gateway {

class JsonBody {
 public:
  // Parses `text` (valid UTF-8 JSON object, nesting at most `max_depth`).
  static JsonBody parse(std::string_view text, int max_depth = 16);
  explicit JsonBody(nlohmann::json object, std::string prefix = "")
      : doc_(std::move(object)), prefix_(std::move(prefix)) {}

  // Fails on any field not listed.
  void only(std::initializer_list<std::string_view> fields) const;
  bool has(const char* field) const { return doc_.contains(field) && !doc_[field].is_null(); }

  std::string string(const char* field, std::size_t max_length, bool allow_empty = false) const;
  std::optional<std::string> opt_string(const char* field, std::size_t max_length,
                                        bool allow_empty = false) const;
  std::optional<bool> opt_bool(const char* field) const;
  std::int64_t integer(const char* field, std::int64_t min, std::int64_t max) const;
  std::optional<std::int64_t> opt_integer(const char* field, std::int64_t min,
                                          std::int64_t max) const;
  std::optional<double> opt_number(const char* field, double min, double max) const;
  // Any JSON object (checked for size by the server's body limit).
  std::optional<nlohmann::json> opt_object(const char* field) const;
  std::optional<nlohmann::json> opt_array(const char* field) const;
  const nlohmann::json& raw() const { return doc_; }
  std::string name(const char* field) const { return prefix_ + field; }

 private:
  const nlohmann::json* get(const char* field) const;
  nlohmann::json doc_;
  std::string prefix_;  // "items[3]." for nested objects, so errors name the right field
};

}  // namespace fleet::gateway
