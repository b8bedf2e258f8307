// A small streaming JSON writer for the hot list routes: text straight from database rows, without
// building a document first (nlohmann's DOM costs an allocation per value, which dominated
// GET /api/miners). Strings are made valid UTF-8 and escaped; non-finite numbers become null.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fleet::gateway {

class JsonWriter {
 public:
  explicit JsonWriter(std::size_t reserve = 4096) { out_.reserve(reserve); }

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // The next value's key (inside an object).
  JsonWriter& key(std::string_view name);

  JsonWriter& string(std::string_view text);
  JsonWriter& number(double value);
  JsonWriter& integer(std::int64_t value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  // Already-encoded JSON, inserted as one value.
  JsonWriter& raw(std::string_view json);
  // A timestamptz as PostgreSQL writes it in a UTC, ISO session ("2026-12-05 00:07:28.12+00")
  // as RFC 3339 to the second ("2026-12-05T00:07:28Z"), what to_char(... 'YYYY-MM-DD"T"...')
  // gives at a fifth of the database's cost. Text of any other shape is written as it is.
  JsonWriter& utc_timestamp(std::string_view pg_text);

  std::string take() { return std::move(out_); }

 private:
  void separate();
  std::string out_;
  bool first_ = true;  // no comma before the next value or key
  bool after_key_ = false;
};

}  // namespace fleet::gateway
