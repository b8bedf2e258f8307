// The connection behind a Client: credentials (API key or a session token from a login, renewed
// when it expires or is refused), retries of safe requests, and mapping answers to errors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/options.h"
#include "client/transport.h"

namespace fleet::client {

class Session {
 public:
  explicit Session(ClientOptions options);

  // Sends a request and returns the parsed JSON answer (null for an empty one). `body` null =
  // no body. GETs are retried on connection errors and 503; so are requests carrying an
  // Idempotency-Key header. Throws client::Error subclasses.
  nlohmann::json call(const std::string& method, const std::string& target,
                      const nlohmann::json* body = nullptr,
                      std::vector<std::pair<std::string, std::string>> headers = {});
  // The same with the answer as text.
  std::string call_text(const std::string& method, const std::string& target,
                        const std::string& body,
                        std::vector<std::pair<std::string, std::string>> headers = {});

  void login(const std::string& username, const std::string& password);
  void logout();

 private:
  std::string url(const std::string& target) const { return prefix_ + target; }
  void ensure_credentials();
  void add_credentials(std::vector<std::pair<std::string, std::string>>& headers) const;
  std::int64_t unix_now() const;
  std::chrono::milliseconds retry_delay(int attempt, const std::string& retry_after);

  ClientOptions options_;
  std::string prefix_;
  std::shared_ptr<Transport> transport_;
  std::string token_;  // session token ("" = none yet); never logged
  std::int64_t token_expires_ = 0;
  std::uint64_t jitter_state_ = 0x9E3779B97F4A7C15ULL;
};

// Percent-encodes a query value.
std::string encode_query(const std::string& value);

// Appends "name=value" to a target's query when the value is set.
class Query {
 public:
  explicit Query(std::string path) : text_(std::move(path)) {}
  Query& add(const char* name, const std::string& value);
  template <class T>
  Query& add(const char* name, const std::optional<T>& value) {
    if (value) add_value(name, *value);
    return *this;
  }
  Query& add_limit(int limit) {
    if (limit > 0) add(name_limit(), std::to_string(limit));
    return *this;
  }
  const std::string& str() const { return text_; }

 private:
  static const char* name_limit() { return "limit"; }
  void add_value(const char* name, const std::string& v) { add(name, v); }
  void add_value(const char* name, bool v) { add(name, std::string(v ? "true" : "false")); }
  void add_value(const char* name, std::int64_t v) { add(name, std::to_string(v)); }
  std::string text_;
  bool first_ = true;
};

}  // namespace fleet::client
