// The server core's deferred answers (Response::defer): a handler that returns without its
// answer frees its thread; the answer comes from any thread, or the server answers 503 when it
// does not come in time, or 500 when its Responder is dropped. Real sockets on loopback.
#include <time.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "http/server.h"
#include "raw_http.h"

using namespace fleet;
using namespace std::chrono_literals;
using fleet::test::RawConnection;

namespace {

// A server whose /later requests are deferred (their Responders kept here), /now answered at once.
struct DeferringServer {
  std::mutex mu;
  std::vector<http::Responder> waiting;
  std::chrono::milliseconds timeout = 5s;
  bool drop = false;  // /later drops its Responder instead of keeping it
  std::unique_ptr<http::Server> server;

  explicit DeferringServer(int threads = 1) {
    http::ServerOptions o;
    o.name = "deferred test";
    o.address = "127.0.0.1";
    o.threads = threads;
    auto started =
        http::Server::start(std::move(o), [this](const http::Request& req, http::Response& res) {
          if (req.path == "/later") {
            REQUIRE(res.can_defer());
            http::Responder r = res.defer(timeout);
            res.set_content("never sent",
                            "text/plain");  // a deferred Response's own content is not sent
            if (drop) return;
            std::lock_guard lock(mu);
            waiting.push_back(std::move(r));
            return;
          }
          res.set_content("now", "text/plain");
        });
    REQUIRE(started.ok());
    server = std::move(*started);
  }

  std::size_t count() {
    std::lock_guard lock(mu);
    return waiting.size();
  }
  bool wait_for(std::size_t n) {
    for (int i = 0; i < 500 && count() < n; ++i)
      std::this_thread::sleep_for(10ms);
    return count() >= n;
  }
  // True when this answer is the one the client gets.
  bool answer(std::size_t index, const std::string& body, int status = 200) {
    http::Responder r;
    {
      std::lock_guard lock(mu);
      r = std::move(waiting.at(index));
    }
    http::Response res;
    res.status = status;
    res.set_content(body, "text/plain");
    return r.send(std::move(res));
  }
};

std::string get(const std::string& path, bool close = false, const std::string& method = "GET") {
  return method + " " + path + " HTTP/1.1\r\nHost: t\r\n" + (close ? "Connection: close\r\n" : "") +
         "\r\n";
}

}  // namespace

TEST_CASE("a deferred answer holds no handler thread and comes from another thread",
          "[http][server]") {
  DeferringServer s(1);  // one handler thread
  RawConnection waiting("127.0.0.1", s.server->port());
  REQUIRE(waiting.connected());
  waiting.send(get("/later"));
  REQUIRE(s.wait_for(1));

  // The only handler thread is free: other requests are answered while /later waits.
  for (int i = 0; i < 3; ++i) {
    RawConnection other("127.0.0.1", s.server->port());
    other.send(get("/now", true));
    const auto a = other.read_answer(2s);
    REQUIRE(a.ok());
    CHECK(a.status == 200);
    CHECK(a.body == "now");
  }
  // Nothing has been sent to the waiting client yet.
  CHECK(waiting.read_answer(200ms).outcome == fleet::test::RawAnswer::Outcome::kTimeout);

  bool sent = false;
  std::thread([&] { sent = s.answer(0, "later, from another thread", 202); }).join();
  CHECK(sent);
  const auto a = waiting.read_answer(2s);
  REQUIRE(a.ok());
  CHECK(a.status == 202);
  CHECK(a.body == "later, from another thread");
  CHECK(s.server->stats().deferred == 1);

  // The connection is kept alive: the next request on it is served as usual.
  waiting.send(get("/now"));
  const auto b = waiting.read_answer(2s);
  REQUIRE(b.ok());
  CHECK(b.body == "now");
}

TEST_CASE("a deferred answer to HEAD has no body", "[http][server]") {
  DeferringServer s(1);
  RawConnection c("127.0.0.1", s.server->port());
  c.send(get("/later", true, "HEAD"));
  REQUIRE(s.wait_for(1));
  s.answer(0, "twelve bytes");
  // The head announces 12 bytes; none follow before the server closes (Connection: close).
  const auto a = c.read_answer(2s);
  CHECK(a.outcome == fleet::test::RawAnswer::Outcome::kClosedEarly);
  CHECK(a.status == 200);
  CHECK(a.content_length == 12);
  CHECK(a.body.empty());
}

