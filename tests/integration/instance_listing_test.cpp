// runtime::list_instances + instance_json: the one mapping of service_instances rows that
// `fleetctl status --json` and `GET /api/services` both print.
#include <catch2/catch.hpp>

#include <set>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "pgtest.h"
#include "runtime/instance_listing.h"

using namespace fleet;

namespace {

std::vector<runtime::InstanceView> list(test::TestDatabase& db, runtime::InstanceQuery q) {
  pqxx::connection c(db.url());
  pqxx::read_transaction tx(c);
  return runtime::list_instances(tx, q);
}

}  // namespace

TEST_CASE("a service_instances row maps to the documented JSON fields", "[runtime][status][db]") {
  test::TestDatabase db;
  db.exec(
      "INSERT INTO service_instances (instance_id, service, host, pid, version, mode, state, "
      "started_at, heartbeat_at, stopped_at, interval_ms, health_port, leader, cycles, "
      "cycle_errors, consecutive_failures, items_processed, last_cycle_ms, last_success_at, "
      "last_error, last_error_at, stats) VALUES "
      "('h1/alert-evaluator/7-ab', 'alert-evaluator', 'h1', 7, '1.2.3', 'loop', 'stopped', "
      "'2026-01-02T03:04:05Z', now() - interval '10 minutes', now() - interval '10 minutes', "
      "30000, 9104, true, 12, 2, 1, 345, 250, now() - interval '11 minutes', "
      "'unavailable: x', now() - interval '12 minutes', '{\"evaluated\": 30}')");
  auto views = list(db, {.all = true});
  REQUIRE(views.size() == 1);
  const nlohmann::json j = runtime::instance_json(views[0]);

  // Exactly the fields docs/fleetctl.md and docs/services/api-gateway.md list.
  std::set<std::string> keys;
  for (const auto& [k, v] : j.items())
    keys.insert(k);
  CHECK(keys == std::set<std::string>{"instance_id",
                                      "service",
                                      "host",
                                      "pid",
                                      "version",
                                      "mode",
                                      "state",
                                      "stored_state",
                                      "started_at",
                                      "uptime_seconds",
                                      "heartbeat_age_seconds",
                                      "interval_seconds",
                                      "cycles",
                                      "cycle_errors",
                                      "consecutive_failures",
                                      "items_processed",
                                      "last_cycle_seconds",
                                      "last_success_age_seconds",
                                      "last_error",
                                      "last_error_age_seconds",
                                      "leader",
                                      "health_port",
                                      "stats"});
  CHECK(j["instance_id"] == "h1/alert-evaluator/7-ab");
  CHECK(j["service"] == "alert-evaluator");
  CHECK(j["host"] == "h1");
  CHECK(j["pid"] == 7);
  CHECK(j["version"] == "1.2.3");
  CHECK(j["mode"] == "loop");
  CHECK(j["state"] == "stopped");
  CHECK(j["stored_state"] == "stopped");
  CHECK(j["started_at"] == "2026-01-02T03:04:05Z");
  CHECK(j["interval_seconds"] == 30.0);
  CHECK(j["cycles"] == 12);
  CHECK(j["cycle_errors"] == 2);
  CHECK(j["consecutive_failures"] == 1);
  CHECK(j["items_processed"] == 345);
  CHECK(j["last_cycle_seconds"] == 0.25);
  CHECK(j["heartbeat_age_seconds"].get<double>() == Approx(600).margin(60));
  CHECK(j["last_success_age_seconds"].get<double>() == Approx(660).margin(60));
  CHECK(j["last_error"] == "unavailable: x");
  CHECK(j["last_error_age_seconds"].get<double>() == Approx(720).margin(60));
  CHECK(j["leader"] == true);
  CHECK(j["health_port"] == 9104);
  CHECK(j["stats"] == nlohmann::json{{"evaluated", 30}});
}

TEST_CASE("instance listing: stale marking, nulls, the hour window and the service filter",
          "[runtime][status][db]") {
  test::TestDatabase db;
  db.exec(
      "INSERT INTO service_instances (instance_id, service, host, pid, version, mode, state, "
      "interval_ms, started_at, heartbeat_at) VALUES "
      "('h/a/1', 'a', 'h', 1, 'v', 'once', 'running', 10000, now() - interval '2 hours', "
      " now() - interval '1 hour'),"
      "('h/b/2', 'b', 'h', 2, 'v', 'loop', 'stopped', 10000, now() - interval '3 days', "
      " now() - interval '2 days')");
  auto recent = list(db, {});
  REQUIRE(recent.size() == 1);  // b ended days ago
  const nlohmann::json a = runtime::instance_json(recent[0]);
  CHECK(a["state"] == "stale");  // says running, silent for an hour
  CHECK(a["stored_state"] == "running");
  CHECK(a["uptime_seconds"].get<double>() >= 2 * 3600 - 5);  // alive: counts to now
  CHECK(a["leader"].is_null());
  CHECK(a["health_port"].is_null());
  CHECK(a["last_error"].is_null());
  CHECK(a["last_success_age_seconds"].is_null());
  CHECK(a["last_cycle_seconds"].is_null());
  CHECK(a["stats"] == nlohmann::json::object());
  CHECK(list(db, {.all = true}).size() == 2);
  auto only_b = list(db, {.all = true, .service = "b"});
  REQUIRE(only_b.size() == 1);
  CHECK(only_b[0].uptime_seconds == Approx(86400).margin(1));  // ended: counts to its last sign
}
