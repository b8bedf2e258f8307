// api-gateway: every route's authorisation, bad input, pagination, readings, OpenAPI.
#include <catch2/catch.hpp>

#include <regex>
#include <thread>

#include "gateway_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// Rows and content of the tables the API may change: equal before and after means nothing changed.
std::string data_fingerprint(TestDatabase& db) {
  return db.scalar(
      "SELECT concat_ws('|', (SELECT md5(coalesce(string_agg(w::text, ',' ORDER BY id), '')) FROM "
      "workers w),"
      " (SELECT count(*) FROM readings), (SELECT md5(coalesce(string_agg(m::text, ',' ORDER BY "
      "worker_id, metric), ''))"
      " FROM metrics_latest m), (SELECT md5(coalesce(string_agg(u.id || u.role || u.disabled, "
      "','), '')) FROM users u),"
      " (SELECT count(*) FROM api_keys))");
}

std::string concrete(std::string path) {
  path = std::regex_replace(path, std::regex(R"(\{[a-z_]*id\})"), "999999");
  return std::regex_replace(path, std::regex(R"(\{[a-z_]+\})"), "nosuch");
}

// Interactive roles in order; a route for ingest keys is open to operators and admins too.
// "node" (a container host's agent, issue 13) is no user's role: every user is refused (403).
int rank(const std::string& role) {
  if (role == "node") return 3;
  return role == "viewer" ? 0 : role == "operator" || role == "ingest" ? 1 : 2;
}

}  // namespace

TEST_CASE("every route answers each role as documented, and never with a 5xx",
          "[gateway][api][e2e]") {
  GatewayFixture gw;
  auto doc = gw.as("viewer", "GET", "/api/openapi.json");
  REQUIRE(doc.status == 200);
  int checked = 0;
  for (const auto& [path, operations] : doc.body["paths"].items()) {
    for (const auto& [method_lower, op] : operations.items()) {
      std::string method = method_lower;
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      const bool is_public = op["security"].empty();
      const std::string needed = op.value("x-required-role", "");
      const std::string url = concrete(path);
      const std::string body = method == "GET" || method == "DELETE" ? "" : "{}";
      for (const std::string who : {"", "viewer", "operator", "admin"}) {
        if (path == "/api/auth/logout" && !who.empty())
          continue;  // would end the session used below
        INFO(method << " " << url << " as " << (who.empty() ? "nobody" : who));
        auto a = gw.as(who, method, url, body);
        CHECK(a.status > 0);
        CHECK(a.status < 500);
        CHECK(a.status != 405);
        if (is_public) {
          CHECK(a.status != 401);
        } else if (who.empty()) {
          CHECK(a.status == 401);
        } else if (rank(who) < rank(needed)) {
          CHECK(a.status == 403);
        } else {
          CHECK(a.status != 401);
          CHECK(a.status != 403);
        }
        if (a.status >= 400 && a.headers.count("Content-Type") &&
            a.headers.find("Content-Type")->second.find("json") != std::string::npos) {
          CHECK(a.body["error"]["code"].is_string());
          CHECK(a.body["error"]["message"].is_string());
        }
        ++checked;
      }
    }
  }
  CHECK(checked >= 80);
}

