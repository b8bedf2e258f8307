// /health, /ready and /metrics of a running worker, including a database outage.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using std::chrono::seconds;

namespace {

bool promtool_available() {
  return std::filesystem::exists("/usr/bin/promtool");
}

}  // namespace

TEST_CASE("/health stays up and /ready follows the database through an outage",
          "[runtime][probes][e2e]") {
  // A private server: this test stops and restarts it.
  auto server = PgServer::create();
  server->create_template();
  auto db = std::make_unique<TestDatabase>(Schema::kMigrated, *server);
  add_test_marks(*db);
  const int port = free_port();
  Process worker(binary("test-worker"),
                 {"--interval", "0.3", "--health-port", std::to_string(port), "--set",
                  "backoff.max=500ms", "--set", "database.connect_timeout=2s"},
                 worker_env(*db));
  REQUIRE(eventually([&] { return http_get(port, "/ready").status == 200; }, seconds(10)));
  CHECK(http_get(port, "/health").status == 200);
  CHECK(http_get(port, "/livez").status == 200);
  CHECK(http_get(port, "/readyz").status == 200);
  CHECK(nlohmann::json::parse(http_get(port, "/health").body)["status"] == "ok");

  server->stop();
  REQUIRE(eventually([&] { return http_get(port, "/ready").status == 503; }, seconds(10)));
  auto ready = nlohmann::json::parse(http_get(port, "/ready").body);
  CHECK_THAT(ready["reason"].get<std::string>(), Contains("database unreachable"));
  // Liveness never depends on the database: the loop keeps ticking through the outage.
  for (int i = 0; i < 6; ++i) {
    CHECK(http_get(port, "/health").status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  CHECK(worker.running());

  server->start();
  REQUIRE(eventually([&] { return http_get(port, "/ready").status == 200; }, seconds(20)));
  const long long marks = db->count("test_marks");
  REQUIRE(eventually([&] { return db->count("test_marks") > marks; }, seconds(10)));
  CHECK(worker.running());  // recovered without a restart
  worker.signal(SIGTERM);
  CHECK(worker.wait(seconds(5)) == 0);
  db.reset();
}

TEST_CASE("/ready is 503 until the first cycle succeeds, unknown paths are 404",
          "[runtime][probes][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  const int port = free_port();
  Process worker(binary("test-worker"),
                 {"--interval", "60", "--health-port", std::to_string(port), "--set",
                  "test.mode=fail", "--set", "backoff.initial=200ms"},
                 worker_env(db));
  REQUIRE(eventually([&] { return http_get(port, "/health").status == 200; }, seconds(10)));
  auto ready = http_get(port, "/ready");
  CHECK(ready.status == 503);
  CHECK_THAT(ready.body, Contains("no successful cycle yet"));
  CHECK(http_get(port, "/nope").status == 404);
}

TEST_CASE("/metrics exports the runtime and worker statistics in valid Prometheus format",
          "[runtime][probes][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  const int port = free_port();
  Process worker(binary("test-worker"),
                 {"--interval", "0.2", "--health-port", std::to_string(port)}, worker_env(db));
  REQUIRE(eventually([&] { return db.count("test_marks") >= 3; }, seconds(10)));
  auto metrics = http_get(port, "/metrics");
  REQUIRE(metrics.status == 200);
  for (const char* name :
       {"fleet_cycles_total{service=\"test-worker\"}",
        "fleet_cycle_errors_total{service=\"test-worker\"} 0",
        "fleet_cycle_duration_seconds_bucket{service=\"test-worker\",le=\"+Inf\"}",
        "fleet_last_success_timestamp_seconds{service=\"test-worker\"}",
        "fleet_items_processed_total{service=\"test-worker\"}",
        "fleet_test_worker_marks_total{service=\"test-worker\"}",
        "fleet_build_info{service=\"test-worker\""}) {
    INFO(name);
    CHECK_THAT(metrics.body, Contains(name));
  }
  if (!promtool_available()) {
    WARN("promtool missing (install the 'prometheus' package): format not checked");
    return;
  }
  auto check = run("/usr/bin/promtool", {"check", "metrics"}, {.stdin_text = metrics.body});
  INFO(check.out << check.err);
  CHECK(check.code == 0);
}

TEST_CASE("a worker whose health port is taken fails at start instead of sharing it",
          "[runtime][probes][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  const int port = free_port();
  Process first(binary("test-worker"), {"--interval", "60", "--health-port", std::to_string(port)},
                worker_env(db));
  REQUIRE(eventually([&] { return http_get(port, "/health").status == 200; }, seconds(10)));
  // With SO_REUSEPORT the second bound the port too and the kernel split the probes between them.
  auto second =
      run(binary("test-worker"), {"--interval", "60", "--health-port", std::to_string(port)},
          worker_env(db), seconds(20));
  CHECK(second.code != 0);
  CHECK(second.code != -1);  // it ended by itself, not by the timeout
  CHECK_THAT(second.err, Contains("port in use"));
}
