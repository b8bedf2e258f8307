// fleetctl api: credentials from flags and environment, exit codes, confirm refusal, output.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "api_commands.h"
#include "fake_transport.h"

using namespace fleet;
using fleet::test::fake_options;
using fleet::test::FakeTransport;
using fleet::test::ok;

TEST_CASE(
    "fleetctl api: credentials come from flags, else the environment, else it is a usage error") {
  auto o = cli::api_options(
      {.url = "http://127.0.0.1:9999", .api_key = "fwk_flag"},
      {{"FLEET_API_KEY", "fwk_env"}, {"FLEET_API_USER", "ops"}, {"FLEET_API_PASSWORD", "pw"}});
  CHECK(o.base_url == "http://127.0.0.1:9999");
  CHECK(o.api_key == "fwk_flag");
  CHECK(o.username.empty());  // an explicit key beats a user from the environment
  auto u = cli::api_options({.user = "admin"},
                            {{"FLEET_API_KEY", "fwk_env"}, {"FLEET_API_PASSWORD", "pw"}});
  CHECK(u.api_key.empty());
  CHECK(u.username == "admin");
  CHECK(u.password == "pw");
  CHECK(cli::api_options({}, {{"FLEET_API_KEY", "fwk_env"}}).api_key == "fwk_env");
  CHECK_THROWS_AS(cli::api_options({}, {}), client::ConfigurationError);
  CHECK_THROWS_AS(cli::api_options({.user = "admin"}, {}), client::ConfigurationError);
  CHECK_THROWS_AS(cli::api_options({.url = "localhost:8080", .api_key = "k"}, {}),
                  client::ConfigurationError);
}

TEST_CASE("fleetctl api: errors become messages with the field, and exit codes 1 and 2") {
  std::ostringstream err;
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest&) {
    return ok(
        R"({"error":{"code":"invalid_argument","message":"'2999' is not a preset of s19jpro","field":"max_preset"}})",
        400);
  });
  int code = cli::run_api(fake_options(t), err, [](client::Client& c) {
    std::ostringstream out;
    return cli::api_models_set_preset(c, "s19jpro", "2999", out);
  });
  CHECK(code == 1);
  CHECK(err.str().find("not a preset of s19jpro (field: max_preset)") != std::string::npos);
  CHECK(err.str().find("HTTP 400") != std::string::npos);

  std::ostringstream err2;
  auto refused =
      std::make_shared<FakeTransport>([](const client::HttpRequest&) -> client::HttpResponse {
        throw client::ConnectionError(
            "cannot reach the API at http://127.0.0.1:1: connection refused");
      });
  CHECK(cli::run_api(fake_options(refused), err2, [](client::Client& c) {
          std::ostringstream out;
          return cli::api_summary(c, false, out);
        }) == 1);
  CHECK(err2.str().find("connection refused") != std::string::npos);

  std::ostringstream err3;
  client::ClientOptions bad;
  bad.base_url = "nonsense";
  bad.api_key = "k";
  CHECK(cli::run_api(bad, err3, [](client::Client&) { return 0; }) == 2);
}

TEST_CASE(
    "fleetctl api command: a confirm-required action without --yes sends nothing and exits 2") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest&) {
    return ok(
        R"({"id":3,"worker_id":7,"worker_name":"m7","action":"reboot","params":{},"origin":"user",
      "state":"queued","requested_by":"ops"})",
        201);
  });
  client::Client c(fake_options(t));
  std::ostringstream out, err;
  CHECK(cli::api_command(c, {.worker_id = 7, .action = "reboot"}, out, err) == 2);
  CHECK(t->requests.empty());
  CHECK(err.str().find("--yes") != std::string::npos);
  CHECK(cli::api_command(c, {.worker_id = 7, .action = "reboot", .yes = true}, out, err) == 0);
  REQUIRE(t->requests.size() == 1);
  CHECK(t->requests[0].body.find("\"confirm\":true") != std::string::npos);
  CHECK(out.str().find("command 3: reboot on worker 7 (m7) is queued") != std::string::npos);
}

TEST_CASE("fleetctl api miners list: a table, or JSON of every page with --all") {
  int calls = 0;
  auto t = std::make_shared<FakeTransport>([&](const client::HttpRequest&) {
    ++calls;
    const std::string id = std::to_string(calls);
    return ok(
        R"({"items":[{"id":)" + id + R"(,"name":"m)" + id + R"(","mac":"fe:00:00:00:00:0)" + id +
        R"(","ip":null,"online":false,"status":"offline","managed":true,"api_key_state":"active","latest":null}],
              "next":)" +
        (calls < 3 ? "\"" + id + "\"" : std::string("null")) + R"(,"limit":1})");
  });
  client::Client c(fake_options(t));
  std::ostringstream table;
  CHECK(cli::api_miners_list(c, {.list = {.limit = 1}, .managed = true}, table) == 0);
  CHECK(table.str().find("fe:00:00:00:00:01") != std::string::npos);
  CHECK(table.str().find("offline") != std::string::npos);
  CHECK(table.str().find("--all") != std::string::npos);  // told there is more
  CHECK(t->requests[0].target == "/api/miners?managed=true&limit=1");

  std::ostringstream json_out;
  CHECK(cli::api_miners_list(c, {.list = {.limit = 1, .all = true, .json = true}}, json_out) == 0);
  auto doc = nlohmann::json::parse(json_out.str());
  REQUIRE(doc.is_array());
  CHECK(doc.size() == 2);  // calls 2 and 3: two pages
  CHECK(doc[1]["mac"] == "fe:00:00:00:00:03");
}
