// status-poller and telemetry-worker against miner-sim and PostgreSQL.
#include <catch2/catch.hpp>

#include <set>

#include "pipeline.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

// Discovered, managed and due: ready for the pollers.
void prepare(TestDatabase& db, const MinerSim& sim) {
  auto r = discover(db, sim);
  INFO(r.err);
  REQUIRE(r.code == 0);
  manage_all(db);
  due_now(db);
}

}  // namespace

TEST_CASE("the status poller fills statuses, fans, chains, metrics and readings", "[poller][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 6, .base_ip = "127.22.1.1"});
  prepare(db, sim);
  // Seed 003's filter: an unmanaged miner is not polled.
  db.exec("UPDATE workers SET managed = false WHERE host(ip) = '127.22.1.6'");
  auto r = poll_once(db, sim);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("polled=5 ok=5"));
  CHECK(db.count("statuses") == 5);
  CHECK(db.count("status_fans") >= 5 * 2);
  CHECK(db.count("chain_snapshots") == 5 * 3);
  CHECK(db.count("SELECT 1 FROM miners m JOIN statuses s ON s.id = m.latest_status_id") == 5);
  CHECK(sim.requests(5, "/api/v1/summary") == 0);
  for (const char* metric : {"hashrate", "hashrate_ratio", "power", "efficiency", "chip_temp_max",
                             "pcb_temp_max", "fan_rpm_min", "chips_red", "chips_orange"}) {
    INFO(metric);
    CHECK(db.count(
              std::string("SELECT 1 FROM metrics_latest WHERE value IS NOT NULL AND metric = '") +
              metric + "'") == 5);
  }
  CHECK(db.count("SELECT 1 FROM metrics_latest WHERE metric = 'miner_state' AND "
                 "json_value #>> '{}' = 'mining'") == 5);
  // Every metric the poller writes is in the catalogue rules are checked against.
  CHECK(db.count("SELECT 1 FROM metrics_latest l LEFT JOIN metric_catalogue c ON c.name = l.metric "
                 "WHERE c.name IS NULL") == 0);
  CHECK(db.count("readings") == db.count("metrics_latest"));
  // Units: hashrate in TH/s (an S19 makes ~95), power in W.
  CHECK(
      db.count("SELECT 1 FROM statuses WHERE hashrate_ths BETWEEN 20 AND 400 AND power_w > 1000") ==
      5);
  CHECK(db.count("SELECT 1 FROM workers WHERE last_seen_at > now() - interval '1 minute' AND "
                 "status = 'online' AND managed") == 5);

  SECTION("polled again only after the interval") {
    sim.reset_stats();
    auto again = poll_once(db, sim);
    REQUIRE(again.code == 0);
    CHECK_THAT(again.err, Contains("polled=0"));
    CHECK(sim.requests(0, "/api/v1/summary") == 0);
  }
}

TEST_CASE("a miner whose firmware failed to start mining is unhealthy with the failure named",
          "[poller][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 2, .base_ip = "127.22.5.1"});
  prepare(db, sim);
  sim.fault(0, "no_miner");
  sim.reset_stats();
  auto r = poll_once(db, sim);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("ok=2"));
  CHECK(sim.requests(0, "/api/v1/status") == 1);
  CHECK(sim.requests(1, "/api/v1/status") == 0);  // a mining miner needs no second request
  const std::string failed_worker = "(SELECT id FROM workers WHERE host(ip) = '127.22.5.1')";
  CHECK(db.scalar("SELECT miner_state || '|' || state_description || '|' || failure_code "
                  "FROM statuses WHERE worker_id = " +
                  failed_worker) == "failure|Failed to parse miner configuration|1002");
  CHECK(db.scalar("SELECT status FROM workers WHERE id = " + failed_worker) == "unhealthy");
  CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'miner_failure_code' AND "
                  "worker_id = " +
                  failed_worker) == "1002");
  CHECK(db.scalar("SELECT json_value #>> '{}' FROM metrics_latest WHERE metric = 'miner_state' "
                  "AND worker_id = " +
                  failed_worker) == "failure");
  CHECK(db.scalar("SELECT status FROM workers WHERE host(ip) = '127.22.5.2'") == "online");
  CHECK(db.count("SELECT 1 FROM metrics_latest l LEFT JOIN metric_catalogue c ON c.name = l.metric "
                 "WHERE c.name IS NULL") == 0);

  // Mining again: online, and the code rule clears.
  sim.clear_faults(0);
  due_now(db);
  REQUIRE(poll_once(db, sim).code == 0);
  CHECK(db.scalar("SELECT status FROM workers WHERE id = " + failed_worker) == "online");
  CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'miner_failure_code' AND "
                  "worker_id = " +
                  failed_worker) == "0");
}

