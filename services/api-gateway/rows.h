// Turning database rows into API answers: nullable columns, ISO times, and keyset pages. Included
// by the route files only (it brings in pqxx and nlohmann).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "json_writer.h"

namespace fleet::gateway {

// to_char format of every time the API returns: ISO 8601, UTC, whole seconds.
inline constexpr const char* kIsoFormat = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

// SQL text formatting a timestamptz column as kIsoFormat.
inline std::string iso_sql(const std::string& column) {
  return "to_char(" + column + " AT TIME ZONE 'UTC', " + kIsoFormat + ")";
}

inline nlohmann::json opt_text(const pqxx::field& f) {
  return f.is_null() ? nlohmann::json() : nlohmann::json(f.as<std::string>());
}
inline nlohmann::json opt_int(const pqxx::field& f) {
  return f.is_null() ? nlohmann::json() : nlohmann::json(f.as<std::int64_t>());
}
inline nlohmann::json opt_double(const pqxx::field& f) {
  return f.is_null() ? nlohmann::json() : nlohmann::json(f.as<double>());
}

// A keyset page from rows fetched with LIMIT limit + 1: {"items", "next", "limit"}, where "next" is
// the id of the last item shown when the extra row proves there is more (else null).
template <class ToJson>
nlohmann::json keyset_page(const pqxx::result& rows, std::int64_t limit, ToJson to_json) {
  nlohmann::json items = nlohmann::json::array();
  nlohmann::json next;
  for (const auto& r : rows) {
    if (static_cast<std::int64_t>(items.size()) == limit) {
      next = std::to_string(items.back()["id"].get<std::int64_t>());
      break;
    }
    items.push_back(to_json(r));
  }
  return {{"items", std::move(items)}, {"next", std::move(next)}, {"limit", limit}};
}

// The same page written straight to text (the hot list routes): write(JsonWriter&, row) writes one
// item; the first column is the id. The buffer is sized from item_bytes per item plus, when
// sized_by names one, that column's text (a page of large stored documents is never copied to
// grow; one field per row is read for it: every pqxx field is a reference-counted copy).
template <class Write>
std::string keyset_page_text(const pqxx::result& rows, std::int64_t limit, std::size_t item_bytes,
                             Write write, std::optional<pqxx::row::size_type> sized_by = {}) {
  std::size_t bytes = 64 + item_bytes * rows.size();
  if (sized_by) {
    for (pqxx::result::size_type i = 0; i < rows.size(); ++i)
      bytes += rows[i][*sized_by].size();
  }
  JsonWriter w(bytes);
  w.begin_object().key("items").begin_array();
  std::int64_t written = 0;
  std::string next = "null";
  for (const auto& r : rows) {
    if (written == limit) {
      next = "\"" +
             std::string(rows[static_cast<pqxx::result::size_type>(written - 1)][0].c_str()) + "\"";
      break;
    }
    write(w, r);
    ++written;
  }
  w.end_array();
  w.key("next").raw(next).key("limit").integer(limit).end_object();
  return w.take();
}

}  // namespace fleet::gateway
