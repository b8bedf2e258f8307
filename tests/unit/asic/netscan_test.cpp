// Strict CIDR parsing and the TCP sweep against listeners on loopback addresses.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netscan/cidr.h"
#include "netscan/tcp_sweep.h"
#include "process.h"

using namespace fleet;
using namespace fleet::netscan;
using Catch::Matchers::Contains;

TEST_CASE("IPv4 addresses parse strictly", "[cidr]") {
  CHECK(*parse_ipv4("192.168.1.10") == 0xC0A8010Au);
  CHECK(*parse_ipv4("0.0.0.0") == 0u);
  CHECK(*parse_ipv4("255.255.255.255") == 0xFFFFFFFFu);
  CHECK(format_ipv4(0xC0A8010Au) == "192.168.1.10");
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-4", "1..2.3", "1.2.3.4 ",
        " 1.2.3.4", "a.b.c.d", "1.2.3.4/", "0x1.2.3.4", "1.2.3.1000", "१.2.3.4"}) {
    INFO(bad);
    CHECK_FALSE(parse_ipv4(bad).ok());
  }
}

TEST_CASE("CIDR blocks parse strictly and say what is wrong", "[cidr]") {
  auto c = parse_cidr("192.168.1.0/24");
  REQUIRE(c.ok());
  CHECK(c->size() == 256);
  CHECK(c->to_string() == "192.168.1.0/24");
  CHECK(c->contains(*parse_ipv4("192.168.1.77")));
  CHECK_FALSE(c->contains(*parse_ipv4("192.168.2.1")));
  CHECK(parse_cidr(" 10.0.0.7 ")->prefix == 32);
  CHECK(parse_cidr("127.20.0.0/16")->size() == 65536);
  CHECK(parse_cidr("10.0.0.0/8").ok());

  auto host_bits = parse_cidr("10.0.0.5/24");
  REQUIRE_FALSE(host_bits.ok());
  CHECK_THAT(host_bits.error().message(), Contains("did you mean 10.0.0.0/24"));
  CHECK_THAT(parse_cidr("10.0.0.0/7").error().message(), Contains("too large"));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/024", "10.0.0.0/", "/24",
                          "10.0.0.0/24/1", "10.0.0.0 /24", "fe80::/64", "10.0.0.0/2 4", ""}) {
    INFO(bad);
    auto r = parse_cidr(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind() == ErrorKind::kInvalidArgument);
  }
}

TEST_CASE("CIDR lists report every bad entry and cap the total", "[cidr]") {
  auto bad = parse_cidr_list({"10.0.0.0/24", "10.0.1.300/24", "x"}, 1 << 20);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), Contains("10.0.1.300/24"));
  CHECK_THAT(bad.error().message(), Contains("'x'"));
  auto big = parse_cidr_list({"10.0.0.0/16", "10.1.0.0/16"}, 100'000);
  REQUIRE_FALSE(big.ok());
  CHECK_THAT(big.error().message(), Contains("131072"));
  CHECK(parse_cidr_list({"10.0.0.0/16", "10.1.0.0/16"}, 131'072).ok());
}

TEST_CASE("host addresses skip network and broadcast, once each", "[cidr]") {
  auto blocks = parse_cidr_list({"10.0.0.0/30", "10.0.0.0/31", "10.0.0.9", "10.0.0.8/29"}, 1000);
  REQUIRE(blocks.ok());
  auto hosts = host_addresses(*blocks);
  std::vector<std::string> shown;
  for (auto h : hosts)
    shown.push_back(format_ipv4(h));
  // /30 loses .0 and .3, but the /31 keeps .0; .8/29 gives .9-.14; .9 is listed once.
  CHECK(shown == std::vector<std::string>{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.9",
                                          "10.0.0.10", "10.0.0.11", "10.0.0.12", "10.0.0.13",
                                          "10.0.0.14"});
}

namespace {

// Listens on addr:port; closed on destruction.
struct Listener {
  int fd = -1;
  Listener(const std::string& addr, int port) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(listen(fd, 64) == 0);
  }
  ~Listener() { close(fd); }
};

}  // namespace

TEST_CASE("the sweep finds exactly the listening addresses", "[sweep]") {
  const int port = test::free_port();
  Listener a("127.31.0.5", port);
  Listener b("127.31.0.200", port);
  Listener c("127.31.1.7", port);
  auto blocks = parse_cidr_list({"127.31.0.0/23"}, 1024);
  REQUIRE(blocks.ok());
  // A small in-flight bound forces many rounds and fd reuse.
  auto result = tcp_sweep(host_addresses(*blocks), {.port = port, .max_in_flight = 7});
  REQUIRE(result.ok());
  std::vector<std::string> open;
  for (auto ip : result->open)
    open.push_back(format_ipv4(ip));
  CHECK(open == std::vector<std::string>{"127.31.0.5", "127.31.0.200", "127.31.1.7"});
  CHECK(result->refused == 510 - 3);
  CHECK(result->timed_out == 0);
  CHECK_FALSE(result->stopped);
}

TEST_CASE("the sweep stops when asked", "[sweep]") {
  auto blocks = parse_cidr_list({"127.32.0.0/16"}, 1 << 20);
  int calls = 0;
  auto result =
      tcp_sweep(host_addresses(*blocks), {.port = test::free_port()}, [&] { return ++calls > 3; });
  REQUIRE(result.ok());
  CHECK(result->stopped);
  CHECK(result->refused < 65534);
}

TEST_CASE("open hosts early in a large sweep are not starved by the refusals after them",
          "[sweep]") {
  // Regression: starting every refused address before looking at the answers let the waiting
  // connections pass their deadline unseen.
  const int port = test::free_port();
  Listener a("127.33.0.2", port);
  Listener b("127.33.0.9", port);
  auto blocks = parse_cidr_list({"127.33.0.0/16"}, 1 << 20);
  auto result =
      tcp_sweep(host_addresses(*blocks), {.port = port, .timeout = std::chrono::milliseconds(50)});
  REQUIRE(result.ok());
  CHECK(result->open.size() == 2);
  CHECK(result->timed_out == 0);
  CHECK(result->refused == 65534 - 2);
}
