// Strict, incremental HTTP/1.1 request parsing with limits, shared by the project's servers (the
// api-gateway, every probe server, miner-sim). Everything a request may cost is decided from what
// has arrived: a head over its limit is a 431 before the blank line, a Content-Length over the body
// limit is a 413 from the head alone, a chunked body is counted while it is decoded, and a
// malformed or conflicting length is a 400 at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fleet::http {

struct Limits {
  size_t max_head = 16 * 1024;    // request line + headers; more -> 431
  size_t max_target = 8 * 1024;   // request target (path + query); more -> 414
  size_t max_body = 1024 * 1024;  // more -> 413
  size_t max_headers = 100;       // more -> 431
};

// A parsed request. Views point into the connection's buffer (or into `decoded_body` for a
// chunked body) and stay valid until the bytes are consumed.
struct ParsedRequest {
  std::string_view method;
  std::string_view target;  // as sent: path[?query]
  std::string_view path;    // not percent-decoded
  std::string_view query;
  int minor_version = 1;                                               // HTTP/1.<minor>
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // in order, values trimmed
  std::string_view authorization;
  std::string_view api_key;  // x-api-key
  std::string_view content_type;
  std::string_view body;
  bool keep_alive = true;        // after this request, per the version and Connection header
  bool expect_continue = false;  // "Expect: 100-continue" with a body to come
  std::string decoded_body;
};

enum class ParseStatus { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseStatus status = ParseStatus::kIncomplete;
  size_t consumed = 0;         // bytes of `buffer` this request used (kComplete)
  int error_status = 0;        // 400, 413, 414, 431, 501, 505 (kError)
  std::string error;           // what was wrong, for the response body and logs
  bool head_complete = false;  // kIncomplete: the head is in, the body is still arriving
};

// Parses the first request in `buffer`. kIncomplete: wait for more bytes (the limits are already
// checked against what arrived). REQUIRES: `req` is reused only after its views are dropped.
ParseResult parse_request(std::string_view buffer, const Limits& limits, ParsedRequest& req);

std::string_view reason_phrase(int status);

// ASCII case-insensitive equality (header names, tokens).
bool iequals(std::string_view a, std::string_view b);

// Percent-decoding of a path or a query component; `plus_is_space` for query text. A malformed
// escape is kept as it is.
std::string percent_decode(std::string_view text, bool plus_is_space);

}  // namespace fleet::http
