// The simulator's HTTP/1.1 responses (requests are parsed by the project's http library): bodies
// that may be virtual (a byte repeated N times) so a 64 MiB "huge" answer costs no memory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/parser.h"

namespace fleet::minersim::http {

using ::fleet::http::Limits;
using ::fleet::http::parse_request;
using ::fleet::http::ParseResult;
using ::fleet::http::ParseStatus;
using ::fleet::http::reason_phrase;
using Request = ::fleet::http::ParsedRequest;

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

// "HTTP/1.1 200 OK\r\ncontent-type: ...\r\ncontent-length: N\r\n...\r\n\r\n"
void append_head(std::string& out, const Response& r);

}  // namespace fleet::minersim::http
