// The safety limits the action-dispatcher enforces when a command is about to be sent
// (DESIGN §6): each holds or skips with its reason on the command, and held commands go out once
// the limit allows.
#include <catch2/catch.hpp>

#include "dispatch_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

std::int64_t worker_at(TestDatabase& db, const std::string& prefix, int i) {
  return miner_worker(db, prefix + std::to_string(i));
}

}  // namespace

TEST_CASE("a worker's minimum interval holds a second action, the daily cap skips one",
          "[dispatch][safety][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 2, .base_ip = "127.24.1.1"});
  prepare_miners(db, sim);
  SECTION("minimum interval") {
    const auto w = worker_at(db, "127.24.1.", 1);
    const auto first = queue_command(db, w, "restart_mining");
    const auto second = queue_command(db, w, "restart_mining");
    auto r = dispatch_once(db, {"--set", "dispatch.worker_min_interval=1h"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(command_field(db, first, "state") == "succeeded");
    CHECK(command_field(db, second, "state") == "queued");
    CHECK_THAT(command_field(db, second, "held_reason"), Contains("minimum interval"));
    CHECK(command_field(db, second, "not_before > now() + interval '50 minutes'") == "true");
    CHECK(sim.requests(0, "/api/v1/mining/restart") == 1);
  }
  SECTION("daily cap") {
    const auto w = worker_at(db, "127.24.1.", 2);
    const auto first = queue_command(db, w, "restart_mining");
    auto r = dispatch_once(db, {"--set", "dispatch.worker_daily_cap=1"});
    REQUIRE(r.code == 0);
    const auto second = queue_command(db, w, "restart_mining");
    r = dispatch_once(db, {"--set", "dispatch.worker_daily_cap=1"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(command_field(db, first, "state") == "succeeded");
    CHECK(command_field(db, second, "state") == "skipped");
    CHECK_THAT(command_field(db, second, "skip_reason"), Contains("daily cap"));
    CHECK(sim.requests(1, "/api/v1/mining/restart") == 1);
  }
}

TEST_CASE("reboot-loop protection skips a worker rebooted too often and says so once",
          "[dispatch][safety][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 1, .base_ip = "127.24.2.1"});
  prepare_miners(db, sim);
  const auto w = worker_at(db, "127.24.2.", 1);
  // Two reboots in the last half hour.
  for (int i = 0; i < 2; ++i) {
    const auto old = queue_command(db, w, "reboot");
    db.exec(
        "UPDATE commands SET state = 'claimed', claimed_by = 'x', lease_expires_at = now() "
        "WHERE id = " +
        std::to_string(old));
    db.exec(
        "UPDATE commands SET state = 'sent', sent_at = now() - interval '20 minutes' WHERE "
        "id = " +
        std::to_string(old));
    db.exec("UPDATE commands SET state = 'succeeded' WHERE id = " + std::to_string(old));
  }
  const auto a = queue_command(db, w, "reboot");
  const auto b = queue_command(db, w, "power_cycle", "{}", "firmware");
  auto r = dispatch_once(
      db, {"--set", "dispatch.reboot_loop_count=2", "--set", "dispatch.reboot_loop_window=1h"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(command_field(db, a, "state") == "skipped");
  CHECK_THAT(command_field(db, a, "skip_reason"), Contains("reboot loop"));
  CHECK(command_field(db, b, "state") == "skipped");
  CHECK(sim.requests(0, "/api/v1/system/reboot") == 0);
  CHECK(
      db.count("SELECT 1 FROM notifications WHERE event = 'command.reboot_loop' AND worker_id = " +
               std::to_string(w)) == 1);
  // A restart of the mining software is not a reboot: it still goes out.
  const auto restart = queue_command(db, w, "restart_mining");
  r = dispatch_once(db, {"--set", "dispatch.reboot_loop_count=2"});
  CHECK(command_field(db, restart, "state") == "succeeded");
}

TEST_CASE("fleet and site rate limits hold a burst and release it", "[dispatch][safety][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 6, .base_ip = "127.24.3.1"});
  prepare_miners(db, sim);
  std::vector<std::int64_t> ids;
  for (int i = 1; i <= 6; ++i)
    ids.push_back(queue_command(db, worker_at(db, "127.24.3.", i), "restart_mining"));
  const std::vector<std::string> limits = {"--set", "dispatch.fleet_rate_limit=2", "--set",
                                           "dispatch.fleet_rate_window=1500ms"};
  auto r = dispatch_once(db, limits);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(db.count("SELECT 1 FROM commands WHERE state = 'succeeded'") == 2);
  CHECK(db.count("SELECT 1 FROM commands WHERE state = 'queued' AND held_reason LIKE 'fleet rate "
                 "limit%'") == 4);
  // Running on, it sends the rest as the window slides: never more than 2 per window.
  Process d(binary("action-dispatcher"), dispatcher_flags(limits), asic_env(db));
  REQUIRE(
      eventually([&] { return db.count("SELECT 1 FROM commands WHERE state = 'succeeded'") == 6; },
                 std::chrono::seconds(30)));
  CHECK(db.count("SELECT 1 FROM commands a WHERE (SELECT count(*) FROM commands b WHERE b.sent_at "
                 ">= a.sent_at AND b.sent_at < a.sent_at + interval '1500 milliseconds') > 2") ==
        0);
  CHECK(db.count("SELECT 1 FROM commands WHERE held_reason IS NOT NULL") == 0);

  SECTION("per site") {
    d.signal(SIGTERM);
    REQUIRE(d.wait(std::chrono::seconds(10)) == 0);
    // The six restarts count for site north now: a limit of 7 per hour leaves room for one.
    db.exec("UPDATE workers SET site = 'north'");
    for (int i = 1; i <= 3; ++i)
      queue_command(db, worker_at(db, "127.24.3.", i), "stop_mining");
    r = dispatch_once(
        db, {"--set", "dispatch.site_rate_limit=7", "--set", "dispatch.site_rate_window=1h"});
    INFO(r.err);
    CHECK(db.count("SELECT 1 FROM commands WHERE action = 'stop_mining' AND state = 'succeeded'") ==
          1);
    CHECK(db.count("SELECT 1 FROM commands WHERE action = 'stop_mining' AND state = 'queued' AND "
                   "held_reason LIKE 'site rate limit: 7 hardware actions at site north%'") == 2);
  }
}

TEST_CASE("a partition holds a site's hardware actions until it clears",
          "[dispatch][safety][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 4, .base_ip = "127.24.4.1"});
  prepare_miners(db, sim);
  db.exec("UPDATE workers SET site = 'south'");
  db.exec("UPDATE workers SET status = 'unreachable' WHERE host(ip) <> '127.24.4.4'");
  const auto id = queue_command(db, worker_at(db, "127.24.4.", 4), "reboot");
  auto r = dispatch_once(db);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(command_field(db, id, "state") == "queued");
  CHECK_THAT(command_field(db, id, "held_reason"),
             Contains("partition hold: 3 of 4 workers of site south are unreachable"));
  CHECK(sim.requests(3, "/api/v1/system/reboot") == 0);
  // The site comes back: the held command goes out at its next look.
  db.exec("UPDATE workers SET status = 'online'");
  db.exec("UPDATE commands SET not_before = now() WHERE id = " + std::to_string(id));
  r = dispatch_once(db);
  CHECK(command_field(db, id, "state") == "succeeded");
  CHECK(command_field(db, id, "held_reason") == "");
  CHECK(sim.requests(3, "/api/v1/system/reboot") == 1);
}

TEST_CASE("heartbeat-monitor's open site hold holds the site's hardware actions until cleared",
          "[dispatch][safety][e2e]") {
  TestDatabase db;
  MinerSim sim({.count = 2, .base_ip = "127.24.5.1"});
  prepare_miners(db, sim);
  db.exec("UPDATE workers SET site = 'east'");
  // Every worker looks fine: only the hold row says the site is partitioned.
  db.exec(
      "INSERT INTO site_holds (site, reason, silent, total, held_at, held_by) "
      "VALUES ('east', 'test', 3, 5, '2026-12-04 09:00:00+00', 'heartbeat-monitor')");
  const auto id = queue_command(db, worker_at(db, "127.24.5.", 1), "reboot");
  auto r = dispatch_once(db);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(command_field(db, id, "state") == "queued");
  CHECK(command_field(db, id, "held_reason") ==
        "site east unreachable (partition hold since 2026-12-04T09:00:00Z)");
  CHECK(sim.requests(0, "/api/v1/system/reboot") == 0);
  // heartbeat-monitor clears the hold: the command goes out at its next look.
  db.exec("UPDATE site_holds SET cleared_at = now()");
  db.exec("UPDATE commands SET not_before = now() WHERE id = " + std::to_string(id));
  r = dispatch_once(db);
  CHECK(command_field(db, id, "state") == "succeeded");
  CHECK(sim.requests(0, "/api/v1/system/reboot") == 1);
}
