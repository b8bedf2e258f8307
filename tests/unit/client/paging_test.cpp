// The auto-paging range: every item once, pages fetched lazily, cursors followed.
#include <catch2/catch.hpp>

#include <map>
#include <regex>
#include <set>

#include "fake_transport.h"

using namespace fleet::client;
using fleet::test::fake_options;
using fleet::test::FakeTransport;
using fleet::test::ok;

namespace {

// A server of `total` workers with ids 1..total, keyset-paged like the gateway (id > after).
FakeTransport::Handler worker_server(int total) {
  return [total](const HttpRequest& req) {
    std::smatch m;
    int limit = 100;
    long long after = 0;
    if (std::regex_search(req.target, m, std::regex(R"([?&]limit=(\d+))"))) limit = std::stoi(m[1]);
    if (std::regex_search(req.target, m, std::regex(R"([?&]after=(\d+))")))
      after = std::stoll(m[1]);
    std::string items;
    long long last = after;
    for (long long id = after + 1; id <= total && id <= after + limit; ++id) {
      if (!items.empty()) items += ",";
      items += R"({"id":)" + std::to_string(id) + R"(,"kind":"asic","name":"w)" +
               std::to_string(id) + R"(","status":"online","managed":false,"labels":{}})";
      last = id;
    }
    const std::string next = last < total ? "\"" + std::to_string(last) + "\"" : "null";
    return ok(R"({"items":[)" + items + R"(],"next":)" + next + R"(,"limit":)" +
              std::to_string(limit) + "}");
  };
}

}  // namespace

TEST_CASE("client paging: all() yields every item of every page exactly once, in order") {
  auto t = std::make_shared<FakeTransport>(worker_server(250));
  Client c(fake_options(t));
  std::vector<std::int64_t> ids;
  auto range = c.workers().all({.kind = "asic", .limit = 100});
  for (const Worker& w : range)
    ids.push_back(w.id);
  REQUIRE(ids.size() == 250);
  CHECK(std::set<std::int64_t>(ids.begin(), ids.end()).size() == 250);
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(ids.front() == 1);
  CHECK(ids.back() == 250);
  REQUIRE(t->requests.size() == 3);
  CHECK(range.pages_fetched() == 3);
  CHECK(t->requests[0].target == "/api/workers?kind=asic&limit=100");
  CHECK(t->requests[1].target == "/api/workers?kind=asic&limit=100&after=100");
  CHECK(t->requests[2].target == "/api/workers?kind=asic&limit=100&after=200");
}

TEST_CASE("client paging: pages are fetched only when the iteration reaches them") {
  auto t = std::make_shared<FakeTransport>(worker_server(250));
  Client c(fake_options(t));
  auto range = c.workers().all({.limit = 100});
  CHECK(t->requests.empty());  // nothing before begin()
  int seen = 0;
  for (const Worker& w : range) {
    (void)w;
    if (++seen == 100) break;
  }
  CHECK(t->requests.size() == 1);
  // Exactly a page: the next one is fetched by the step past its last item.
  auto again = c.workers().all({.limit = 50});
  auto it = again.begin();
  for (int i = 0; i < 49; ++i)
    ++it;
  CHECK(it->id == 50);
  CHECK(t->requests.size() == 2);
  ++it;
  CHECK(it->id == 51);
  CHECK(t->requests.size() == 3);
}

TEST_CASE("client paging: an empty collection and an empty page with a cursor") {
  auto empty = std::make_shared<FakeTransport>(worker_server(0));
  Client c(fake_options(empty));
  auto range = c.workers().all();
  CHECK(range.begin() == range.end());
  CHECK(empty->requests.size() == 1);

  // A page that is empty but still points further (filtered rows) is skipped, not an end.
  int call = 0;
  auto t = std::make_shared<FakeTransport>([&call](const HttpRequest&) {
    ++call;
    if (call == 1) return ok(R"({"items":[],"next":"500","limit":100})");
    return ok(
        R"({"items":[{"id":501,"kind":"rig","name":"r","status":"online","managed":true,"labels":{}}],"next":null,"limit":100})");
  });
  Client c2(fake_options(t));
  std::vector<std::int64_t> ids;
  for (const auto& w : c2.workers().all())
    ids.push_back(w.id);
  CHECK(ids == std::vector<std::int64_t>{501});
  CHECK(t->requests[1].target == "/api/workers?after=500");
}

TEST_CASE("client paging: a cursor that does not advance is a ProtocolError, not an endless loop") {
  auto t = std::make_shared<FakeTransport>([](const HttpRequest&) {
    return ok(
        R"({"items":[{"id":1,"kind":"asic","name":"a","status":"online","managed":true,"labels":{}}],"next":"1","limit":1})");
  });
  Client c(fake_options(t));
  CHECK_THROWS_AS(
      [&] {
        for (const auto& w : c.workers().all())
          (void)w;
      }(),
      ProtocolError);
  CHECK(t->requests.size() == 2);
}

TEST_CASE("client paging: filters and cursors are percent-encoded") {
  auto t = std::make_shared<FakeTransport>(worker_server(0));
  Client c(fake_options(t));
  c.miners().page({.online = false, .q = "fe:07 &x=1"}, std::string("9"));
  CHECK(t->requests[0].target == "/api/miners?online=false&q=fe%3A07%20%26x%3D1&after=9");
  c.commands().page({.worker_id = 7, .state = "queued", .limit = 5});
  CHECK(t->requests[1].target == "/api/commands?worker_id=7&state=queued&limit=5");
  c.alerts().page({.state = "open"});
  CHECK(t->requests[2].target == "/api/alerts?state=open");
}