TEST_CASE("bad input gets a 4xx naming the problem and changes nothing", "[gateway][api][e2e]") {
  GatewayFixture gw;
  gw.db.exec(
      "INSERT INTO workers (id, kind, name) VALUES (1, 'device', 'tank'), (2, 'asic', 'm2')");
  gw.db.exec("SELECT setval('workers_id_seq', 10)");
  const std::string before = data_fingerprint(gw.db);
  struct Case {
    std::string method, path, body;
    int status;
    std::string field;
  };
  std::vector<Case> cases = {
      {"PATCH", "/api/workers/1", "{bad json", 400, ""},
      {"PATCH", "/api/workers/1", "[1, 2]", 400, ""},
      {"PATCH", "/api/workers/1", "", 400, ""},
      {"PATCH", "/api/workers/1", R"({"managed": "yes"})", 400, "managed"},
      {"PATCH", "/api/workers/1", R"({"manged": true})", 400, "manged"},
      {"PATCH", "/api/workers/1", R"({"name": ""})", 400, "name"},
      {"PATCH", "/api/workers/1", R"({"name": 12})", 400, "name"},
      {"PATCH", "/api/workers/1", R"({"labels": {"rack": 7}})", 400, "labels.rack"},
      {"PATCH", "/api/workers/1", "{\"name\": \"bad \xff utf8\"}", 400, ""},
      {"PATCH", "/api/workers/1", std::string(20000, '[') + std::string(20000, ']'), 400, ""},
      {"PATCH", "/api/workers/1", R"({"name": ")" + std::string(300, 'x') + "\"}", 400, "name"},
      {"POST", "/api/readings", R"({"worker_id": 99999999999999999999, "metric": "t", "value": 1})",
       400, "worker_id"},
      {"POST", "/api/readings", R"({"worker_id": 1, "metric": "t", "value": 1e999})", 400, ""},
      {"POST", "/api/readings", R"({"worker_id": 1.5, "metric": "t", "value": 1})", 400,
       "worker_id"},
      {"POST", "/api/readings",
       R"({"worker_id": 1, "metric": "Temp; DROP TABLE readings", "value": 1})", 400, "metric"},
      {"POST", "/api/readings", R"({"worker_id": 1, "metric": "t"})", 400, "value"},
      {"POST", "/api/readings", R"({"worker_id": 424242, "metric": "t", "value": 1})", 422,
       "worker_id"},
      {"POST", "/api/readings",
       R"({"worker_id": 1, "metric": "t", "value": 1, "ts": "2999-01-01T00:00:00Z"})", 422, "ts"},
      {"POST", "/api/readings", R"({"worker_id": 1, "metric": "t", "value": 1, "ts": "yesterday"})",
       400, "ts"},
      {"POST", "/api/readings", R"({"readings": []})", 400, "readings"},
      {"POST", "/api/readings",
       R"({"readings": [{"worker_id": 1, "metric": "ok", "value": 1}, {"worker_id": 1, "metric": "BAD", "value": 2}]})",
       400, "readings[1].metric"},
      {"POST", "/api/readings",
       R"({"readings": [{"worker_id": 1, "metric": "ok", "value": 1}, {"worker_id": 7777, "metric": "ok", "value": 2}]})",
       422, "readings[1].worker_id"},
      {"GET", "/api/workers?limit=0", "", 400, "limit"},
      {"GET", "/api/workers?limit=abc", "", 400, "limit"},
      {"GET", "/api/workers?kind=toaster", "", 400, "kind"},
      {"GET", "/api/workers?label=nocolon", "", 400, "label"},
      {"GET", "/api/workers?after=-5", "", 400, "after"},
      {"GET", "/api/workers/1/metrics", "", 400, "metric"},
      {"GET", "/api/workers/1/metrics?metric=t&since=last%20tuesday", "", 400, "since"},
      {"GET", "/api/workers/1/metrics?metric=t&step=5ms", "", 400, "step"},
      {"GET", "/api/workers/424242", "", 404, ""},
      {"GET", "/api/workers/99999999999999999999", "", 404, ""},
      {"GET", "/api/nothing-here", "", 404, ""},
      {"DELETE", "/api/workers", "", 405, ""},
  };
  for (const auto& c : cases) {
    INFO(c.method << " " << c.path << " " << c.body.substr(0, 120));
    auto a = gw.as("admin", c.method, c.path, c.body);
    CHECK(a.status == c.status);
    REQUIRE(a.body.is_object());
    CHECK(a.body["error"]["message"].get<std::string>().size() > 5);
    if (!c.field.empty()) CHECK(a.body["error"].value("field", "") == c.field);
    CHECK(a.raw.find("pqxx") == std::string::npos);
    CHECK(a.raw.find("ERROR:") == std::string::npos);
  }
  CHECK(data_fingerprint(gw.db) == before);
  // An oversize body is refused before it is read whole.
  auto big = gw.as("admin", "POST", "/api/readings", std::string(2 << 20, ' '));
  CHECK(big.status == 413);
  CHECK(gw.as("admin", "DELETE", "/api/workers").headers.find("Allow")->second == "GET");
  // SQL metacharacters are data, not code.
  auto quoted =
      gw.as("admin", "PATCH", "/api/workers/2", R"({"name": "x'); DROP TABLE workers; --"})");
  CHECK(quoted.status == 200);
  CHECK(gw.db.scalar("SELECT name FROM workers WHERE id = 2") == "x'); DROP TABLE workers; --");
  CHECK(gw.db.count("workers") == 2);
}

