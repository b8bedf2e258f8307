#include "http.h"

#include <charconv>

namespace fleet::minersim::http {

uint64_t Response::body_size() const {
  uint64_t n = 0;
  for (const auto& s : body)
    n += s.size();
  return n;
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