TEST_CASE("a request pipelined behind a deferred one is answered after it, in order",
          "[http][server]") {
  DeferringServer s(2);
  RawConnection c("127.0.0.1", s.server->port());
  c.send(get("/later") + get("/now"));
  REQUIRE(s.wait_for(1));
  CHECK(c.read_answer(200ms).outcome == fleet::test::RawAnswer::Outcome::kTimeout);
  s.answer(0, "first");
  const auto first = c.read_answer(2s);
  REQUIRE(first.ok());
  CHECK(first.body == "first");
  const auto second = c.read_answer(2s);
  REQUIRE(second.ok());
  CHECK(second.body == "now");
}

// CPU time this process has used (every thread, the server's included).
std::chrono::nanoseconds process_cpu() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

TEST_CASE("bytes arriving while a request is dispatched do not keep the loop busy",
          "[http][server]") {
  // A dispatched connection stays watched for reading (no epoll change per request); when bytes
  // arrive meanwhile the loop must stop watching it, or level-triggered epoll reports them again
  // and again and the loop spins on a core until the answer is out. (Under heavy load a spinning
  // loop may get less than half a core and pass; a quiet one never fails.)
  DeferringServer s(2);
  RawConnection c("127.0.0.1", s.server->port());
  c.send(get("/later"));
  REQUIRE(s.wait_for(1));
  c.send(get("/now"));  // pipelined while /later waits
  std::this_thread::sleep_for(50ms);
  const auto cpu_before = process_cpu();
  std::this_thread::sleep_for(500ms);
  const auto used = process_cpu() - cpu_before;
  CHECK(used < 200ms);
  s.answer(0, "first");
  CHECK(c.read_answer(2s).body == "first");
  CHECK(c.read_answer(2s).body == "now");
}

TEST_CASE("a deferred answer that does not come in time is a 503, and a late one is dropped",
          "[http][server]") {
  DeferringServer s(1);
  s.timeout = 300ms;
  RawConnection c("127.0.0.1", s.server->port());
  c.send(get("/later"));
  REQUIRE(s.wait_for(1));
  const auto a = c.read_answer(3s);
  REQUIRE(a.ok());
  CHECK(a.status == 503);
  CHECK(a.valid_json());
  CHECK(a.json()["error"]["code"] == "unavailable");
  CHECK(a.elapsed >= 250ms);
  CHECK(s.server->stats().timed_out == 1);
  // The answer arriving now changes nothing (send() says so) and the server keeps serving.
  CHECK_FALSE(s.answer(0, "too late"));
  CHECK(c.closed_by_peer(2s));
  RawConnection other("127.0.0.1", s.server->port());
  other.send(get("/now", true));
  CHECK(other.read_answer(2s).body == "now");
}

TEST_CASE("a Responder dropped without an answer answers 500", "[http][server]") {
  DeferringServer s(1);
  s.drop = true;
  RawConnection c("127.0.0.1", s.server->port());
  c.send(get("/later"));
  const auto a = c.read_answer(2s);
  REQUIRE(a.ok());
  CHECK(a.status == 500);
  CHECK(a.valid_json());
  CHECK(a.body.find("never sent") == std::string::npos);
}

TEST_CASE("a Responder answers once: a second send() is ignored", "[http][server]") {
  DeferringServer s(1);
  RawConnection c("127.0.0.1", s.server->port());
  c.send(get("/later"));
  REQUIRE(s.wait_for(1));
  http::Responder r;
  {
    std::lock_guard lock(s.mu);
    r = std::move(s.waiting.at(0));
  }
  http::Response first;
  first.set_content("first", "text/plain");
  CHECK(r.send(std::move(first)));
  http::Response second;
  second.set_content("second", "text/plain");
  CHECK_FALSE(r.send(std::move(second)));
  CHECK_FALSE(r.valid());
  const auto a = c.read_answer(2s);
  REQUIRE(a.ok());
  CHECK(a.body == "first");
  c.send(get("/now"));
  CHECK(c.read_answer(2s).body == "now");
}

TEST_CASE("stopping the server waits for deferred answers still to come", "[http][server]") {
  DeferringServer s(1);
  RawConnection c("127.0.0.1", s.server->port());
  c.send(get("/later"));
  REQUIRE(s.wait_for(1));
  std::thread late([&s] {
    std::this_thread::sleep_for(300ms);
    s.answer(0, "answered during shutdown");
  });
  s.server->stop();
  late.join();
  const auto a = c.read_answer(2s);
  REQUIRE(a.ok());
  CHECK(a.body == "answered during shutdown");
}

TEST_CASE("a response the server did not make cannot be deferred", "[http][server]") {
  http::Response res;
  CHECK_FALSE(res.can_defer());
  CHECK_THROWS_AS(res.defer(1s), std::logic_error);
  CHECK_FALSE(res.deferred());
}
