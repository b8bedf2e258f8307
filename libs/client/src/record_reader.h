// Reading the API's JSON records field by field (src only): a missing required field or a wrong
// type is a ProtocolError naming the record and the field; nulls become std::optional.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "client/errors.h"

namespace fleet::client::record {

using json = nlohmann::json;

inline std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Reads one record's fields; a missing required field or a wrong type is a ProtocolError
// naming the record and the field.
class Reader {
 public:
  Reader(const json& j, const char* what) : j_(j), what_(what) {
    if (!j.is_object()) throw ProtocolError(std::string("a ") + what + " is not a JSON object");
  }
  const json* find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  [[noreturn]] void fail(const char* key, const char* expected) const {
    throw ProtocolError(std::string("the ") + what_ + "'s '" + key + "' is missing or not " +
                        expected);
  }
  std::string str(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_string()) fail(key, "a string");
    return v->get<std::string>();
  }
  std::optional<std::string> opt_str(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail(key, "a string");
    return v->get<std::string>();
  }
  std::int64_t i64(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_number_integer()) fail(key, "an integer");
    return v->get<std::int64_t>();
  }
  std::optional<std::int64_t> opt_i64(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) fail(key, "an integer");
    return v->get<std::int64_t>();
  }
  double num(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_number()) fail(key, "a number");
    return v->get<double>();
  }
  std::optional<double> opt_num(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) fail(key, "a number");
    return v->get<double>();
  }
  bool boolean(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_boolean()) fail(key, "true or false");
    return v->get<bool>();
  }
  Reader object(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_object()) fail(key, "an object");
    return Reader(*v, key);
  }

 private:
  const json& j_;
  const char* what_;
};

inline const json& items_of(const json& page) {
  if (!page.is_object() || !page.contains("items") || !page["items"].is_array())
    throw ProtocolError("the answer has no 'items' list");
  return page["items"];
}

}  // namespace fleet::client::record
