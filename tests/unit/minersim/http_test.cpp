// The simulator's HTTP/1.1 request parser and response head.
#include <catch2/catch.hpp>

#include "http.h"

using namespace fleet::minersim::http;

namespace {

ParseResult parse(const std::string& text, Request& req, Limits limits = {}) {
  return parse_request(text, limits, req);
}

}  // namespace

TEST_CASE("miner-sim: a GET with headers parses, keep-alive is the HTTP/1.1 default",
          "[minersim][http]") {
  Request req;
  const std::string text =
      "GET /api/v1/summary?x=1 HTTP/1.1\r\nHost: 127.20.0.1\r\nX-Api-Key:  abc \r\n"
      "authorization: Bearer t\r\n\r\n";
  auto r = parse(text, req);
  REQUIRE(r.status == ParseStatus::kComplete);
  CHECK(r.consumed == text.size());
  CHECK(req.method == "GET");
  CHECK(req.path == "/api/v1/summary");
  CHECK(req.query == "x=1");
  CHECK(req.api_key == "abc");
  CHECK(req.authorization == "Bearer t");
  CHECK(req.keep_alive);
  CHECK(req.body.empty());
}

TEST_CASE("miner-sim: Connection and the HTTP version decide keep-alive", "[minersim][http]") {
  Request req;
  REQUIRE(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n", req).status ==
          ParseStatus::kComplete);
  CHECK_FALSE(req.keep_alive);
  REQUIRE(parse("GET / HTTP/1.0\r\n\r\n", req).status == ParseStatus::kComplete);
  CHECK_FALSE(req.keep_alive);
  REQUIRE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", req).status ==
          ParseStatus::kComplete);
  CHECK(req.keep_alive);
  REQUIRE(parse("GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n", req).status ==
          ParseStatus::kComplete);
  CHECK_FALSE(req.keep_alive);
}

TEST_CASE("miner-sim: bodies: Content-Length, chunked, incomplete and pipelined",
          "[minersim][http]") {
  Request req;
  const std::string post =
      "POST /api/v1/unlock HTTP/1.1\r\nContent-Length: 12\r\n\r\n{\"pw\":\"ad\"}";
  CHECK(parse(post.substr(0, post.size() - 1), req).status == ParseStatus::kIncomplete);
  CHECK(parse(post.substr(0, 20), req).status == ParseStatus::kIncomplete);
  auto r = parse(post + " GET / HTTP/1.1\r\n\r\n", req);
  REQUIRE(r.status == ParseStatus::kComplete);
  CHECK(req.body == "{\"pw\":\"ad\"} ");
  CHECK(r.consumed == post.size() + 1);

  const std::string chunked =
      "POST /x HTTP/1.1\r\nTransfer-Encoding: "
      "chunked\r\n\r\n4\r\n{\"pw\r\n7;ext=1\r\n\":\"ad\"}\r\n0\r\n"
      "Trailer: x\r\n\r\n";
  r = parse(chunked, req);
  REQUIRE(r.status == ParseStatus::kComplete);
  CHECK(req.body == "{\"pw\":\"ad\"}");
  CHECK(r.consumed == chunked.size());
  CHECK(parse(chunked.substr(0, chunked.size() - 2), req).status == ParseStatus::kIncomplete);
}

TEST_CASE("miner-sim: malformed or oversized requests are rejected with the right status",
          "[minersim][http]") {
  Request req;
  const auto status = [&](const std::string& text, Limits limits = {}) {
    auto r = parse(text, req, limits);
    return r.status == ParseStatus::kError ? r.error_status : 0;
  };
  CHECK(status("GARBAGE\r\n\r\n") == 400);
  CHECK(status("GET /\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/2.0\r\n\r\n") == 505);
  CHECK(status("GET / FTP/1.1\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\nNo colon here\r\n\r\n") == 400);
  CHECK(status("GET / HTTP/1.1\r\n folded: x\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") == 501);
  CHECK(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n") ==
        400);
  CHECK(status("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == 400);
  CHECK(status("POST / HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n") == 413);
  CHECK(status("GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n") == 431);
  // The head limit applies before the blank line arrives, so a slow flood cannot grow the buffer.
  CHECK(status("GET / HTTP/1.1\r\nX: " + std::string(20000, 'a')) == 431);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 101; ++i)
    many += "H" + std::to_string(i) + ": v\r\n";
  CHECK(status(many + "\r\n") == 431);
}

TEST_CASE("miner-sim: an absolute-form target is reduced to its path", "[minersim][http]") {
  Request req;
  REQUIRE(parse("GET http://127.20.0.1/api/v1/info HTTP/1.1\r\n\r\n", req).status ==
          ParseStatus::kComplete);
  CHECK(req.path == "/api/v1/info");
}

TEST_CASE("miner-sim: the response head carries status, type, length and close",
          "[minersim][http]") {
  Response r;
  r.status = 422;
  r.content_type = "text/plain";
  r.set_body("Wrong apikey format");
  r.close = true;
  std::string head;
  append_head(head, r);
  CHECK(head ==
        "HTTP/1.1 422 Unprocessable Entity\r\ncontent-type: text/plain\r\ncontent-length: 19\r\n"
        "connection: close\r\n\r\n");
  Response virt;
  virt.body.push_back({"{", ' ', 1000});
  virt.body.push_back({"}"});
  head.clear();
  append_head(head, virt);
  CHECK_THAT(head, Catch::Matchers::Contains("content-length: 1002\r\n"));
  Response no_content;
  no_content.status = 204;
  head.clear();
  append_head(head, no_content);
  CHECK(head.find("content-length") == std::string::npos);
}