TEST_CASE("workers are listed in keyset pages with filters", "[gateway][api][e2e]") {
  GatewayFixture gw;
  gw.db.exec(
      "INSERT INTO workers (kind, name, labels, status) SELECT CASE WHEN i % 2 = 0 THEN 'asic' "
      "ELSE 'node' END, "
      "'w' || i, jsonb_build_object('rack', 'r' || (i % 5)), CASE WHEN i % 3 = 0 THEN 'online' "
      "ELSE 'offline' END "
      "FROM generate_series(1, 250) i");
  gw.db.exec("INSERT INTO workers (kind, name) VALUES ('device', 'odd_name%')");
  std::vector<long long> ids;
  std::string after = "0";
  int pages = 0;
  while (true) {
    auto page = gw.as("viewer", "GET", "/api/workers?limit=100&after=" + after);
    REQUIRE(page.status == 200);
    ++pages;
    for (const auto& w : page.body["items"])
      ids.push_back(w["id"]);
    if (page.body["next"].is_null()) break;
    after = page.body["next"];
  }
  CHECK(pages == 3);
  CHECK(ids.size() == 251);
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
  CHECK(gw.as("viewer", "GET", "/api/workers?kind=asic&limit=1000").body["items"].size() == 125);
  CHECK(gw.as("viewer", "GET", "/api/workers?kind=node&status=online&limit=1000")
            .body["items"]
            .size() == 42);
  CHECK(gw.as("viewer", "GET", "/api/workers?label=rack:r3&limit=1000").body["items"].size() == 50);
  CHECK(gw.as("viewer", "GET", "/api/workers?q=w25").body["items"].size() == 2);  // w25, w250
  CHECK(gw.as("viewer", "GET", "/api/workers?q=%25").body["items"].size() == 1);  // '%' is literal
  auto one = gw.as("viewer", "GET", "/api/workers/" + std::to_string(ids[0]));
  CHECK(one.body["name"] == "w1");
  CHECK(one.body["labels"]["rack"] == "r1");

  // A page item is the worker as its detail shows it (the page is written straight to text, the
  // detail through a JSON document), odd characters included.
  gw.db.exec("INSERT INTO farms (name) VALUES ('farm \"north\" ✓')");
  gw.db.exec(
      "UPDATE workers SET farm_id = (SELECT id FROM farms), site = 's\\1', ip = "
      "'10.1.2.3', last_seen_at = now(), managed = true, name = 'tab\there', labels = "
      "'{\"k\": [1, {\"x\": null}], \"e\": \"é\"}' WHERE id = " +
      std::to_string(ids[1]));
  auto page = gw.as("viewer", "GET", "/api/workers?limit=3");
  REQUIRE(page.body["items"].size() == 3);
  for (const auto& item : page.body["items"]) {
    auto detail = gw.as("viewer", "GET", "/api/workers/" + std::to_string(item["id"].get<long>()));
    for (const auto& [key, value] : item.items())
      CHECK(detail.body[key] == value);
    CHECK(item.size() == 12);
  }
  CHECK(page.body["items"][1]["farm"] == "farm \"north\" ✓");
  // Each worker row carries its farm's name (sql/0051): it follows a rename, a move to another
  // farm and the farm's removal, and cannot be written past the farm. Read through a cursor page
  // (never cached) and the detail.
  const std::string second_id = std::to_string(ids[1]);
  auto farm_now = [&] {
    auto listed =
        gw.as("viewer", "GET", "/api/workers?limit=1&after=" + std::to_string(ids[1] - 1));
    auto detail = gw.as("viewer", "GET", "/api/workers/" + second_id);
    CHECK(listed.body["items"][0]["farm"] == detail.body["farm"]);
    return detail.body["farm"];
  };
  gw.db.exec("UPDATE farms SET name = 'south' WHERE name <> 'south'");
  CHECK(farm_now() == "south");
  gw.db.exec("INSERT INTO farms (name) VALUES ('east')");
  gw.db.exec("UPDATE workers SET farm_id = (SELECT id FROM farms WHERE name = 'east') WHERE id = " +
             second_id);
  CHECK(farm_now() == "east");
  gw.db.exec("UPDATE workers SET farm_name = 'forged' WHERE id = " + second_id);
  CHECK(farm_now() == "east");
  gw.db.exec("DELETE FROM farms WHERE name = 'east'");
  CHECK(farm_now() == nullptr);
  CHECK(gw.db.scalar("SELECT count(*) FROM workers WHERE farm_name IS NOT NULL") == "0");
  CHECK(page.body["items"][1]["labels"]["k"][1].contains("x"));
  // Times are RFC 3339 in UTC to the second, as the database has them.
  const auto& second = page.body["items"][1];
  CHECK(second["last_seen_at"] ==
        gw.db.scalar("SELECT to_char(last_seen_at AT TIME ZONE 'UTC', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM workers WHERE id = " +
                     std::to_string(ids[1])));
  CHECK(second["status_since"] ==
        gw.db.scalar("SELECT to_char(status_since AT TIME ZONE 'UTC', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM workers WHERE id = " +
                     std::to_string(ids[1])));
}

