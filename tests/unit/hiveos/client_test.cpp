// The HiveOS HTTP client against a local cpp-httplib server (bearer header, Retry-After in
// seconds and as a date, 403 "Too many requests", 401, 5xx / 521, timeouts, body caps) and the
// in-memory request budget on a driven clock.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include <httplib.h>

#include "hiveos/api.h"
#include "hiveos/budget.h"

using namespace fleet;
using namespace fleet::hiveos;
using namespace std::chrono_literals;

namespace {

class Server {
 public:
  Server() {
    port_ = svr_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_.listen_after_bind(); });
    while (!svr_.is_running())
      std::this_thread::sleep_for(1ms);
  }
  ~Server() {
    svr_.stop();
    thread_.join();
  }
  httplib::Server& svr() { return svr_; }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api/v2"; }

 private:
  httplib::Server svr_;
  int port_ = 0;
  std::thread thread_;
};

const ApiError& error_of(const ApiResult<Parsed<Farm>>& r) {
  return std::get<ApiError>(r);
}

}  // namespace

TEST_CASE("HttpApi sends the bearer token and maps the farms", "[hiveos]") {
  Server s;
  std::string seen_auth;
  s.svr().Get("/api/v2/farms", [&](const httplib::Request& req, httplib::Response& res) {
    seen_auth = req.get_header_value("Authorization");
    res.set_content(R"({"data": [{"id": 5, "name": "north"}], "tags": []})", "application/json");
  });
  s.svr().Get("/api/v2/auth/check",
              [&](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  auto api = make_http_api({.base_url = s.base() + "/", .token = "secret-token-1"});
  auto r = api->farms();
  REQUIRE(r.index() == 0);
  CHECK(std::get<0>(r).items.at(0).name == "north");
  CHECK(seen_auth == "Bearer secret-token-1");
  CHECK(std::get<0>(api->auth_check()) == true);
}

TEST_CASE("HttpApi classifies refusals and never puts the token in a message", "[hiveos]") {
  Server s;
  int calls = 0;
  s.svr().Get("/api/v2/farms", [&](const httplib::Request&, httplib::Response& res) {
    switch (calls++) {
      case 0:
        res.status = 401;
        res.set_content(R"({"message": "Unauthenticated."})", "application/json");
        break;
      case 1:
        res.status = 429;
        res.set_header("Retry-After", "7");
        break;
      case 2:
        res.status = 403;
        res.set_content(R"({"message": "Too many requests"})", "application/json");
        res.set_header("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT");  // in the past: 0 s
        break;
      case 3:
        res.status = 521;
        break;
      case 4:
        res.status = 503;
        break;
      case 5:
        res.status = 403;
        res.set_content(R"({"message": "Forbidden"})", "application/json");
        break;
      case 6:
        res.status = 429;  // no Retry-After: the default
        break;
      default:
        res.status = 422;
        res.set_content(R"({"message": "The given data was invalid."})", "application/json");
    }
  });
  auto api =
      make_http_api({.base_url = s.base(), .token = "tok-SECRET", .default_retry_after = 30s});
  auto e401 = error_of(api->farms());
  CHECK(e401.kind == ErrorKind::kUnauthenticated);
  CHECK(e401.http_status == 401);
  CHECK_THAT(e401.message, Catch::Contains("GET /farms") && Catch::Contains("token was rejected"));
  auto e429 = error_of(api->farms());
  CHECK(e429.kind == ErrorKind::kResourceExhausted);
  CHECK(e429.retry_after == 7s);
  auto e403 = error_of(api->farms());
  CHECK(e403.kind == ErrorKind::kResourceExhausted);
  CHECK(e403.retry_after == 0s);
  CHECK(error_of(api->farms()).kind == ErrorKind::kUnavailable);  // 521 (Cloudflare)
  CHECK(error_of(api->farms()).kind == ErrorKind::kUnavailable);  // 503
  CHECK(error_of(api->farms()).kind == ErrorKind::kPermissionDenied);
  CHECK(error_of(api->farms()).retry_after == 30s);
  auto e422 = error_of(api->farms());
  CHECK(e422.kind == ErrorKind::kInvalidArgument);
  CHECK_THAT(e422.message, Catch::Contains("The given data was invalid."));
  for (const auto& m : {e401.message, e429.message, e403.message, e422.message}) {
    CHECK(m.find("SECRET") == std::string::npos);
  }
}

TEST_CASE("HttpApi bounds slow answers, huge bodies and dead ports", "[hiveos]") {
  Server s;
  s.svr().Get("/api/v2/farms", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"data": [)" + std::string(3 << 20, ' ') + "]}", "application/json");
  });
  s.svr().Get("/api/v2/farms/1/workers", [&](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(1500ms);
    res.set_content(R"({"data": []})", "application/json");
  });
  HttpApiOptions o{.base_url = s.base(), .token = "t", .timeout = 500ms};
  o.limits.max_body_bytes = 1 << 20;
  auto api = make_http_api(o);
  auto big = error_of(api->farms());
  CHECK(big.kind == ErrorKind::kDataLoss);
  CHECK_THAT(big.message, Catch::Contains("over the cap"));
  auto slow = api->workers(1);
  REQUIRE(slow.index() == 1);
  CHECK(std::get<ApiError>(slow).kind == ErrorKind::kDeadlineExceeded);
  auto dead = make_http_api({.base_url = "http://127.0.0.1:1/api/v2", .token = "t"});
  auto r = dead->farms();
  REQUIRE(r.index() == 1);
  CHECK(std::get<ApiError>(r).kind == ErrorKind::kUnavailable);
}

