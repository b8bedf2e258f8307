// Errors returned by the API: {"error": {"code", "message", "field"}} with an HTTP status. The
// message is written for the client and never carries internal detail.
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace fleet::gateway {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, std::string message, std::string field = "")
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        field_(std::move(field)) {}

  static ApiError bad_request(std::string message, std::string field = "") {
    return {400, "invalid_argument", std::move(message), std::move(field)};
  }
  static ApiError not_found(std::string message) { return {404, "not_found", std::move(message)}; }
  static ApiError conflict(std::string message, std::string field = "") {
    return {409, "conflict", std::move(message), std::move(field)};
  }
  static ApiError forbidden(std::string message) { return {403, "forbidden", std::move(message)}; }
  static ApiError unauthenticated(std::string message) {
    return {401, "unauthenticated", std::move(message)};
  }
  static ApiError unprocessable(std::string message, std::string field = "") {
    return {422, "unprocessable", std::move(message), std::move(field)};
  }

  ApiError& with_retry_after(long long seconds) {
    retry_after_ = seconds;
    return *this;
  }
  long long retry_after() const { return retry_after_; }
  // Structured detail for clients (e.g. every problem of a rule with its position).
  ApiError& with_details(nlohmann::json details) {
    details_ = std::move(details);
    return *this;
  }
  const nlohmann::json& details() const { return details_; }
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& field() const { return field_; }

 private:
  int status_;
  std::string code_;
  std::string field_;
  long long retry_after_ = 0;  // seconds, sent as Retry-After (429, 503)
  nlohmann::json details_;
};

}  // namespace fleet::gateway
