#include <catch2/catch.hpp>

#include "dispatch/safety.h"

using namespace fleet::dispatch;
using Catch::Matchers::Contains;
using std::chrono::milliseconds;
using std::chrono::minutes;

namespace {

SafetyLimits limits() {
  SafetyLimits l;
  l.worker_min_interval = minutes(5);
  l.worker_daily_cap = 3;
  l.reboot_loop_count = 2;
  l.fleet_max_per_window = 100;
  l.site_max_per_window = 100;
  return l;
}

}  // namespace

TEST_CASE("a worker's minimum interval holds until it has passed", "[dispatch][safety]") {
  SafetyGate gate(limits());
  gate.set_worker(1, {.sent_last_day = 1, .since_last = minutes(2)});
  auto d = gate.decide({.worker_id = 1, .action = "restart_mining"});
  CHECK(d.kind == Decision::Kind::kHold);
  CHECK(d.hold_for == minutes(3));
  CHECK_THAT(d.reason, Contains("minimum interval"));
  // A sent action starts the interval for the next one in the same batch.
  auto first = gate.decide({.worker_id = 2, .action = "restart_mining"});
  CHECK(first.kind == Decision::Kind::kSend);
  CHECK(gate.decide({.worker_id = 2, .action = "reboot"}).kind == Decision::Kind::kHold);
  // The locate LED is not a hardware action.
  CHECK(gate.decide({.worker_id = 2, .action = "find_miner"}).kind == Decision::Kind::kSend);
}

TEST_CASE("the daily cap and reboot-loop protection skip", "[dispatch][safety]") {
  auto l = limits();
  l.worker_min_interval = milliseconds(0);
  SafetyGate gate(l);
  gate.set_worker(1, {.sent_last_day = 3});
  auto capped = gate.decide({.worker_id = 1, .action = "restart_mining"});
  CHECK(capped.kind == Decision::Kind::kSkip);
  CHECK_THAT(capped.reason, Contains("daily cap"));
  gate.set_worker(2, {.sent_last_day = 2, .downs_in_loop_window = 2});
  auto loop = gate.decide({.worker_id = 2, .action = "power_cycle"});
  CHECK(loop.kind == Decision::Kind::kSkip);
  CHECK(loop.reboot_loop);
  // ...but restarting the mining software does not take the worker down.
  CHECK(gate.decide({.worker_id = 2, .action = "restart_mining"}).kind == Decision::Kind::kSend);
  // Two reboots in one batch count towards the loop.
  gate.set_worker(3, {.downs_in_loop_window = 1});
  CHECK(gate.decide({.worker_id = 3, .action = "reboot"}).kind == Decision::Kind::kSend);
  CHECK(gate.decide({.worker_id = 3, .action = "reboot"}).reboot_loop);
}

TEST_CASE("fleet and site rate limits hold, counting this batch", "[dispatch][safety]") {
  auto l = limits();
  l.fleet_max_per_window = 3;
  l.site_max_per_window = 2;
  SafetyGate gate(l);
  gate.set_fleet_sent(1);
  CHECK(gate.decide({.worker_id = 1, .site = "a", .action = "reboot"}).kind ==
        Decision::Kind::kSend);
  CHECK(gate.decide({.worker_id = 2, .site = "a", .action = "reboot"}).kind ==
        Decision::Kind::kSend);
  auto site = gate.decide({.worker_id = 3, .site = "a", .action = "reboot"});
  CHECK(site.kind == Decision::Kind::kHold);
  CHECK_THAT(site.reason, Contains("site rate limit"));
  auto fleet = gate.decide({.worker_id = 4, .site = "b", .action = "reboot"});
  CHECK(fleet.kind == Decision::Kind::kHold);
  CHECK_THAT(fleet.reason, Contains("fleet rate limit: 3"));
  CHECK(fleet.hold_for >= std::chrono::seconds(1));
}

TEST_CASE("a partitioned site is held, a healthy one is not", "[dispatch][safety]") {
  SafetyGate gate(limits());
  gate.set_site("a", {.workers = 10, .unreachable = 6});
  gate.set_site("b", {.workers = 10, .unreachable = 5});  // not more than half
  gate.set_site("c", {.workers = 4, .unreachable = 2});   // fewer than the minimum
  auto held = gate.decide({.worker_id = 1, .site = "a", .action = "reboot"});
  CHECK(held.kind == Decision::Kind::kHold);
  CHECK_THAT(held.reason, Contains("partition hold: 6 of 10 workers of site a"));
  CHECK(gate.decide({.worker_id = 2, .site = "b", .action = "reboot"}).kind ==
        Decision::Kind::kSend);
  CHECK(gate.decide({.worker_id = 3, .site = "c", .action = "reboot"}).kind ==
        Decision::Kind::kSend);
}

TEST_CASE("a site heartbeat-monitor holds is held whatever its unreachable count",
          "[dispatch][safety]") {
  SafetyGate gate(limits());
  gate.set_site("a", {.workers = 10, .unreachable = 0, .held_since = "2026-12-04T09:00:00Z"});
  gate.set_site("", {.workers = 10, .unreachable = 0, .held_since = "2026-12-04T09:01:00Z"});
  gate.set_site("b", {.workers = 10, .unreachable = 0});
  auto held = gate.decide({.worker_id = 1, .site = "a", .action = "reboot"});
  CHECK(held.kind == Decision::Kind::kHold);
  CHECK(held.reason == "site a unreachable (partition hold since 2026-12-04T09:00:00Z)");
  CHECK(held.hold_for == limits().partition_recheck);
  CHECK(gate.decide({.worker_id = 2, .site = "", .action = "reboot"}).reason ==
        "site (no site) unreachable (partition hold since 2026-12-04T09:01:00Z)");
  CHECK(gate.decide({.worker_id = 3, .site = "b", .action = "reboot"}).kind ==
        Decision::Kind::kSend);
  // The locate LED is never held.
  CHECK(gate.decide({.worker_id = 4, .site = "a", .action = "find_miner"}).kind ==
        Decision::Kind::kSend);
}
