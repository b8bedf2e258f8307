#include "json_fields.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "core/json_depth.h"
#include "core/strings.h"

namespace fleet::firmware {

using detail::json;

Status check_limits(std::string_view body, const PayloadLimits& limits) {
  if (body.size() > limits.max_bytes) {
    return Error(ErrorKind::kDataLoss, "body of " + std::to_string(body.size()) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(limits.max_bytes));
  }
  if (json_nesting_depth(body, limits.max_depth) > limits.max_depth) {
    return Error(ErrorKind::kDataLoss,
                 "JSON nesting exceeds the limit of " + std::to_string(limits.max_depth));
  }
  return Status::success();
}

HashMeasure hash_measure_of(std::string_view hr_measure) {
  return to_lower(trim(hr_measure)) == "mh/s" ? HashMeasure::kMhs : HashMeasure::kGhs;
}

std::string error_text(std::string_view body) {
  if (body.size() > 64 * 1024 || !check_limits(body, {}).ok()) return "";
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return "";
  auto it = doc.find("err");
  if (it == doc.end() || !it->is_string()) return "";
  std::string text = sanitize_utf8(it->get_ref<const std::string&>());
  if (text.size() > 200) text.resize(200);
  return std::string(trim(text));
}

std::optional<std::string> normalize_mac(std::string_view text) {
  text = trim(text);
  if (text.size() != 17) return std::nullopt;
  std::string out;
  out.reserve(17);
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i % 3 == 2) {
      if (c != ':' && c != '-') return std::nullopt;
      out += ':';
    } else if (std::isxdigit(static_cast<unsigned char>(c))) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

namespace detail {

Error payload_error(std::string_view what, std::string_view problem) {
  return Error(ErrorKind::kDataLoss, std::string(what) + ": " + std::string(problem));
}

void add_issue(FieldIssues* issues, std::string text) {
  constexpr size_t kMaxIssues = 32;
  if (issues == nullptr || issues->size() >= kMaxIssues) return;
  issues->push_back(std::move(text));
}

Result<json> parse_document(std::string_view body, const PayloadLimits& limits,
                            std::string_view what) {
  if (Status s = check_limits(body, limits); !s.ok())
    return payload_error(what, s.error().message());
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    const bool empty = trim(body).empty();
    return payload_error(what, empty ? "empty body" : "not valid JSON");
  }
  return doc;
}

namespace {
const json& null_json() {
  static const json kNull;
  return kNull;
}
}  // namespace

bool FieldReader::has(std::string_view key) const {
  return object_.is_object() && object_.find(key) != object_.end();
}

const json& FieldReader::member(std::string_view key) const {
  if (!object_.is_object()) return null_json();
  auto it = object_.find(key);
  return it == object_.end() ? null_json() : *it;
}

std::string FieldReader::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void FieldReader::issue(std::string_view key, std::string_view problem) const {
  add_issue(issues_, path_of(key) + ": " + std::string(problem));
}

std::optional<double> FieldReader::number(std::string_view key, double min, double max) const {
  const json& v = member(key);
  if (v.is_null()) return std::nullopt;
  if (!v.is_number()) {
    issue(key, "expected a number");
    return std::nullopt;
  }
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    issue(key, "out of range");
    return std::nullopt;
  }
  return d;
}

std::optional<std::int64_t> FieldReader::integer(std::string_view key, std::int64_t min,
                                                 std::int64_t max) const {
  const json& v = member(key);
  if (v.is_null()) return std::nullopt;
  std::int64_t out = 0;
  if (v.is_number_integer()) {
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max)) {
        issue(key, "out of range");
        return std::nullopt;
      }
      out = static_cast<std::int64_t>(u);
    } else {
      out = v.get<std::int64_t>();
    }
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9e15) {
      issue(key, "expected an integer");
      return std::nullopt;
    }
    out = static_cast<std::int64_t>(d);
  } else {
    issue(key, "expected an integer");
    return std::nullopt;
  }
  if (out < min || out > max) {
    issue(key, "out of range");
    return std::nullopt;
  }
  return out;
}

std::optional<int> FieldReader::int32(std::string_view key, int min, int max) const {
  auto v = integer(key, min, max);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<std::string> FieldReader::string(std::string_view key, std::size_t max_length) const {
  const json& v = member(key);
  if (v.is_null()) return std::nullopt;
  if (!v.is_string()) {
    issue(key, "expected a string");
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  std::string out = is_valid_utf8(s) ? s : sanitize_utf8(s);
  // A NUL (JSON "\u0000") cannot be stored in PostgreSQL text.
  out.erase(std::remove(out.begin(), out.end(), '\0'), out.end());
  if (out.size() > max_length) {
    out.resize(max_length);
    out = sanitize_utf8(out);  // the cut may split a character
  }
  return out;
}

std::optional<bool> FieldReader::boolean(std::string_view key) const {
  const json& v = member(key);
  if (v.is_null()) return std::nullopt;
  if (!v.is_boolean()) {
    issue(key, "expected true or false");
    return std::nullopt;
  }
  return v.get<bool>();
}

const json* FieldReader::object(std::string_view key) const {
  const json& v = member(key);
  if (v.is_null()) return nullptr;
  if (!v.is_object()) {
    issue(key, "expected an object");
    return nullptr;
  }
  return &v;
}

const json* FieldReader::array(std::string_view key) const {
  const json& v = member(key);
  if (v.is_null()) return nullptr;
  if (!v.is_array()) {
    issue(key, "expected an array");
    return nullptr;
  }
  return &v;
}

FieldReader FieldReader::child(std::string_view key) const {
  const json* o = object(key);
  return FieldReader(o != nullptr ? *o : null_json(), path_of(key), issues_);
}

}  // namespace detail
}  // namespace fleet::firmware
