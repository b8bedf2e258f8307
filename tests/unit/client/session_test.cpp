// Credentials, token renewal, retries and options of the client; the real transport against a
// local cpp-httplib server on 127.0.0.1.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <atomic>
#include <thread>

#include "core/clock.h"
#include "fake_transport.h"

using namespace fleet::client;
using fleet::test::fake_options;
using fleet::test::FakeTransport;
using fleet::test::ok;

namespace {

const char* kSummary = R"({"workers":{},"hashrate_ths":0,"power_w":0})";
const char* kUnauthenticated = R"({"error":{"code":"unauthenticated","message":"token expired"}})";

std::string login_answer(const std::string& token, long long expires_at) {
  return R"({"token":")" + token + R"(","token_type":"Bearer","expires_at":)" +
         std::to_string(expires_at) +
         R"(,"user":{"id":1,"username":"ops","role":"operator","disabled":false,"created_at":"x"}})";
}

long long unix_now(const fleet::Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch())
      .count();
}

}  // namespace

TEST_CASE("client auth: an API key goes in X-API-Key on every request") {
  auto t = std::make_shared<FakeTransport>([](const HttpRequest&) { return ok(kSummary); });
  Client c(fake_options(t));
  c.summary();
  c.summary();
  REQUIRE(t->requests.size() == 2);
  CHECK(t->header(1, "X-API-Key") == "fwk_test_secret_key");
  CHECK(t->header(1, "Authorization").empty());
}

TEST_CASE(
    "client auth: a user logs in on first use, reuses the token, and renews it when it expires") {
  fleet::ManualClock clock;
  int logins = 0;
  auto t = std::make_shared<FakeTransport>([&](const HttpRequest& req) {
    if (req.target == "/api/auth/login") {
      ++logins;
      CHECK(req.body == R"({"password":"s3cret-pw","username":"ops"})");
      return ok(login_answer("tok" + std::to_string(logins), unix_now(clock) + 3600));
    }
    return ok(kSummary);
  });
  ClientOptions o = fake_options(t);
  o.api_key.clear();
  o.username = "ops";
  o.password = "s3cret-pw";
  o.clock = &clock;
  Client c(o);
  CHECK(t->requests.empty());  // nothing until the first call
  c.summary();
  c.summary();
  REQUIRE(t->requests.size() == 3);
  CHECK(t->requests[0].target == "/api/auth/login");
  CHECK(t->header(1, "Authorization") == "Bearer tok1");
  CHECK(t->header(2, "Authorization") == "Bearer tok1");
  CHECK(t->header(2, "X-API-Key").empty());
  clock.advance(std::chrono::seconds(3590));  // within the skew before expiry: renewed first
  c.summary();
  CHECK(logins == 2);
  CHECK(t->header(t->requests.size() - 1, "Authorization") == "Bearer tok2");
}

