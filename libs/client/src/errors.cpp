#include "client/errors.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace fleet::client {
namespace {

using json = nlohmann::json;

std::string text_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<int> int_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  const auto v = it->get<std::int64_t>();
  if (v < INT32_MIN || v > INT32_MAX) return std::nullopt;
  return static_cast<int>(v);
}

// Retry-After in seconds: the header (delta-seconds), else the body's retry_after; at least 1.
std::chrono::seconds retry_after_of(std::string_view header, const json& error) {
  long long seconds = 0;
  if (!header.empty()) {
    auto [ptr, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
    if (ec != std::errc() || ptr != header.data() + header.size()) seconds = 0;
  }
  if (seconds <= 0) {
    auto it = error.find("retry_after");
    if (it != error.end() && it->is_number_integer()) seconds = it->get<long long>();
  }
  return std::chrono::seconds(std::max(seconds, 1LL));
}

std::string default_message(int status) {
  switch (status) {
    case 400:
      return "bad request";
    case 401:
      return "authentication required";
    case 403:
      return "forbidden";
    case 404:
      return "not found";
    case 409:
      return "conflict";
    case 422:
      return "unprocessable request";
    case 429:
      return "too many requests";
    case 503:
      return "service unavailable";
    default:
      return "HTTP status " + std::to_string(status);
  }
}

}  // namespace

ApiError::ApiError(int status, std::string code, std::string message, std::string field,
                   std::string details_json)
    : Error(message),
      status_(status),
      code_(std::move(code)),
      message_(std::move(message)),
      field_(std::move(field)),
      details_json_(std::move(details_json)) {}

std::vector<Problem> ApiError::problems() const {
  std::vector<Problem> out;
  if (details_json_.empty()) return out;
  json details = json::parse(details_json_, nullptr, false);
  if (!details.is_object() || !details.contains("problems") || !details["problems"].is_array()) {
    return out;
  }
  for (const auto& p : details["problems"]) {
    if (!p.is_object()) continue;
    out.push_back({text_of(p, "field"), text_of(p, "message"), int_of(p, "position"),
                   int_of(p, "length"), int_of(p, "column")});
  }
  return out;
}

std::string ApiError::describe() const {
  if (field_.empty()) return message_;
  return message_ + " (field: " + field_ + ")";
}

void throw_api_error(int status, std::string_view body, std::string_view retry_after_header) {
  json doc = json::parse(body, nullptr, false);
  json error = json::object();
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) error = doc["error"];
  std::string code = text_of(error, "code");
  std::string message = text_of(error, "message");
  std::string field = text_of(error, "field");
  std::string details;
  if (error.contains("details") && !error["details"].is_null()) {
    details = error["details"].dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (message.empty()) message = default_message(status);
  if (code.empty()) code = "http_" + std::to_string(status);
  switch (status) {
    case 400:
    case 413:
    case 422:
      throw ValidationError(status, code, message, field, details);
    case 401:
      throw AuthenticationError(status, code, message, field, details);
    case 403:
      throw PermissionError(status, code, message, field, details);
    case 404:
      throw NotFoundError(status, code, message, field, details);
    case 409:
      throw ConflictError(status, code, message, field, details);
    case 429:
      throw RateLimitError(status, code, message, field, details,
                           retry_after_of(retry_after_header, error));
    default:
      break;
  }
  if (status >= 500) {
    const bool has_retry = !retry_after_header.empty() || error.contains("retry_after");
    throw ServerError(
        status, code, message, field, details,
        has_retry ? retry_after_of(retry_after_header, error) : std::chrono::seconds(0));
  }
  throw ApiError(status, code, message, field, details);
}

}  // namespace fleet::client
