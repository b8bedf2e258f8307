// The HTTP exchange the client talks through. An interface so tests can script answers and count
// requests; make_http_transport() gives the real one (cpp-httplib, keep-alive, one connection).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace fleet::client {

struct HttpRequest {
  std::string method;  // GET, POST, PATCH, DELETE
  std::string target;  // path and query, e.g. /api/miners?limit=100&after=42
  // May hold credentials (X-API-Key, Authorization): never log them.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // JSON, or "" for none
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, "" when absent
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Sends one request and returns the answer, whatever its status. Throws ConnectionError when no
  // answer arrives (refused, timeout, reset); its message names the server, never a header.
  virtual HttpResponse send(const HttpRequest& request) = 0;
};

struct HttpTransportOptions {
  std::string base_url;  // scheme://host[:port], already validated (no path)
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{30000};  // read and write, each
};

// A transport over cpp-httplib. Not thread-safe (one Client per thread).
std::unique_ptr<Transport> make_http_transport(const HttpTransportOptions& options);

}  // namespace fleet::client
