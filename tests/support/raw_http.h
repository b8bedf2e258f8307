// A deliberately low-level HTTP client for end-to-end tests of the HTTP servers: it reports exactly
// what happened on the wire (refused, reset, no answer, closed early), which a real client library would
// hide behind one error code.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace fleet::test {

struct RawAnswer {
  enum class Outcome { kAnswered, kRefused, kReset, kTimeout, kClosedEarly, kError };
  Outcome outcome = Outcome::kError;
  int status = 0;
  std::string head;  // status line + headers
  std::string body;  // what arrived of the body
  long long content_length = -1;
  std::chrono::milliseconds elapsed{0};

  bool ok() const { return outcome == Outcome::kAnswered; }
  nlohmann::json json() const { return nlohmann::json::parse(body); }
  bool valid_json() const { return !nlohmann::json::parse(body, nullptr, false).is_discarded(); }
};

const char* to_string(RawAnswer::Outcome o);

// Sends `request` (a complete HTTP/1.1 message) to ip:port on a new connection and reads one
// answer (by Content-Length), waiting at most `timeout`.
RawAnswer raw_exchange(const std::string& ip, int port, const std::string& request,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

// A request message with optional x-api-key / bearer and JSON body.
std::string http_message(const std::string& method, const std::string& path,
                         const std::string& body = "", const std::string& api_key = "",
                         const std::string& bearer = "", bool close = true);

// Convenience: one request, one connection.
RawAnswer request(const std::string& ip, int port, const std::string& method,
                  const std::string& path, const std::string& body = "",
                  const std::string& api_key = "", const std::string& bearer = "",
                  std::chrono::milliseconds timeout = std::chrono::seconds(5));

// True when nothing accepts connections at ip:port (connect() is refused).
bool refuses(const std::string& ip, int port);

// An open connection for keep-alive and pipelining tests.
class RawConnection {
 public:
  // From `source_ip` when given (any 127.x.y.z is a distinct client on loopback).
  RawConnection(const std::string& ip, int port, const std::string& source_ip = "");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void send(const std::string& bytes);
  // Reads one answer from the stream (what follows stays buffered for the next call).
  RawAnswer read_answer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the server closed the connection (EOF) within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace fleet::test