TEST_CASE("devices push readings, latest values and history follow", "[gateway][api][e2e]") {
  GatewayFixture gw;
  gw.db.exec("INSERT INTO workers (id, kind, name) VALUES (5, 'device', 'Main Tank')");
  gw.db.exec("INSERT INTO devices (worker_id, device_type) VALUES (5, 'thermometer')");
  auto one = gw.as(
      "operator", "POST", "/api/readings",
      R"({"worker_id": 5, "metric": "temperature", "value": 85.2, "metadata": {"probe": "A"}})");
  REQUIRE(one.status == 202);
  CHECK(one.body["new"] == 1);
  auto batch = gw.as("operator", "POST", "/api/readings",
                     R"({"readings": [
                          {"worker_id": 5, "metric": "temperature", "value": 80.0, "ts": "2026-01-01T00:00:00Z"},
                          {"worker_id": 5, "metric": "ph", "value": 8.1},
                          {"worker_id": 5, "metric": "status", "json_value": {"pump": "on", "flow": [1, 2]}}]})");
  // A reading older than 7 days is refused; the whole batch with it.
  CHECK(batch.status == 422);
  CHECK(batch.body["error"]["field"] == "readings[0].ts");
  batch = gw.as("operator", "POST", "/api/readings",
                R"({"readings": [
                     {"worker_id": 5, "metric": "ph", "value": 8.1},
                     {"worker_id": 5, "metric": "status", "json_value": {"pump": "on", "flow": [1, 2]}}]})");
  REQUIRE(batch.status == 202);
  CHECK(batch.body["accepted"] == 2);
  CHECK(gw.db.count("readings") == 3);
  CHECK(gw.db.scalar(
            "SELECT value FROM metrics_latest WHERE worker_id = 5 AND metric = 'temperature'") ==
        "85.2");
  CHECK(gw.db.scalar("SELECT json_value->>'pump' FROM metrics_latest WHERE metric = 'status'") ==
        "on");
  CHECK(gw.as("viewer", "POST", "/api/readings", R"({"worker_id": 5, "metric": "ph", "value": 7})")
            .status == 403);
  auto detail = gw.as("viewer", "GET", "/api/workers/5");
  CHECK(detail.body["metrics"]["temperature"]["value"] == 85.2);
  CHECK(detail.body["device"]["device_type"] == "thermometer");
  auto history = gw.as("viewer", "GET", "/api/workers/5/metrics?metric=temperature&since=1h");
  REQUIRE(history.status == 200);
  CHECK(history.body["points"].size() == 1);
  CHECK(history.body["points"][0][1] == 85.2);
  auto stepped =
      gw.as("viewer", "GET", "/api/workers/5/metrics?metric=temperature&since=1h&step=1m");
  CHECK(stepped.body["points"].size() == 1);
  CHECK(gw.db.scalar("SELECT last_seen_at IS NOT NULL FROM workers WHERE id = 5") == "t");
  // Bounded scans (issue 16.8): years of history, or a step too fine for the range, are refused.
  auto years = gw.as("viewer", "GET", "/api/workers/5/metrics?metric=temperature&since=10000d");
  CHECK(years.status == 400);
  CHECK(years.body["error"]["field"] == "since");
  auto ancient =
      gw.as("viewer", "GET", "/api/workers/5/metrics?metric=temperature&since=1990-01-01");
  CHECK(ancient.status == 400);
  auto fine = gw.as("viewer", "GET", "/api/workers/5/metrics?metric=temperature&since=30d&step=1s");
  CHECK(fine.status == 400);
  CHECK(fine.body["error"]["field"] == "step");
  CHECK(gw.as("viewer", "GET", "/api/workers/5/metrics?metric=temperature&since=30d&step=1h")
            .status == 200);
}