TEST_CASE("HttpApi posts commands and reads the command ids and messages", "[hiveos]") {
  Server s;
  std::string posted, bulk_posted, query;
  s.svr().Post("/api/v2/farms/5/workers/9/command",
               [&](const httplib::Request& req, httplib::Response& res) {
                 posted = req.body;
                 res.status = 201;
                 res.set_content(R"({"id": 44, "commands": [{"command": "reboot", "id": 44}]})",
                                 "application/json");
               });
  s.svr().Post(
      "/api/v2/farms/5/workers/command", [&](const httplib::Request& req, httplib::Response& res) {
        bulk_posted = req.body;
        res.set_content(
            R"({"id": 50, "commands": [{"worker_id": 9, "id": 51}, {"worker_id": 10, "id": 52}]})",
            "application/json");
      });
  s.svr().Get("/api/v2/farms/5/workers/9/messages", [&](const httplib::Request& req,
                                                        httplib::Response& res) {
    query = req.get_param_value("start_time") + "|" + req.get_param_value("with_payload");
    res.set_content(R"({"data": [{"id": 1, "cmd_id": 44, "type": "success", "title": "ok"}]})",
                    "application/json");
  });
  auto api = make_http_api({.base_url = s.base(), .token = "t"});
  auto one = api->command(5, 9, {"reboot", "{}"});
  REQUIRE(one.index() == 0);
  CHECK(std::get<0>(one).at(0).command_id == 44);
  CHECK(posted == R"({"command":"reboot"})");
  auto many = api->command_bulk(5, {9, 10}, {"miner", R"({"action":"stop"})"});
  REQUIRE(many.index() == 0);
  CHECK(std::get<0>(many).size() == 2);
  CHECK(bulk_posted ==
        R"({"data":{"command":"miner","data":{"action":"stop"}},"worker_ids":[9,10]})");
  auto msgs = api->messages(5, 9, 1700000000);
  REQUIRE(msgs.index() == 0);
  CHECK(std::get<0>(msgs).items.at(0).cmd_id == 44);
  CHECK(query == "1700000000|1");
}

TEST_CASE("the memory budget allows a burst, then paces, and honours a block", "[hiveos]") {
  auto t = std::chrono::steady_clock::time_point{};  // zero: a freshly booted host
  auto budget = make_memory_budget({.requests_per_minute = 60, .burst = 3}, [&] { return t; });
  CHECK(budget->reserve(1).value() == 0ms);
  CHECK(budget->reserve(1).value() == 0ms);
  CHECK(budget->reserve(1).value() == 0ms);
  CHECK(budget->reserve(1).value() == 1000ms);
  CHECK(budget->reserve(1).value() == 2000ms);
  CHECK(budget->reserve(2).value() == 0ms);  // per account
  t += 10s;                                  // the bucket refills
  CHECK(budget->reserve(1).value() == 0ms);
  REQUIRE(budget->block(1, 5s).ok());
  CHECK(budget->reserve(1).value() == 5000ms);
  // A shorter block never shortens a longer one.
  REQUIRE(budget->block(1, 1s).ok());
  CHECK(budget->reserve(1).value() >= 5000ms);
}
