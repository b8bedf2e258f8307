// Every fault miner-sim can inject is survived: the cycle ends in bounded time, the faulty miner's
// failure is recorded with the right kind, and the healthy miners are not affected.
#include <catch2/catch.hpp>

#include "pipeline.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

struct FaultCase {
  const char* kind;
  std::optional<long long> arg;
  const char* expected_error;  // in miners.last_poll_error ("" = the poll succeeds)
};

}  // namespace

TEST_CASE("status and telemetry cycles survive every injected fault", "[faults][e2e]") {
  const std::vector<FaultCase> cases = {
      {"slow", 5000, "deadline exceeded"},  // slower than the 2 s request timeout
      {"slow", 300, ""},                    // slow but within it
      {"reset", std::nullopt, "unavailable"},
      {"timeout", std::nullopt, "deadline exceeded"},
      {"garbage", std::nullopt, "bad data"},
      {"truncated", std::nullopt, "bad data"},
      {"huge", 8LL << 20, "bad data"},  // over the 1 MiB cap
      {"deep", 100000, "bad data"},     // refused before parsing
      // Numbers as strings and the miner state as a number: what a status cannot do without is
      // wrong, so the payload is refused (single wrong fields are tolerated: unit tests).
      {"wrong_types", std::nullopt, "bad data"},
      {"offline", std::nullopt, "unavailable"},
      {"failing_chain", 1, ""},  // a real answer about a broken board
      {"cut_transfer", std::nullopt, "unavailable"},
      {"failure", std::nullopt, ""},
      {"fan_lost", 0, ""},
  };
  const int healthy = 6;
  TestDatabase db;
  MinerSim sim({.count = static_cast<int>(cases.size()) + healthy, .base_ip = "127.23.1.1"});
  auto d = discover(db, sim);
  INFO(d.err);
  REQUIRE(d.code == 0);
  manage_all(db);
  due_now(db);
  for (size_t i = 0; i < cases.size(); ++i)
    sim.fault(static_cast<int>(i), cases[i].kind, cases[i].arg);

  const auto started = std::chrono::steady_clock::now();
  auto r = poll_once(db, sim);
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(r.err.substr(r.err.size() > 3000 ? r.err.size() - 3000 : 0));
  REQUIRE(r.code == 0);
  // Bounded: the slowest fault costs one request timeout (2 s), not a hang.
  CHECK(took < std::chrono::seconds(20));
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string ip = "127.23.1." + std::to_string(i + 1);
    INFO(cases[i].kind << " on " << ip);
    const std::string error = db.scalar(
        "SELECT coalesce(last_poll_error, '') FROM miners m JOIN workers w ON w.id = m.worker_id "
        "WHERE host(w.ip) = '" +
        ip + "'");
    if (std::string(cases[i].expected_error).empty()) {
      CHECK(error.empty());
      CHECK(
          db.count(
              "SELECT 1 FROM statuses s JOIN workers w ON w.id = s.worker_id WHERE host(w.ip) = '" +
              ip + "'") == 1);
    } else {
      CHECK_THAT(error, Contains(cases[i].expected_error));
      CHECK(db.scalar(
                "SELECT consecutive_failures FROM miners m JOIN workers w ON w.id = m.worker_id "
                "WHERE host(w.ip) = '" +
                ip + "'") == "1");
    }
  }
  // Nothing else affected: every healthy miner was polled and stored.
  for (int i = 0; i < healthy; ++i) {
    const std::string ip = "127.23.1." + std::to_string(cases.size() + i + 1);
    INFO(ip);
    CHECK(db.count(
              "SELECT 1 FROM statuses s JOIN workers w ON w.id = s.worker_id WHERE host(w.ip) = '" +
              ip + "' AND s.miner_state = 'mining'") == 1);
  }
  // The firmware's own bad news is data, not a failure.
  CHECK(db.count("SELECT 1 FROM statuses WHERE miner_state = 'failure'") == 1);
  CHECK(db.count("SELECT 1 FROM chain_snapshots WHERE state = 'failure'") >= 1);
  CHECK(db.count("SELECT 1 FROM metrics_latest WHERE metric = 'fan_rpm_min' AND value = 0") >= 1);
  // A failing miner's next poll is pushed out (backoff), a healthy one's is an interval away.
  CHECK(db.count("SELECT 1 FROM miners WHERE consecutive_failures = 1 AND next_poll_at > now()") ==
        db.count("SELECT 1 FROM miners WHERE consecutive_failures = 1"));

  auto t = telemetry_once(db, sim);
  INFO(t.err.substr(t.err.size() > 2000 ? t.err.size() - 2000 : 0));
  REQUIRE(t.code == 0);
  for (int i = 0; i < healthy; ++i) {
    const std::string ip = "127.23.1." + std::to_string(cases.size() + i + 1);
    CHECK(db.count("SELECT 1 FROM chip_telemetry c JOIN workers w ON w.id = c.worker_id WHERE "
                   "host(w.ip) = '" +
                   ip + "'") >= 1);
  }
}

TEST_CASE("miners that stop answering go offline after repeated failures", "[faults][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 8, .base_ip = "127.23.2.1"});
  REQUIRE(discover(db, sim).code == 0);
  manage_all(db);
  sim.fault(0, "timeout");
  for (int round = 1; round <= 3; ++round) {
    due_now(db);
    auto r = poll_once(db, sim, {"--set", "poll.offline_after=3"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const std::string status =
        db.scalar("SELECT status FROM workers WHERE host(ip) = '127.23.2.1'");
    CHECK(status == (round < 3 ? "online" : "offline"));  // flap damping: 3 in a row
  }
  CHECK(db.count("SELECT 1 FROM workers WHERE status = 'online'") == 7);
}