TEST_CASE("the OpenAPI document describes the routes and the API answers in JSON",
          "[gateway][api][e2e]") {
  GatewayFixture gw;
  CHECK(gw.as("", "GET", "/api/openapi.json").status == 401);
  auto doc = gw.as("viewer", "GET", "/api/openapi.json").body;
  CHECK(doc["openapi"] == "3.0.3");
  CHECK(doc["info"]["title"] == "fleetward API");
  for (const char* path :
       {"/api/auth/login", "/api/workers", "/api/workers/{id}", "/api/workers/{id}/metrics",
        "/api/readings", "/api/users", "/api/keys", "/api/services", "/api/summary", "/api/audit",
        "/health", "/ready", "/metrics"}) {
    INFO(path);
    CHECK(doc["paths"].contains(path));
  }
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      INFO(method << " " << path);
      CHECK(op["summary"].get<std::string>().size() > 5);
      CHECK(op.contains("responses"));
      CHECK(op.contains("security"));
    }
  }
  CHECK(doc["components"]["securitySchemes"].contains("bearerAuth"));
  CHECK(doc["components"]["securitySchemes"].contains("apiKeyAuth"));
  // Probes answer without credentials; nothing else does.
  CHECK(gw.as("", "GET", "/health").status == 200);
  CHECK(gw.as("", "GET", "/ready").status == 200);
  CHECK(gw.as("", "GET", "/metrics").raw.find("fleet_http_requests_total") != std::string::npos);
}

TEST_CASE("services, summary and the audit trail", "[gateway][api][e2e]") {
  GatewayFixture gw;
  gw.db.exec(
      "INSERT INTO workers (id, kind, name, status) VALUES (1, 'asic', 'm1', 'online'), (2, "
      "'asic', 'm2', 'offline')");
  gw.db.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, observed_at) VALUES (1, 'hashrate', "
      "95.5, now()), "
      "(1, 'power', 3250, now()), (2, 'hashrate', 90, now())");
  REQUIRE(eventually(
      [&] {
        return gw.db.count("SELECT 1 FROM service_instances WHERE service = 'api-gateway'") == 1;
      },
      std::chrono::seconds(10)));
  auto services = gw.as("viewer", "GET", "/api/services");
  REQUIRE(services.status == 200);
  CHECK(services.body["items"][0]["service"] == "api-gateway");
  CHECK(services.body["items"][0]["state"] == "running");
  auto summary = gw.as("viewer", "GET", "/api/summary");
  CHECK(summary.body["workers"]["asic"]["online"] == 1);
  CHECK(summary.body["hashrate_ths"] == 95.5);  // only online workers count
  CHECK(summary.body["power_w"] == 3250);
  CHECK(
      gw.as("operator", "PATCH", "/api/workers/1", R"({"managed": true, "labels": {"rack": "A1"}})")
          .status == 200);
  CHECK(gw.as("viewer", "PATCH", "/api/workers/1", R"({"managed": false})").status == 403);
  auto audit = gw.as("admin", "GET", "/api/audit");
  REQUIRE(audit.status == 200);
  auto entries = audit.body["items"];
  auto found = std::find_if(entries.begin(), entries.end(), [](const json& e) {
    return e["action"] == "PATCH /api/workers/{id}" && e["status"] == 200;
  });
  REQUIRE(found != entries.end());
  CHECK((*found)["actor"] == "operator");
  CHECK((*found)["target"] == "worker:1");
  CHECK((*found)["details"]["changes"]["managed"] == true);
  CHECK(gw.as("operator", "GET", "/api/audit").status == 403);
}

