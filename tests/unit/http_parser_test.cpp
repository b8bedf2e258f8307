// The shared HTTP/1.1 request parser: limits decided from what has arrived (issues 15.3, 16.2).
#include <catch2/catch.hpp>

#include "http/parser.h"
#include "http/server.h"

using namespace fleet::http;

namespace {

ParseResult parse(const std::string& text, ParsedRequest& req, Limits limits = {}) {
  return parse_request(text, limits, req);
}

}  // namespace

TEST_CASE("http parser: a Content-Length over the limit is a 413 before any body byte",
          "[http][parser]") {
  ParsedRequest req;
  auto r = parse("POST /x HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", req);
  CHECK(r.status == ParseStatus::kError);
  CHECK(r.error_status == 413);
}

TEST_CASE("http parser: a malformed Content-Length is a 400 at once", "[http][parser]") {
  for (const char* bogus : {"-1", "99999999999999999999", "", "12abc", "0x10", "1 2"}) {
    INFO(bogus);
    ParsedRequest req;
    auto r = parse(std::string("POST /x HTTP/1.1\r\nContent-Length: ") + bogus + "\r\n\r\n", req);
    CHECK(r.status == ParseStatus::kError);
    CHECK(r.error_status == 400);
  }
  ParsedRequest req;
  CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", req)
            .error_status == 400);
  CHECK(parse("POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", req)
            .error_status == 400);
}

TEST_CASE("http parser: a chunked body is counted while it arrives", "[http][parser]") {
  Limits limits;
  limits.max_body = 100;
  ParsedRequest req;
  // The second chunk's size line alone takes the body over the limit: no need to wait for it.
  auto r = parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
                     std::string(64, 'a') + "\r\n40\r\n",
                 req, limits);
  CHECK(r.status == ParseStatus::kError);
  CHECK(r.error_status == 413);

  r = parse("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", req, limits);
  CHECK(r.status == ParseStatus::kIncomplete);
  CHECK(r.head_complete);

  const std::string whole =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: "
      "chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\n\r\n";
  r = parse(whole, req, limits);
  REQUIRE(r.status == ParseStatus::kComplete);
  CHECK(r.consumed == whole.size());
  CHECK(req.body == "hello!");
}

TEST_CASE("http parser: a long target is a 414, a long or crowded head a 431, before the head ends",
          "[http][parser]") {
  ParsedRequest req;
  // Incomplete: the request line alone is already too long.
  auto r = parse("GET /a?q=" + std::string(20'000, 'x'), req);
  CHECK(r.error_status == 414);
  r = parse("GET / HTTP/1.1\r\nX: " + std::string(20'000, 'x'), req);
  CHECK(r.error_status == 431);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i)
    many += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(parse(many + "\r\n", req).error_status == 431);
}

TEST_CASE("http parser: headers in order, Expect: 100-continue, keep-alive", "[http][parser]") {
  ParsedRequest req;
  auto r = parse(
      "POST /p?a=1 HTTP/1.1\r\nX-One: 1\r\nexpect: 100-continue\r\nContent-Length: 2\r\n\r\n", req);
  CHECK(r.status == ParseStatus::kIncomplete);
  CHECK(r.head_complete);
  CHECK(req.expect_continue);
  REQUIRE(req.headers.size() == 3);
  CHECK(req.headers[0].first == "X-One");
  CHECK(req.headers[0].second == "1");
  CHECK(parse("POST / HTTP/1.1\r\nExpect: something\r\n\r\n", req).error_status == 417);
}

TEST_CASE("http: percent-decoding of paths and query text", "[http][parser]") {
  CHECK(percent_decode("/api/models/S19%20Pro+", false) == "/api/models/S19 Pro+");
  CHECK(percent_decode("a+b%2Bc", true) == "a b+c");
  CHECK(percent_decode("100%", false) == "100%");
  CHECK(percent_decode("%zz%4", false) == "%zz%4");
  CHECK(percent_decode("%00", false) == std::string(1, '\0'));
}

TEST_CASE("http: the server's own error bodies are JSON with a code", "[http][server]") {
  CHECK(json_error_body(413, "too \"big\"") ==
        R"({"error":{"code":"too_large","message":"too \"big\""}})");
  CHECK(error_code(414) == "uri_too_long");
  CHECK(error_code(431) == "headers_too_large");
}

TEST_CASE("http: trusted proxies name the client, anyone else's X-Forwarded-For is ignored",
          "[http][server]") {
  auto set = AddressSet::parse({"10.0.0.0/8", " 192.168.1.5 ", "fd00::/8"});
  REQUIRE(set.ok());
  CHECK(set->contains("10.200.3.4"));
  CHECK(set->contains("192.168.1.5"));
  CHECK_FALSE(set->contains("192.168.1.6"));
  CHECK(set->contains("fd12::1"));
  CHECK_FALSE(set->contains("fe80::1"));
  CHECK_FALSE(set->contains("not an address"));
  CHECK_FALSE(AddressSet::parse({"10.0.0.0/33"}).ok());
  CHECK_FALSE(AddressSet::parse({"example.com"}).ok());

  // Through two trusted proxies: the rightmost untrusted entry is the client.
  CHECK(forwarded_client("10.0.0.1", "203.0.113.9, 10.1.1.1", *set) == "203.0.113.9");
  // What the client wrote itself (left of it) is not believed.
  CHECK(forwarded_client("10.0.0.1", "1.1.1.1, 203.0.113.9", *set) == "203.0.113.9");
  // An untrusted peer cannot choose its address.
  CHECK(forwarded_client("198.51.100.7", "203.0.113.9", *set) == "198.51.100.7");
  // No header, or garbage: the proxy itself.
  CHECK(forwarded_client("10.0.0.1", "", *set) == "10.0.0.1");
  CHECK(forwarded_client("10.0.0.1", "garbage", *set) == "10.0.0.1");
}
