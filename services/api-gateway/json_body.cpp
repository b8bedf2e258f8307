#include "json_body.h"

#include <cmath>
#include <optional>
#include <vector>

#include "core/json_depth.h"
#include "core/strings.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;

// The first string or object key holding a NUL character, as the field path to name in the
// error ("labels", "name", "steps[1].params"), or nullopt. PostgreSQL cannot store NUL in text or
// jsonb: it cut "ab\u0000cd" to "ab" or refused the row with no field named (issue 15.4).
// Depth is bounded by the parse's max_depth.
std::optional<std::string> nul_field(const json& node, const std::string& path) {
  if (node.is_string()) {
    if (node.get_ref<const std::string&>().find('\0') != std::string::npos) return path;
    return std::nullopt;
  }
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key.find('\0') != std::string::npos) return path.empty() ? std::string("body") : path;
      // A client's key may be long: the path names at most its first 64 characters.
      const std::string child = (path.empty() ? "" : path + ".") + key.substr(0, 64);
      if (auto found = nul_field(value, child)) return found;
    }
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (auto found = nul_field(node[i], path + "[" + std::to_string(i) + "]")) return found;
    }
  }
  return std::nullopt;
}

}  // namespace

JsonBody JsonBody::parse(std::string_view text, int max_depth) {
  if (text.empty()) throw ApiError::bad_request("request body must be a JSON object");
  if (!is_valid_utf8(text)) throw ApiError::bad_request("request body is not valid UTF-8");
  if (json_nesting_depth(text, max_depth) > max_depth) {
    throw ApiError::bad_request("request body is nested deeper than " + std::to_string(max_depth));
  }
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw ApiError::bad_request("request body is not valid JSON");
  if (!doc.is_object()) throw ApiError::bad_request("request body must be a JSON object");
  if (auto field = nul_field(doc, "")) {
    throw ApiError::bad_request(
        "'" + *field + "' holds a NUL character (\\u0000), which is not allowed", *field);
  }
  return JsonBody(std::move(doc));
}

void JsonBody::only(std::initializer_list<std::string_view> fields) const {
  for (const auto& [key, value] : doc_.items()) {
    bool known = false;
    for (auto f : fields)
      known = known || f == key;
    if (!known) {
      std::vector<std::string> names(fields.begin(), fields.end());
      std::string message = "unknown field '" + prefix_ + key + "'";
      if (auto guess = closest_match(key, names); !guess.empty())
        message += " (did you mean '" + guess + "'?)";
      throw ApiError::bad_request(message, prefix_ + key);
    }
  }
}

const json* JsonBody::get(const char* field) const {
  auto it = doc_.find(field);
  if (it == doc_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> JsonBody::opt_string(const char* field, std::size_t max_length,
                                                bool allow_empty) const {
  const json* v = get(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string())
    throw ApiError::bad_request("'" + name(field) + "' must be a string", name(field));
  std::string s = v->get<std::string>();
  if (s.size() > max_length) {
    throw ApiError::bad_request(
        "'" + name(field) + "' is longer than " + std::to_string(max_length) + " bytes",
        name(field));
  }
  if (!allow_empty && trim(s).empty()) {
    throw ApiError::bad_request("'" + name(field) + "' must not be empty", name(field));
  }
  if (s.find('\0') != std::string::npos) {
    throw ApiError::bad_request("'" + name(field) + "' must not contain NUL", name(field));
  }
  return s;
}

std::string JsonBody::string(const char* field, std::size_t max_length, bool allow_empty) const {
  auto s = opt_string(field, max_length, allow_empty);
  if (!s) throw ApiError::bad_request("'" + name(field) + "' is required", name(field));
  return *s;
}

std::optional<bool> JsonBody::opt_bool(const char* field) const {
  const json* v = get(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean())
    throw ApiError::bad_request("'" + name(field) + "' must be true or false", name(field));
  return v->get<bool>();
}

std::optional<std::int64_t> JsonBody::opt_integer(const char* field, std::int64_t min,
                                                  std::int64_t max) const {
  const json* v = get(field);
  if (v == nullptr) return std::nullopt;
  const std::string range = " (" + std::to_string(min) + ".." + std::to_string(max) + ")";
  if (!v->is_number_integer()) {
    throw ApiError::bad_request("'" + name(field) + "' must be an integer" + range, name(field));
  }
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    throw ApiError::bad_request("'" + name(field) + "' is out of range" + range, name(field));
  }
  std::int64_t i = v->get<std::int64_t>();
  if (i < min || i > max)
    throw ApiError::bad_request("'" + name(field) + "' is out of range" + range, name(field));
  return i;
}

std::int64_t JsonBody::integer(const char* field, std::int64_t min, std::int64_t max) const {
  auto i = opt_integer(field, min, max);
  if (!i) throw ApiError::bad_request("'" + name(field) + "' is required", name(field));
  return *i;
}

std::optional<double> JsonBody::opt_number(const char* field, double min, double max) const {
  const json* v = get(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number())
    throw ApiError::bad_request("'" + name(field) + "' must be a number", name(field));
  double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    throw ApiError::bad_request("'" + name(field) + "' is out of range", name(field));
  }
  return d;
}

std::optional<json> JsonBody::opt_object(const char* field) const {
  const json* v = get(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object())
    throw ApiError::bad_request("'" + name(field) + "' must be an object", name(field));
  return *v;
}

std::optional<json> JsonBody::opt_array(const char* field) const {
  const json* v = get(field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array())
    throw ApiError::bad_request("'" + name(field) + "' must be an array", name(field));
  return *v;
}

}  // namespace fleet::gateway
