#include "http.h"

#include <charconv>

namespace fleet::minersim::http {
namespace {

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

ParseResult parse_request(std::string_view buffer, const Limits& limits, Request& req) {
  // Tolerate empty lines before a request (RFC 9112 §2.2).
  size_t start = 0;
  while (start + 1 < buffer.size() && buffer[start] == '\r' && buffer[start + 1] == '\n')
    start += 2;
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
  req = Request{};
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
  if (chunked) {
    auto r = decode_chunked(buffer.substr(body_start), limits, req.decoded_body);
    if (r.status != ParseStatus::kComplete) return r;
    req.body = req.decoded_body;
    return {.status = ParseStatus::kComplete, .consumed = body_start + r.consumed};
  }
  if (content_length > limits.max_body) return fail(413, "request body too large");
  if (buffer.size() - body_start < content_length) return {};
  req.body = buffer.substr(body_start, content_length);
  return {.status = ParseStatus::kComplete, .consumed = body_start + content_length};
}

uint64_t Response::body_size() const {
  uint64_t n = 0;
  for (const auto& s : body)
    n += s.size();
  return n;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
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
    case 413:
      return "Payload Too Large";
    case 422:
      return "Unprocessable Entity";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void append_head(std::string& out, const Response& r) {
  char num[24];
  out.append("HTTP/1.1 ");
  auto n = std::to_chars(num, num + sizeof num, r.status);
  out.append(num, n.ptr);
  out.push_back(' ');
  out.append(reason_phrase(r.status));
  out.append("\r\ncontent-type: ");
  out.append(r.content_type);
  out.append("\r\n");
  if (r.status != 204) {  // a 204 carries no Content-Length (RFC 9110 §8.6)
    out.append("content-length: ");
    const uint64_t length = r.declared_length == UINT64_MAX ? r.body_size() : r.declared_length;
    n = std::to_chars(num, num + sizeof num, length);
    out.append(num, n.ptr);
    out.append("\r\n");
  }
  out.append(r.extra_headers);
  if (r.close) out.append("connection: close\r\n");
  out.append("\r\n");
}

}  // namespace fleet::minersim::http
