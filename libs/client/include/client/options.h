// How a Client reaches and authenticates to the API.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "client/transport.h"

namespace fleet {
class Clock;
}

namespace fleet::client {

struct ClientOptions {
  // Where the api-gateway listens; a path prefix (behind a reverse proxy) is kept.
  std::string base_url = "http://127.0.0.1:8080";
  // Either an API key (fwk_...) ...
  std::string api_key;
  // ... or a user name and password: the client logs in on first use and once more when the
  // server refuses its session token (expired or revoked). The API key wins when both are set.
  std::string username;
  std::string password;

  std::chrono::milliseconds connect_timeout{3000};  // the library default (300 s) hangs a CLI
  std::chrono::milliseconds timeout{30000};         // read / write, each
  // GETs (and POSTs carrying an Idempotency-Key) are retried this many times after a connection
  // error or a 503, with exponential backoff from retry_initial up to retry_max (a 503's
  // Retry-After is honoured up to retry_max).
  int max_retries = 3;
  std::chrono::milliseconds retry_initial{200};
  std::chrono::milliseconds retry_max{5000};

  // Injected for tests; null = the real ones.
  std::shared_ptr<Transport> transport;                  // null = cpp-httplib
  std::function<void(std::chrono::milliseconds)> sleep;  // null = this_thread::sleep_for
  const Clock* clock = nullptr;                          // null = Clock::real()
};

// Options from FLEET_API_URL, FLEET_API_KEY, FLEET_API_USER and FLEET_API_PASSWORD (unset or empty
// variables keep the defaults).
ClientOptions from_environment(const std::map<std::string, std::string>& env);
// The same from this process's environment.
ClientOptions from_environment();

// Splits and checks a base URL: "http://host:port/prefix" -> {"http://host:port", "/prefix"}.
// Throws ConfigurationError naming what is wrong (the URL itself is not echoed: it may hold a
// password).
struct BaseUrl {
  std::string origin;  // scheme://host[:port]
  std::string prefix;  // "" or "/path" without a trailing slash
};
BaseUrl parse_base_url(const std::string& url);

}  // namespace fleet::client