TEST_CASE("client auth: a refused token is renewed once, then the call is repeated") {
  int logins = 0;
  int refusals = 0;
  auto t = std::make_shared<FakeTransport>([&](const HttpRequest& req) {
    if (req.target == "/api/auth/login") {
      ++logins;
      return ok(login_answer("tok" + std::to_string(logins), 4'000'000'000LL));
    }
    for (const auto& [k, v] : req.headers) {
      if (k == "Authorization" && v == "Bearer tok1") {
        ++refusals;
        return ok(kUnauthenticated, 401);  // revoked on the server
      }
    }
    return ok(kSummary);
  });
  ClientOptions o = fake_options(t);
  o.api_key.clear();
  o.username = "ops";
  o.password = "pw";
  Client c(o);
  CHECK_NOTHROW(c.summary());
  CHECK(logins == 2);
  CHECK(refusals == 1);

  // A server that refuses every token: one renewal, then AuthenticationError (no loop).
  int calls = 0;
  auto always = std::make_shared<FakeTransport>([&](const HttpRequest& req) {
    ++calls;
    if (req.target == "/api/auth/login") return ok(login_answer("t", 4'000'000'000LL));
    return ok(kUnauthenticated, 401);
  });
  o.transport = always;
  Client d(o);
  CHECK_THROWS_AS(d.summary(), AuthenticationError);
  CHECK(calls == 4);  // login, call, login, call
}

TEST_CASE("client auth: a wrong password is an AuthenticationError without the password in it") {
  auto t = std::make_shared<FakeTransport>([](const HttpRequest&) {
    return ok(R"({"error":{"code":"unauthenticated","message":"wrong user name or password"}})",
              401);
  });
  ClientOptions o = fake_options(t);
  o.api_key.clear();
  o.username = "ops";
  o.password = "hunter2-secret";
  Client c(o);
  try {
    c.summary();
    FAIL("no error");
  } catch (const AuthenticationError& e) {
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
    CHECK(e.status() == 401);
  }
  CHECK(t->requests.size() == 1);  // the login only; no call without a token
}

TEST_CASE("client retries: GETs are retried after connection errors and 503 with growing delays") {
  int calls = 0;
  auto t = std::make_shared<FakeTransport>([&](const HttpRequest&) -> HttpResponse {
    ++calls;
    if (calls == 1) throw ConnectionError("cannot reach the API at http://127.0.0.1:1: refused");
    if (calls == 2) return {503, R"({"error":{"code":"unavailable","message":"db"}})", ""};
    return ok(kSummary);
  });
  std::vector<std::chrono::milliseconds> sleeps;
  ClientOptions o = fake_options(t, &sleeps);
  o.retry_initial = std::chrono::milliseconds(100);
  o.retry_max = std::chrono::milliseconds(10'000);
  Client c(o);
  CHECK_NOTHROW(c.summary());
  CHECK(calls == 3);
  REQUIRE(sleeps.size() == 2);
  CHECK(sleeps[0] >= std::chrono::milliseconds(50));
  CHECK(sleeps[0] <= std::chrono::milliseconds(100));
  CHECK(sleeps[1] >= std::chrono::milliseconds(100));  // doubled (minus jitter)
  CHECK(sleeps[1] <= std::chrono::milliseconds(200));
}

TEST_CASE(
    "client retries: they stop after max_retries, a 503's Retry-After is honoured up to "
    "retry_max") {
  int calls = 0;
  auto t = std::make_shared<FakeTransport>([&](const HttpRequest&) -> HttpResponse {
    ++calls;
    return {503, R"({"error":{"code":"unavailable","message":"db","retry_after":3}})", "3"};
  });
  std::vector<std::chrono::milliseconds> sleeps;
  ClientOptions o = fake_options(t, &sleeps);
  o.max_retries = 2;
  o.retry_max = std::chrono::milliseconds(2500);
  Client c(o);
  try {
    c.summary();
    FAIL("no error");
  } catch (const ServerError& e) {
    CHECK(e.status() == 503);
    CHECK(e.retry_after() == std::chrono::seconds(3));
  }
  CHECK(calls == 3);
  CHECK(sleeps == std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(2500),
                                                         std::chrono::milliseconds(2500)});
}

TEST_CASE("client retries: a POST without an Idempotency-Key is never repeated") {
  int calls = 0;
  auto t = std::make_shared<FakeTransport>([&](const HttpRequest&) -> HttpResponse {
    ++calls;
    throw ConnectionError("cannot reach the API at http://127.0.0.1:1: reset");
  });
  Client c(fake_options(t));
  CHECK_THROWS_AS(c.miners().set_managed(1, true), ConnectionError);
  CHECK_THROWS_AS(c.alerts().acknowledge(1), ConnectionError);
  CHECK(calls == 2);
}

TEST_CASE("client commands: queue sends confirm and one Idempotency-Key, and its retry reuses it") {
  int calls = 0;
  auto t = std::make_shared<FakeTransport>([&](const HttpRequest&) -> HttpResponse {
    if (++calls == 1) throw ConnectionError("cannot reach the API: reset");
    return ok(
        R"({"id":1,"worker_id":7,"worker_name":"m","action":"reboot","params":{},"origin":"user",
      "state":"queued","requested_by":"ops"})",
        201);
  });
  Client c(fake_options(t));
  Command cmd = c.commands().queue(7, {.action = "reboot", .confirm = true});
  CHECK(cmd.state == "queued");
  REQUIRE(t->requests.size() == 2);
  CHECK(t->requests[0].target == "/api/workers/7/commands");
  CHECK(t->requests[0].body == R"({"action":"reboot","confirm":true})");
  const std::string key = t->header(0, "Idempotency-Key");
  CHECK_FALSE(key.empty());
  CHECK(t->header(1, "Idempotency-Key") == key);
  c.commands().queue(7, {.action = "set_preset", .preset = "2900", .idempotency_key = "mine-1"});
  CHECK(t->requests[2].body == R"({"action":"set_preset","params":{"preset":"2900"}})");
  CHECK(t->header(2, "Idempotency-Key") == "mine-1");
  CHECK(needs_confirm("power_cycle"));
  CHECK_FALSE(needs_confirm("restart_mining"));
}

TEST_CASE("client options: from the environment, and base URLs checked without echoing them") {
  auto o = from_environment({{"FLEET_API_URL", "http://10.0.0.5:9000/fleet"},
                             {"FLEET_API_KEY", "fwk_abc"},
                             {"FLEET_API_USER", ""},
                             {"FLEET_API_PASSWORD", "pw"}});
  CHECK(o.base_url == "http://10.0.0.5:9000/fleet");
  CHECK(o.api_key == "fwk_abc");
  CHECK(o.username.empty());
  CHECK(o.password == "pw");
  CHECK(from_environment(std::map<std::string, std::string>{}).base_url == "http://127.0.0.1:8080");

  auto base = parse_base_url("http://10.0.0.5:9000/fleet/");
  CHECK(base.origin == "http://10.0.0.5:9000");
  CHECK(base.prefix == "/fleet");
  CHECK(parse_base_url("https://api.example").prefix.empty());
  for (const char* bad : {"127.0.0.1:8080", "ftp://x", "http://", "http://h:99999", "http://a b"}) {
    CHECK_THROWS_AS(parse_base_url(bad), ConfigurationError);
  }
  try {
    parse_base_url("http://admin:hunter2@10.0.0.5");
    FAIL("accepted credentials in the URL");
  } catch (const ConfigurationError& e) {
    CHECK(std::string(e.what()).find("hunter2") == std::string::npos);
  }
  ClientOptions no_password;
  no_password.username = "ops";
  CHECK_THROWS_AS(Client(no_password), ConfigurationError);
}

TEST_CASE(
    "client transport: a real HTTP exchange with a path prefix, Retry-After, and a refused port") {
  httplib::Server server;
  std::atomic<int> hits{0};
  server.Get("/fleet/api/summary", [&](const httplib::Request& req, httplib::Response& res) {
    ++hits;
    CHECK(req.get_header_value("X-API-Key") == "fwk_test_secret_key");
    res.set_content(kSummary, "application/json");
  });
  server.Post("/fleet/api/auth/login", [](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "12");
    res.set_content(
        R"({"error":{"code":"rate_limited","message":"too many failed logins","retry_after":12}})",
        "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread thread([&] { server.listen_after_bind(); });
  while (!server.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(5));

  ClientOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(port) + "/fleet";
  o.api_key = "fwk_test_secret_key";
  {
    Client c(o);  // closes its keep-alive connection at the end of the block
    CHECK(c.summary().hashrate_ths == 0);
    CHECK(hits == 1);
    try {
      c.login("ops", "pw");
      FAIL("no error");
    } catch (const RateLimitError& e) {
      CHECK(e.retry_after() == std::chrono::seconds(12));
    }
  }
  server.stop();
  thread.join();

  // Nothing listens any more: ConnectionError after the retries, naming the server only.
  o.max_retries = 1;
  o.retry_initial = std::chrono::milliseconds(1);
  o.base_url = "http://127.0.0.1:" + std::to_string(port);
  Client gone(o);
  try {
    gone.summary();
    FAIL("no error");
  } catch (const ConnectionError& e) {
    CHECK(std::string(e.what()).find("127.0.0.1:" + std::to_string(port)) != std::string::npos);
    CHECK(std::string(e.what()).find("fwk_") == std::string::npos);
  }
}