TEST_CASE("a revoked API key is re-provisioned once, not hammered", "[poller][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 3, .base_ip = "127.22.2.1"});
  prepare(db, sim);
  const std::string old_key = db.scalar(
      "SELECT api_key_enc FROM miners m JOIN workers w ON w.id = m.worker_id "
      "WHERE host(w.ip) = '127.22.2.1'");
  sim.fault(0, "revoked_key");
  sim.reset_stats();
  auto r = poll_once(db, sim);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("ok=3"));
  CHECK_THAT(r.err, Contains("reprovisioned=1"));
  CHECK(sim.requests(0, "/api/v1/unlock") == 1);
  CHECK(sim.requests(0, "/api/v1/summary") == 2);  // the 401, then with the new key
  CHECK(sim.requests(1, "/api/v1/unlock") == 0);
  CHECK(db.scalar("SELECT api_key_enc <> '" + old_key +
                  "' AND api_key_state = 'active' FROM miners m "
                  "JOIN workers w ON w.id = m.worker_id WHERE host(w.ip) = '127.22.2.1'") == "t");
  // The new key works on the next poll without provisioning again.
  due_now(db);
  sim.reset_stats();
  REQUIRE(poll_once(db, sim).code == 0);
  CHECK(sim.requests(0, "/api/v1/summary") == 1);
  CHECK(sim.requests(0, "/api/v1/unlock") == 0);

  SECTION("a key that keeps being rejected is not re-provisioned again within the backoff") {
    sim.fault(0, "revoked_key");
    due_now(db);
    sim.reset_stats();
    auto third = poll_once(db, sim);
    REQUIRE(third.code == 0);
    CHECK_THAT(third.err, Contains("auth_failed=1"));
    CHECK(sim.requests(0, "/api/v1/unlock") == 0);
    CHECK(db.scalar("SELECT api_key_state FROM miners m JOIN workers w ON w.id = m.worker_id "
                    "WHERE host(w.ip) = '127.22.2.1'") == "rejected");
  }
}

TEST_CASE("two poller replicas poll each miner exactly once per cycle", "[poller][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 40, .base_ip = "127.22.3.1"});
  prepare(db, sim);
  sim.reset_stats();
  std::vector<std::string> args = {"--once", "--set", "firmware.request_timeout=2s", "--set",
                                   "poll.claim_batch=3"};
  Process a(binary("status-poller"), args, asic_env(db));
  Process b(binary("status-poller"), args, asic_env(db));
  REQUIRE(a.wait(std::chrono::seconds(60)) == 0);
  REQUIRE(b.wait(std::chrono::seconds(60)) == 0);
  for (int i = 0; i < 40; ++i) {
    INFO("miner " << i);
    CHECK(sim.requests(i, "/api/v1/summary") == 1);
  }
  CHECK(db.count("statuses") == 40);

  SECTION("and in loops: never twice within one interval") {
    due_now(db);
    sim.reset_stats();
    std::vector<std::string> loop = {
        "--interval", "3", "--set", "firmware.request_timeout=2s", "--set", "poll.claim_batch=3"};
    Process c(binary("status-poller"), loop, asic_env(db));
    Process d(binary("status-poller"), loop, asic_env(db));
    std::this_thread::sleep_for(std::chrono::milliseconds(7500));
    c.signal(SIGTERM);
    d.signal(SIGTERM);
    REQUIRE(c.wait(std::chrono::seconds(10)) == 0);
    REQUIRE(d.wait(std::chrono::seconds(10)) == 0);
    // ~7.5 s at one poll per 3 s interval: 2 or 3 polls each, never more.
    for (int i = 0; i < 40; ++i) {
      INFO("miner " << i);
      const auto n = sim.requests(i, "/api/v1/summary");
      CHECK(n >= 2);
      CHECK(n <= 3);
    }
  }
}

TEST_CASE("telemetry stores chips compactly and surfaces anomalies", "[telemetry][e2e]") {
  TestDatabase db;
  MinerSim sim(
      {.count = 3, .base_ip = "127.22.4.1", .extra_args = {"--fault", "1:failing_chain=2"}});
  prepare(db, sim);
  auto r = telemetry_once(db, sim);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.err, Contains("polled=3 ok=3"));
  CHECK(db.count("SELECT DISTINCT worker_id FROM chip_telemetry") == 3);
  // One row per chain, not per chip; the view gives a row per chip back.
  CHECK(db.count("chip_telemetry") ==
        db.count("SELECT DISTINCT worker_id, chain_id FROM chip_telemetry"));
  CHECK(db.scalar("SELECT sum(chip_count) FROM chip_telemetry") ==
        std::to_string(db.count("chip_samples")));
  CHECK(db.count("SELECT 1 FROM chip_samples WHERE hr IS NULL OR temp_c IS NULL") == 0);
  const std::string failing =
      "SELECT m.worker_id FROM miners m JOIN workers w ON w.id = m.worker_id "
      "WHERE host(w.ip) = '127.22.4.2'";
  CHECK(
      db.scalar("SELECT value FROM metrics_latest WHERE metric = 'chains_dead' AND worker_id = (" +
                failing + ")") != "0");
  CHECK(db.count("SELECT 1 FROM metrics_latest WHERE metric = 'chains_dead' AND value = 0") == 2);
  for (const char* metric : {"chips_throttled", "chips_red_telemetry", "chips_orange_telemetry"}) {
    CHECK(db.count(std::string("SELECT 1 FROM metrics_latest WHERE metric = '") + metric + "'") ==
          3);
  }
  CHECK(db.count("SELECT 1 FROM metrics_latest l LEFT JOIN metric_catalogue c ON c.name = l.metric "
                 "WHERE c.name IS NULL") == 0);
  CHECK(
      db.scalar(
          "SELECT retention_days FROM partition_policies WHERE parent_table = 'chip_telemetry'") ==
      "7");
  auto shorter = telemetry_once(db, sim, {"--set", "telemetry.retention_days=2"});
  REQUIRE(shorter.code == 0);
  CHECK(
      db.scalar(
          "SELECT retention_days FROM partition_policies WHERE parent_table = 'chip_telemetry'") ==
      "2");
}
