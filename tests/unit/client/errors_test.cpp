// Mapping error answers of the api-gateway to the client's exception hierarchy.
#include <catch2/catch.hpp>

#include "client/errors.h"

using namespace fleet::client;

namespace {

// Runs throw_api_error and returns what it threw, as the given type.
template <class E>
E caught(int status, const std::string& body, const std::string& retry_after = "") {
  try {
    throw_api_error(status, body, retry_after);
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    FAIL("threw the wrong type: " << e.what());
  }
  FAIL("threw nothing");
  throw;
}

}  // namespace

TEST_CASE("client error mapping: each status gives its class with code, message and field") {
  auto v = caught<ValidationError>(
      400,
      R"({"error":{"code":"invalid_argument","message":"'limit' must be an integer 1..1000","field":"limit"}})");
  CHECK(v.status() == 400);
  CHECK(v.code() == "invalid_argument");
  CHECK(v.message() == "'limit' must be an integer 1..1000");
  CHECK(v.field() == "limit");
  CHECK(v.describe() == "'limit' must be an integer 1..1000 (field: limit)");
  CHECK(std::string(v.what()) == v.message());

  CHECK(caught<ValidationError>(
            422, R"({"error":{"code":"unprocessable","message":"x","field":"worker_id"}})")
            .field() == "worker_id");
  CHECK(caught<AuthenticationError>(
            401, R"({"error":{"code":"unauthenticated","message":"invalid credentials"}})")
            .message() == "invalid credentials");
  CHECK(caught<PermissionError>(403, R"({"error":{"code":"forbidden","message":"needs operator"}})")
            .status() == 403);
  CHECK(
      caught<NotFoundError>(404, R"({"error":{"code":"not_found","message":"miner 9 not found"}})")
          .message() == "miner 9 not found");
  CHECK(caught<ConflictError>(409,
                              R"({"error":{"code":"conflict","message":"taken","field":"name"}})")
            .field() == "name");
  CHECK(caught<ServerError>(500, R"({"error":{"code":"internal","message":"internal error"}})")
            .status() == 500);
  // Every subclass is an ApiError and a client::Error.
  CHECK(caught<ApiError>(404, "{}").code() == "http_404");
  CHECK(caught<Error>(409, "{}").what() == std::string("conflict"));
  CHECK(caught<ApiError>(418, "{}").status() == 418);
}

TEST_CASE("client error mapping: 429 carries retry_after from the header, else from the body") {
  const std::string body =
      R"({"error":{"code":"rate_limited","message":"too many failed logins; retry in 42 s","retry_after":42}})";
  CHECK(caught<RateLimitError>(429, body, "17").retry_after() == std::chrono::seconds(17));
  CHECK(caught<RateLimitError>(429, body, "").retry_after() == std::chrono::seconds(42));
  CHECK(caught<RateLimitError>(429, body, "garbage").retry_after() == std::chrono::seconds(42));
  // Neither: at least one second, so a caller's wait loop always waits.
  CHECK(caught<RateLimitError>(429, "{}", "").retry_after() == std::chrono::seconds(1));
  CHECK(caught<RateLimitError>(429, body).code() == "rate_limited");
  CHECK(caught<ServerError>(503, R"({"error":{"code":"unavailable","message":"db down"}})", "5")
            .retry_after() == std::chrono::seconds(5));
  CHECK(caught<ServerError>(503, "{}", "").retry_after() == std::chrono::seconds(0));
}

TEST_CASE("client error mapping: a refused rule lists every problem with its position") {
  const std::string body =
      R"({"error":{"code":"invalid_argument","message":"condition: unknown metric 'chip_temp'",
    "field":"condition","details":{"problems":[
      {"field":"condition","message":"unknown metric 'chip_temp'","position":0,"length":9,"column":1},
      {"field":"for","message":"must be a duration"}]}}})";
  auto e = caught<ValidationError>(400, body);
  CHECK(e.field() == "condition");
  auto problems = e.problems();
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].field == "condition");
  CHECK(problems[0].position == 0);
  CHECK(problems[0].length == 9);
  CHECK(problems[0].column == 1);
  CHECK(problems[1].field == "for");
  CHECK_FALSE(problems[1].position.has_value());
  CHECK_FALSE(e.details_json().empty());
}

TEST_CASE("client error mapping: a body that is not the API's JSON still maps by status") {
  auto e = caught<NotFoundError>(404, "<html>nginx</html>");
  CHECK(e.message() == "not found");
  CHECK(e.field().empty());
  CHECK(e.problems().empty());
  CHECK(caught<ValidationError>(413, "").status() == 413);
  CHECK(caught<ServerError>(502, "Bad Gateway").code() == "http_502");
}
