#include "http/parser.h"

#include <charconv>

namespace fleet::http {
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

namespace {

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// True when the comma-separated header value contains `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

ParseResult fail(int status, std::string why) {
  return {.status = ParseStatus::kError,
          .consumed = 0,
          .error_status = status,
          .error = std::move(why)};
}

// Decodes a chunked body starting at `data`. Returns kIncomplete, kError, or kComplete with
// `consumed` = bytes used (including the trailer).
ParseResult decode_chunked(std::string_view data, const Limits& limits, std::string& out) {
  out.clear();
  size_t pos = 0;
  while (true) {
    const auto eol = data.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      if (data.size() - pos > 1024) return fail(400, "chunk size line too long");
      return {};
    }
    std::string_view line = data.substr(pos, eol - pos);
    if (auto semi = line.find(';'); semi != std::string_view::npos) line = line.substr(0, semi);
    line = trim_ows(line);
    uint64_t size = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (line.empty() || r.ec != std::errc() || r.ptr != line.data() + line.size()) {
      return fail(400, "bad chunk size");
    }
    pos = eol + 2;
    if (size == 0) {
      // Trailer fields until an empty line.
      while (true) {
        const auto end = data.find("\r\n", pos);
        if (end == std::string_view::npos) return {};
        if (end == pos) return {.status = ParseStatus::kComplete, .consumed = end + 2};
        pos = end + 2;
      }
    }
    if (out.size() + size > limits.max_body) return fail(413, "request body too large");
    if (data.size() < pos + size + 2) return {};
    out.append(data.substr(pos, size));
    if (data.substr(pos + size, 2) != "\r\n") return fail(400, "chunk not terminated by CRLF");
    pos += size + 2;
  }
}

}  // namespace

ParseResult parse_request(std::string_view buffer, const Limits& limits, ParsedRequest& req) {
  // Tolerate empty lines before a request (RFC 9112 §2.2).
  size_t start = 0;
  while (start + 1 < buffer.size() && buffer[start] == '\r' && buffer[start + 1] == '\n')
    start += 2;
  // The request line first: a long target is a 414 whatever else is wrong.
  const auto first_eol = buffer.find("\r\n", start);
  const size_t line_length =
      (first_eol == std::string_view::npos ? buffer.size() : first_eol) - start;
  if (line_length > limits.max_target + 32) return fail(414, "request target too long");
  const auto head_end = buffer.find("\r\n\r\n", start);
  if (head_end == std::string_view::npos) {
    if (buffer.size() - start > limits.max_head) return fail(431, "request head too large");
    return {};
  }
  if (head_end - start > limits.max_head) return fail(431, "request head too large");
  const std::string_view head = buffer.substr(start, head_end - start);

  // Request line: METHOD SP target SP HTTP/1.x
  const auto line_end = head.find("\r\n");
  const std::string_view line = head.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return fail(400, "malformed request line");
  req = ParsedRequest{};
  req.method = line.substr(0, sp1);
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  for (char c : req.method) {
    if (!is_token_char(c)) return fail(400, "malformed method");
  }
  if (req.target.empty() || req.target.find(' ') != std::string_view::npos) {
    return fail(400, "malformed request target");
  }
  if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
      version[7] > '9') {
    if (version.substr(0, 5) == "HTTP/") return fail(505, "HTTP version not supported");
    return fail(400, "malformed HTTP version");
  }
  req.minor_version = version[7] - '0';
  if (req.target.front() != '/') {
    // Absolute form (proxies) or asterisk form: take the path of an absolute URI.
    const auto scheme = req.target.find("://");
    if (scheme == std::string_view::npos) return fail(400, "request target must be a path");
    const auto slash = req.target.find('/', scheme + 3);
    req.target = slash == std::string_view::npos ? std::string_view("/") : req.target.substr(slash);
  }
  if (req.target.size() > limits.max_target) return fail(414, "request target too long");
  const auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string_view::npos) req.query = req.target.substr(q + 1);

  // Headers.
  bool keep_alive = req.minor_version >= 1;
  bool chunked = false;
  bool have_length = false;
  uint64_t content_length = 0;
  size_t count = 0;
  size_t pos = line_end == std::string_view::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    const std::string_view field = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (++count > limits.max_headers) return fail(431, "too many header fields");
    if (!field.empty() && (field.front() == ' ' || field.front() == '\t')) {
      return fail(400, "obsolete header line folding");
    }
    const auto colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail(400, "malformed header field");
    const std::string_view name = field.substr(0, colon);
    for (char c : name) {
      if (!is_token_char(c)) return fail(400, "malformed header name");
    }
    const std::string_view value = trim_ows(field.substr(colon + 1));
    req.headers.emplace_back(name, value);
    if (iequals(name, "content-length")) {
      uint64_t n = 0;
      auto r = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || r.ec != std::errc() || r.ptr != value.data() + value.size()) {
        return fail(400, "bad Content-Length");
      }
      if (have_length && n != content_length) return fail(400, "conflicting Content-Length");
      have_length = true;
      content_length = n;
    } else if (iequals(name, "transfer-encoding")) {
      if (!iequals(value, "chunked")) return fail(501, "unsupported Transfer-Encoding");
      chunked = true;
    } else if (iequals(name, "connection")) {
      if (has_token(value, "close")) keep_alive = false;
      if (has_token(value, "keep-alive")) keep_alive = true;
    } else if (iequals(name, "expect")) {
      if (!iequals(value, "100-continue")) return fail(417, "unsupported Expect");
      req.expect_continue = true;
    } else if (iequals(name, "authorization")) {
      req.authorization = value;
    } else if (iequals(name, "x-api-key")) {
      req.api_key = value;
    } else if (iequals(name, "content-type")) {
      req.content_type = value;
    }
  }
  if (chunked && have_length) return fail(400, "both Content-Length and Transfer-Encoding");
  req.keep_alive = keep_alive;

  const size_t body_start = head_end + 4;
  if (!chunked && content_length == 0) req.expect_continue = false;
  if (chunked) {
    auto r = decode_chunked(buffer.substr(body_start), limits, req.decoded_body);
    if (r.status == ParseStatus::kIncomplete) r.head_complete = true;
    if (r.status != ParseStatus::kComplete) return r;
    req.body = req.decoded_body;
    return {.status = ParseStatus::kComplete, .consumed = body_start + r.consumed};
  }
  if (content_length > limits.max_body) return fail(413, "request body too large");
  if (buffer.size() - body_start < content_length) return {.head_complete = true};
  req.body = buffer.substr(body_start, content_length);
  return {.status = ParseStatus::kComplete, .consumed = body_start + content_length};
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 100:
      return "Continue";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 408:
      return "Request Timeout";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 429:
      return "Too Many Requests";
    case 422:
      return "Unprocessable Entity";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string percent_decode(std::string_view text, bool plus_is_space) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

}  // namespace fleet::http