TEST_CASE("GET /api/services and fleetctl status --json show the same fields for a row",
          "[gateway][fleetctl][e2e]") {
  GatewayFixture gw;
  gw.db.exec(
      "INSERT INTO service_instances (instance_id, service, host, pid, version, mode, state, "
      "started_at, heartbeat_at, stopped_at, interval_ms, health_port, leader, cycles, "
      "cycle_errors, consecutive_failures, items_processed, last_cycle_ms, last_success_at, "
      "last_error, last_error_at, stats) VALUES "
      "('h9/status-poller/42-cd', 'status-poller', 'h9', 42, '9.9.9', 'loop', 'failed', "
      "now() - interval '3 hours', now() - interval '2 hours', now() - interval '2 hours', "
      "15000, 9105, NULL, 99, 4, 3, 1234, 1500, now() - interval '150 minutes', "
      "'unavailable: lost', now() - interval '2 hours', '{\"polled\": 1234}')");
  auto api = gw.as("viewer", "GET", "/api/services?all=true&service=status-poller");
  REQUIRE(api.status == 200);
  auto cli = run(binary("fleetctl"), {"status", "--json", "--all", "--service", "status-poller"},
                 worker_env(gw.db));
  INFO(cli.err);
  REQUIRE(cli.code == 0);
  const json cli_rows = json::parse(cli.out);
  REQUIRE(api.body["items"].size() == 1);
  REQUIRE(cli_rows.size() == 1);
  const json& from_api = api.body["items"][0];
  const json& from_cli = cli_rows[0];
  CHECK(from_api["instance_id"] == "h9/status-poller/42-cd");
  // The same keys, and the same values except the ages, which count to each query's now().
  std::vector<std::string> api_keys, cli_keys;
  for (const auto& [k, v] : from_api.items())
    api_keys.push_back(k);
  for (const auto& [k, v] : from_cli.items())
    cli_keys.push_back(k);
  CHECK(api_keys == cli_keys);
  for (const auto& [key, value] : from_api.items()) {
    INFO(key);
    REQUIRE(from_cli.contains(key));
    if (key.find("_age_seconds") != std::string::npos) {
      CHECK(from_cli[key].get<double>() == Approx(value.get<double>()).margin(60));
    } else {
      CHECK(from_cli[key] == value);
    }
  }
  CHECK(from_api["uptime_seconds"].get<double>() == Approx(3600).margin(1));
  CHECK(from_api["interval_seconds"] == 15.0);
  CHECK(from_api["started_at"].get<std::string>().size() == 20);
}

TEST_CASE("list pages are cached for a second, pages after a cursor are not",
          "[gateway][api][e2e]") {
  GatewayFixture gw;
  gw.db.exec(
      "INSERT INTO workers (kind, name) SELECT 'device', 'cached-' || i "
      "FROM generate_series(1, 3) i");
  const std::string first = gw.db.scalar("SELECT min(id) FROM workers WHERE name LIKE 'cached-%'");
  auto rename = [&](const std::string& name) {
    gw.db.exec("UPDATE workers SET name = '" + name + "' WHERE id = " + first);
  };
  auto first_name = [&](const std::string& path) {
    auto page = gw.as("viewer", "GET", path);
    REQUIRE(page.status == 200);
    for (const auto& w : page.body["items"])
      if (std::to_string(w["id"].get<long long>()) == first) return w["name"].get<std::string>();
    FAIL("worker " << first << " is not on " << path);
    return std::string();
  };
  // The first page: a change made behind the gateway's back shows only after the TTL.
  const std::string page = "/api/workers?kind=device&limit=10";
  CHECK(first_name(page) == "cached-1");
  rename("renamed-once");
  CHECK(first_name(page) == "cached-1");
  // A page after a cursor goes to the database every time.
  const std::string walk = "/api/workers?kind=device&limit=10&after=0";
  CHECK(first_name(walk) == "renamed-once");
  rename("renamed-twice");
  CHECK(first_name(walk) == "renamed-twice");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(first_name(page) == "renamed-twice");
}
