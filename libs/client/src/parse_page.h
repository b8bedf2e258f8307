// Template part of parse.h.
#pragma once

#include "client/errors.h"

namespace fleet::client::parse {

template <class T, class Fn>
Page<T> page(const nlohmann::json& j, Fn item) {
  if (!j.is_object() || !j.contains("items") || !j["items"].is_array()) {
    throw ProtocolError("the answer has no 'items' list");
  }
  Page<T> out;
  out.items.reserve(j["items"].size());
  for (const auto& i : j["items"])
    out.items.push_back(item(i));
  if (j.contains("next") && !j["next"].is_null()) {
    if (j["next"].is_string()) {
      out.next = j["next"].get<std::string>();
    } else if (j["next"].is_number_integer()) {
      out.next = std::to_string(j["next"].get<std::int64_t>());
    } else {
      throw ProtocolError("the page cursor 'next' is neither a string nor null");
    }
  }
  if (j.contains("limit") && j["limit"].is_number_integer())
    out.limit = j["limit"].get<std::int64_t>();
  return out;
}

}  // namespace fleet::client::parse
