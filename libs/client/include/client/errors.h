// What the fleetward client throws. Every failure of a call is a client::Error: either the API
// answered with an error (ApiError and its subclasses, mapped from the status and the server's
// {"error": {"code", "message", "field", "retry_after"?, "details"?}} body), or no usable answer
// arrived (ConnectionError, ProtocolError), or the client was set up wrongly (ConfigurationError).
//
// Messages never contain credentials: neither the API key, the password nor the session token.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace fleet::client {

// Base of every exception the client throws (seed 004's AppError).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The options are unusable (bad base URL, no credentials where some are required).
class ConfigurationError : public Error {
 public:
  using Error::Error;
};

// No HTTP answer: refused, timed out, reset. Safe GETs are retried before this is thrown.
class ConnectionError : public Error {
 public:
  using Error::Error;
};

// An answer arrived but is not what the API promises (not JSON, a missing field, a cursor that
// does not advance).
class ProtocolError : public Error {
 public:
  using Error::Error;
};

// One problem of a refused rule or condition, pointing into the condition text when it can.
struct Problem {
  std::string field;  // "condition", "clear_condition", "actions[1].after", ...
  std::string message;
  std::optional<int> position;  // 0-based byte offset in the field's text
  std::optional<int> length;
  std::optional<int> column;  // 1-based
};

// The API answered with an error status.
class ApiError : public Error {
 public:
  ApiError(int status, std::string code, std::string message, std::string field = "",
           std::string details_json = "");

  int status() const { return status_; }
  // The server's machine-readable code: "invalid_argument", "not_found", "rate_limited", ...
  const std::string& code() const { return code_; }
  // The server's message for people (also what()).
  const std::string& message() const { return message_; }
  // The request field at fault ("condition", "params.preset", ...), "" when none.
  const std::string& field() const { return field_; }
  // The "details" object as JSON text ("" when absent).
  const std::string& details_json() const { return details_json_; }
  // Every problem listed in details.problems (rules), else empty.
  std::vector<Problem> problems() const;
  // "message (field: x)": what a command line prints.
  std::string describe() const;

 private:
  int status_;
  std::string code_;
  std::string message_;
  std::string field_;
  std::string details_json_;
};

// 401: missing, wrong or expired credentials (also a wrong password at login).
class AuthenticationError : public ApiError {
 public:
  using ApiError::ApiError;
};

// 403: authenticated, but the role does not allow this.
class PermissionError : public ApiError {
 public:
  using ApiError::ApiError;
};

// 404: no such record or endpoint.
class NotFoundError : public ApiError {
 public:
  using ApiError::ApiError;
};

// 400 and 422: the request is wrong; field() names the part at fault.
class ValidationError : public ApiError {
 public:
  using ApiError::ApiError;
};

// 409: conflicts with the current state (a name taken, a resolved alert, a used idempotency key).
class ConflictError : public ApiError {
 public:
  using ApiError::ApiError;
};

// 429: too many requests (failed logins); retry after retry_after().
class RateLimitError : public ApiError {
 public:
  RateLimitError(int status, std::string code, std::string message, std::string field,
                 std::string details_json, std::chrono::seconds retry_after)
      : ApiError(status, std::move(code), std::move(message), std::move(field),
                 std::move(details_json)),
        retry_after_(retry_after) {}
  std::chrono::seconds retry_after() const { return retry_after_; }

 private:
  std::chrono::seconds retry_after_;
};

// 5xx: the server failed or is unavailable (503 carries retry_after() when the server sent one).
class ServerError : public ApiError {
 public:
  ServerError(int status, std::string code, std::string message, std::string field,
              std::string details_json, std::chrono::seconds retry_after)
      : ApiError(status, std::move(code), std::move(message), std::move(field),
                 std::move(details_json)),
        retry_after_(retry_after) {}
  std::chrono::seconds retry_after() const { return retry_after_; }

 private:
  std::chrono::seconds retry_after_;
};

// Throws the ApiError subclass for an error answer: `status` (>= 400), the response `body` and
// the Retry-After header ("" when absent). A body that is not the API's error JSON still gives
// the right class, with a generic message.
[[noreturn]] void throw_api_error(int status, std::string_view body,
                                  std::string_view retry_after_header);

}  // namespace fleet::client
