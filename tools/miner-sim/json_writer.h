// A small, fast streaming JSON writer. The simulator answers tens of thousands of requests per
// second; building payloads with a DOM library would make it the bottleneck of the pollers'
// benchmarks. Output is compact and always valid JSON when calls are balanced.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fleet::minersim {

class JsonWriter {
 public:
  // Appends to `out` (which the caller may reuse between payloads to avoid allocations).
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // The next value belongs to this key. REQUIRES: inside an object.
  JsonWriter& key(std::string_view k);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(bool b);
  JsonWriter& value(int v) { return value(static_cast<int64_t>(v)); }
  JsonWriter& value(int64_t v);
  JsonWriter& value(uint64_t v);
  // A float with a fixed number of decimals. decimals == 0 still prints "N.0" so that the value
  // reads as a float, as the firmware's serializer does (e.g. "power_usage": 3733.0).
  JsonWriter& number(double v, int decimals);
  JsonWriter& null();
  // Inserts already-serialized JSON as the next value.
  JsonWriter& raw(std::string_view json);

  // Shorthands: key + value.
  template <class T>
  JsonWriter& field(std::string_view k, T v) {
    key(k);
    return value(v);
  }
  JsonWriter& field_number(std::string_view k, double v, int decimals) {
    key(k);
    return number(v, decimals);
  }
  JsonWriter& field_null(std::string_view k) {
    key(k);
    return null();
  }

 private:
  void before_value();

  std::string& out_;
  // Bit i set: the container at depth i already holds an element (so the next needs a comma).
  uint64_t has_element_ = 0;
  int depth_ = 0;
  bool after_key_ = false;
};

// Appends `s` as a JSON string literal (quoted, escaped).
void append_json_string(std::string& out, std::string_view s);

}  // namespace fleet::minersim
