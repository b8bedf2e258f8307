// Minimal, strict HTTP/1.1 server-side message handling for the event loop: an incremental request
// parser with size limits, keep-alive rules, and response bodies that may be virtual (a byte
// repeated N times) so a 64 MiB "huge" answer costs no memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fleet::minersim::http {

struct Limits {
  size_t max_head = 16 * 1024;    // request line + headers; more -> 431
  size_t max_body = 1024 * 1024;  // more -> 413
  size_t max_headers = 100;       // more -> 431
};

// A parsed request. Views point into the connection's buffer (or into `decoded_body` for a
// chunked body) and stay valid until the bytes are consumed.
struct Request {
  std::string_view method;
  std::string_view target;  // as sent: path[?query]
  std::string_view path;
  std::string_view query;
  int minor_version = 1;  // HTTP/1.<minor>
  std::string_view authorization;
  std::string_view api_key;  // x-api-key
  std::string_view content_type;
  std::string_view body;
  bool keep_alive = true;  // after this request, per the version and Connection header
  std::string decoded_body;
};

enum class ParseStatus { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;   // bytes of `buffer` this request used (kComplete)
  int error_status = 0;  // 400, 413, 431, 501, 505 (kError)
  std::string error;     // what was wrong, for the response body and logs
};

// Parses the first request in `buffer`. kIncomplete: wait for more bytes (the limits are already
// checked against what arrived). REQUIRES: `req` is reused only after its views are dropped.
ParseResult parse_request(std::string_view buffer, const Limits& limits, Request& req);

// One piece of a response body: `text`, then `fill` repeated `repeat` times.
struct Segment {
  std::string text;
  char fill = ' ';
  uint64_t repeat = 0;
  uint64_t size() const { return text.size() + repeat; }
};

struct Response {
  int status = 200;
  std::string_view content_type = "application/json";
  std::vector<Segment> body;
  // Content-Length announced; UINT64_MAX = the real size. (cut_transfer announces more.)
  uint64_t declared_length = UINT64_MAX;
  // Close the connection after this many body bytes (UINT64_MAX = send everything).
  uint64_t close_after = UINT64_MAX;
  bool close = false;              // "Connection: close" and close after sending
  std::string_view extra_headers;  // e.g. "Allow: GET\r\n"

  uint64_t body_size() const;
  void set_body(std::string text) {
    body.clear();
    body.push_back({std::move(text)});
  }
};

std::string_view reason_phrase(int status);

// "HTTP/1.1 200 OK\r\ncontent-type: ...\r\ncontent-length: N\r\n...\r\n\r\n"
void append_head(std::string& out, const Response& r);

}  // namespace fleet::minersim::http
