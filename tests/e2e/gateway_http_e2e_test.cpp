// The api-gateway's HTTP layer against hostile clients: idle and slow connections, unbounded and
// bogus bodies, oversized heads and targets, per-client limits (issues 15.2, 15.3, 16.2).
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "core/cpus.h"
#include "gateway_fixture.h"
#include "raw_http.h"

using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

// Resident memory of a process, in kB.
long rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void raise_fd_limit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
}

std::string head_of(const std::string& method, const std::string& path,
                    const std::string& extra = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + "\r\n";
}

}  // namespace

TEST_CASE("1,000 idle and slow connections do not starve authenticated requests (issue 15.2)",
          "[gateway][http][e2e]") {
  raise_fd_limit();
  GatewayFixture gw;
  const std::string bearer = gw.tokens.at("viewer");

  // 500 connections that never send a byte, 500 that send their head one byte at a time.
  std::vector<std::unique_ptr<RawConnection>> idle, slow;
  for (int i = 0; i < 500; ++i) {
    idle.push_back(std::make_unique<RawConnection>("127.0.0.1", gw.port));
    slow.push_back(std::make_unique<RawConnection>("127.0.0.1", gw.port));
    REQUIRE(idle.back()->connected());
    REQUIRE(slow.back()->connected());
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    const std::string head = head_of("GET", "/api/summary", "X-Padding: " + std::string(64, 'x'));
    for (size_t at = 0; !done && at < head.size(); ++at) {
      for (auto& c : slow)
        c->send(head.substr(at, 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });

  // Every authenticated request answers, with the starving clients still connected.
  int answered = 0;
  std::string outcomes;
  for (int i = 0; i < 40; ++i) {
    RawAnswer a = request("127.0.0.1", gw.port, "GET", i % 2 ? "/api/summary" : "/health", "", "",
                          bearer, std::chrono::seconds(5));
    if (a.ok() && a.status == 200) ++answered;
    outcomes += std::string(to_string(a.outcome)) + "/" + std::to_string(a.status) + " ";
  }
  INFO(outcomes);
  done = true;
  trickle.join();
  CHECK(answered == 40);
  CHECK(gw.gateway->running());
}

TEST_CASE("the whole request head has one deadline: a byte-at-a-time head gets a 408 (issue 15.2)",
          "[gateway][http][e2e]") {
  GatewayFixture gw({"--set", "gateway.header_timeout=1"});
  RawConnection c("127.0.0.1", gw.port);
  REQUIRE(c.connected());
  // One byte every 100 ms keeps every single read short; the head as a whole is late.
  const std::string head = head_of("GET", "/api/summary", "X-Padding: " + std::string(40, 'x'));
  bool answered = false;
  for (size_t at = 0; at < head.size() - 2 && !answered; ++at) {
    c.send(head.substr(at, 1));
    pollfd p{c.fd(), POLLIN, 0};
    answered = ::poll(&p, 1, 100) > 0;
  }
  REQUIRE(answered);  // well before the head was complete (~7 s at this pace)
  RawAnswer a = c.read_answer(std::chrono::seconds(2));
  CHECK(a.status == 408);
  CHECK(a.json()["error"]["code"] == "timeout");
  CHECK(c.closed_by_peer(std::chrono::seconds(3)));
  RawConnection again("127.0.0.1", gw.port);
  again.send(head_of("GET", "/health"));
  CHECK(again.read_answer().status == 200);
}

TEST_CASE(
    "a 100 MB chunked login is refused with 413 and the gateway's memory stays flat "
    "(issue 16.2)",
    "[gateway][http][e2e]") {
  GatewayFixture gw;
  const long before = rss_kb(gw.gateway->pid());
  REQUIRE(before > 0);

  RawConnection c("127.0.0.1", gw.port);
  REQUIRE(c.connected());
  c.send(head_of("POST", "/api/auth/login",
                 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'a') + "\r\n";  // 64 KiB
  const size_t total = 100u << 20;
  size_t sent = 0;
  std::string answer;
  // Send like a real client: keep writing, read whatever answer arrives meanwhile.
  while (answer.find("\r\n\r\n") == std::string::npos) {
    pollfd p{c.fd(), static_cast<short>(POLLIN | (sent < total ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    if (p.revents & POLLIN) {
      char buf[4096];
      const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    } else if (p.revents & POLLOUT) {
      const ssize_t n = ::send(c.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN) break;
      if (n > 0) sent += static_cast<size_t>(n);
    } else {
      break;
    }
  }
  INFO("sent " << sent << " bytes; answer: " << answer.substr(0, 300));
  REQUIRE(answer.rfind("HTTP/1.1 413", 0) == 0);
  CHECK_THAT(answer, Contains("too_large"));
  const long after = rss_kb(gw.gateway->pid());
  INFO("RSS before " << before << " kB, after " << after << " kB");
  CHECK(after - before < 24 * 1024);
  CHECK(gw.gateway->running());
}

TEST_CASE(
    "a Content-Length over the limit is a 413 from the headers alone, a bogus one is a "
    "400 at once (issue 15.3)",
    "[gateway][http][e2e]") {
  GatewayFixture gw;
  {
    RawConnection c("127.0.0.1", gw.port);
    // No body follows: the answer cannot wait for one.
    c.send(head_of("POST", "/api/auth/login",
                   "Content-Type: application/json\r\nContent-Length: 5000000\r\n"));
    RawAnswer a = c.read_answer(std::chrono::seconds(3));
    REQUIRE(a.ok());
    CHECK(a.status == 413);
    CHECK(a.json()["error"]["code"] == "too_large");
  }
  for (const char* bogus : {"-1", "99999999999999999999", "12abc", "1, 2"}) {
    INFO("Content-Length: " << bogus);
    RawConnection c("127.0.0.1", gw.port);
    c.send(head_of(
        "POST", "/api/auth/login",
        std::string("Content-Type: application/json\r\nContent-Length: ") + bogus + "\r\n"));
    RawAnswer a = c.read_answer(std::chrono::seconds(3));
    REQUIRE(a.ok());
    CHECK(a.status == 400);
    CHECK(a.valid_json());
  }
  {
    // Both framings at once is how requests are smuggled past proxies.
    RawConnection c("127.0.0.1", gw.port);
    c.send(
        head_of("POST", "/api/auth/login", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"));
    CHECK(c.read_answer(std::chrono::seconds(3)).status == 400);
  }
  CHECK(gw.gateway->running());
}

TEST_CASE(
    "an oversized target is a 414 and an oversized head a 431, both with JSON bodies "
    "(issues 15.3, 16.2)",
    "[gateway][http][e2e]") {
  GatewayFixture gw;
  RawAnswer target =
      request("127.0.0.1", gw.port, "GET", "/api/miners?q=" + std::string(100'000, 'a'), "", "", "",
              std::chrono::seconds(5));
  REQUIRE(target.ok());
  CHECK(target.status == 414);
  REQUIRE(target.valid_json());
  CHECK(target.json()["error"]["code"] == "uri_too_long");

  RawConnection big("127.0.0.1", gw.port);
  big.send(head_of("GET", "/health", "X-Big: " + std::string(64 * 1024, 'b') + "\r\n"));
  RawAnswer head = big.read_answer(std::chrono::seconds(5));
  REQUIRE(head.ok());
  CHECK(head.status == 431);
  CHECK(head.json()["error"]["code"] == "headers_too_large");

  std::string many;
  for (int i = 0; i < 150; ++i)
    many += "X-H" + std::to_string(i) + ": v\r\n";
  RawConnection fields("127.0.0.1", gw.port);
  fields.send(head_of("GET", "/health", many));
  CHECK(fields.read_answer(std::chrono::seconds(5)).status == 431);
}

TEST_CASE("the gateway speaks HTTP/1.1 properly: 100-continue, pipelining, HEAD",
          "[gateway][http][e2e]") {
  GatewayFixture gw;
  const std::string body = R"({"username":"viewer","password":"correct horse battery"})";
  {
    RawConnection c("127.0.0.1", gw.port);
    c.send(head_of("POST", "/api/auth/login",
                   "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n"));
    RawAnswer interim = c.read_answer(std::chrono::seconds(3));
    REQUIRE(interim.ok());
    CHECK(interim.status == 100);
    c.send(body);
    RawAnswer a = c.read_answer(std::chrono::seconds(10));
    CHECK(a.status == 200);
  }
  {
    RawConnection c("127.0.0.1", gw.port);
    c.send(head_of("GET", "/health") + head_of("GET", "/api/no-such-thing") +
           head_of("GET", "/health"));
    CHECK(c.read_answer().status == 200);
    CHECK(c.read_answer().status == 404);
    CHECK(c.read_answer().status == 200);
  }
  {
    // A HEAD answer has the GET's Content-Length and no body.
    RawConnection c("127.0.0.1", gw.port);
    c.send(head_of("HEAD", "/health", "Connection: close\r\n"));
    std::string got;
    char buf[4096];
    while (::poll(std::array<pollfd, 1>{pollfd{c.fd(), POLLIN, 0}}.data(), 1, 3000) > 0) {
      const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
    CHECK_THAT(got, Contains("Content-Length: "));
    REQUIRE(got.find("\r\n\r\n") != std::string::npos);
    CHECK(got.substr(got.find("\r\n\r\n") + 4).empty());
  }
}

TEST_CASE("one client address cannot hold more than its share of connections (issue 15.2)",
          "[gateway][http][e2e]") {
  GatewayFixture gw({"--set", "gateway.max_connections_per_client=20"});
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 20; ++i) {
    held.push_back(std::make_unique<RawConnection>("127.0.0.1", gw.port, "127.0.0.7"));
    REQUIRE(held.back()->connected());
  }
  RawConnection extra("127.0.0.1", gw.port, "127.0.0.7");
  extra.send(head_of("GET", "/health"));
  RawAnswer refused = extra.read_answer(std::chrono::seconds(3));
  REQUIRE(refused.ok());
  CHECK(refused.status == 503);
  CHECK(refused.json()["error"]["code"] == "unavailable");

  // Another address is served as usual.
  RawConnection other("127.0.0.1", gw.port, "127.0.0.8");
  other.send(head_of("GET", "/health"));
  CHECK(other.read_answer(std::chrono::seconds(3)).status == 200);
}

TEST_CASE("left at 0 the handler threads are twice the usable CPUs and each has a session",
          "[gateway][http][e2e]") {
  // The fixture's explicit settings are overridden by the defaults (0 = automatic).
  fleet::test::GatewayFixture gw(
      {"--set", "gateway.threads=0", "--set", "gateway.db_connections=0"});
  const int expected = std::clamp(2 * fleet::usable_cpus(), 4, 16);
  const std::string line = "(" + std::to_string(expected) + " handler threads, " +
                           std::to_string(expected) + " database connections)";
  INFO(gw.gateway->err());
  CHECK(gw.gateway->err().find(line) != std::string::npos);
  CHECK(gw.as("viewer", "GET", "/api/summary").status == 200);
}
