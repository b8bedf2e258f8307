// heartbeat-monitor's decisions (status_rules.h): every transition per kind, holds, flap damping
// and partition protection, from observations alone (ages, no clock).
#include <catch2/catch.hpp>

#include "status_rules.h"

using namespace fleet::heartbeat;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;

namespace {

Observation node(const std::string& status, std::optional<milliseconds> silent) {
  return {.worker_id = 7,
          .name = "n7",
          .kind = "node",
          .site = "east",
          .status = status,
          .silent_for = silent,
          .timeout = 120s,
          .status_age = 600s};
}

Observation other(const std::string& kind, const std::string& status,
                  std::optional<milliseconds> silent, milliseconds timeout) {
  Observation w = node(status, silent);
  w.kind = kind;
  w.timeout = timeout;
  return w;
}

std::string to(const Observation& w, const MonitorOptions& o = {}) {
  auto t = decide(w, o);
  return t ? t->to : "-";
}

}  // namespace

TEST_CASE("a node goes offline after the heartbeat timeout, saying how long", "[heartbeat]") {
  auto w = node("online", 134s);
  auto t = decide(w, {});
  REQUIRE(t);
  CHECK(t->to == "offline");
  CHECK(t->reason == "no heartbeat for 134 s (timeout 120 s)");
  CHECK(t->event == "worker.offline");
  CHECK(t->went_silent);
  CHECK(to(node("online", 120s)) == "-");  // at the timeout, not yet
  CHECK(to(node("unhealthy", 121s)) == "offline");
  CHECK(to(node("draining", 500s)) == "offline");
}

TEST_CASE("a pending node comes online on its first heartbeat and waits while it never sent one",
          "[heartbeat]") {
  auto t = decide(node("pending", 3s), {});
  REQUIRE(t);
  CHECK(t->to == "online");
  CHECK(t->event.empty());  // registration is no recovery
  CHECK(to(node("pending", std::nullopt)) == "-");
  // Undrained (pending again) but silent: offline.
  CHECK(to(node("pending", 300s)) == "offline");
  // A pending node whose drain is still requested goes to draining.
  auto w = node("pending", 3s);
  w.drain_requested = true;
  CHECK(to(w) == "draining");
}

TEST_CASE("a node over a limit for N heartbeats is unhealthy, with the metric and the limit",
          "[heartbeat]") {
  auto w = node("online", 10s);
  w.over_limit_streak = 3;
  w.over_limit = {"disk"};
  w.disk_percent = 93.1;
  w.cpu_percent = 12;
  auto t = decide(w, {});
  REQUIRE(t);
  CHECK(t->to == "unhealthy");
  CHECK(t->reason == "disk 93.1 % > 90 % for 3 heartbeats");
  CHECK(t->event == "worker.unhealthy");
  CHECK(t->metrics == std::map<std::string, double>{{"disk_percent", 93.1}});
  w.over_limit_streak = 2;
  CHECK(to(w) == "-");
  MonitorOptions o;
  o.unhealthy_after = 2;
  CHECK(to(w, o) == "unhealthy");
}

TEST_CASE("an unhealthy node recovers after it has been healthy for the hold", "[heartbeat]") {
  auto w = node("unhealthy", 10s);
  w.status_age = 312s;
  w.healthy_for = 59s;
  CHECK(to(w) == "-");
  w.healthy_for = 61s;
  auto t = decide(w, {});
  REQUIRE(t);
  CHECK(t->to == "online");
  CHECK_THAT(t->reason, Contains("recovered after 312 s"));
  CHECK(t->event == "worker.recovered");
  CHECK(t->outage_s == 312);
  w.over_limit_streak = 1;  // over a limit again
  CHECK(to(w) == "-");
}

TEST_CASE("an offline node comes back after heartbeating without a gap for the hold",
          "[heartbeat]") {
  auto w = node("offline", 5s);
  w.streak_for = 30s;
  CHECK(to(w) == "-");
  w.streak_for = 60s;
  CHECK(to(w) == "online");
  w.streak_for = std::nullopt;
  CHECK(to(w) == "-");
  // Over a limit when it comes back: unhealthy straight away.
  w.streak_for = 90s;
  w.over_limit_streak = 4;
  w.memory_percent = 97;
  CHECK(to(w) == "unhealthy");
}

TEST_CASE("a drained node stays draining while alive and returns to draining after an outage",
          "[heartbeat]") {
  auto w = node("draining", 5s);
  w.drain_requested = true;
  w.over_limit_streak = 10;
  CHECK(to(w) == "-");
  w.status = "offline";
  w.streak_for = 70s;
  auto t = decide(w, {});
  REQUIRE(t);
  CHECK(t->to == "draining");
}

TEST_CASE("a flapping worker needs the longer hold to recover", "[heartbeat]") {
  auto w = node("offline", 5s);
  w.streak_for = 120s;
  w.recent_changes = 4;  // not more than flap_changes
  CHECK(to(w) == "online");
  w.recent_changes = 5;
  CHECK(recovery_hold(w, {}) == 5min);
  CHECK(to(w) == "-");
  w.streak_for = 301s;
  CHECK(to(w) == "online");
  auto d = other("device", "offline", 10s, 120s);
  d.seen_since_status = true;
  d.status_age = 90s;
  CHECK(to(d) == "online");
  d.recent_changes = 6;
  CHECK(to(d) == "-");
}

TEST_CASE("ASICs: offline after asic_timeout - back only when seen after going offline",
          "[heartbeat]") {
  auto a = other("asic", "online", 601s, 600s);
  auto t = decide(a, {});
  REQUIRE(t);
  CHECK(t->reason == "no successful poll for 601 s (timeout 600 s)");
  CHECK(to(other("asic", "unhealthy", 700s, 600s)) == "offline");
  // status-poller's unhealthy (firmware failure) of a polled miner is left alone.
  CHECK(to(other("asic", "unhealthy", 10s, 600s)) == "-");
  // status-poller marked it offline after failed polls: its last poll is recent but older than
  // the change, so the monitor must not bring it back (no fight with the poller).
  auto off = other("asic", "offline", 50s, 600s);
  off.seen_since_status = false;
  CHECK(to(off) == "-");
  off.seen_since_status = true;
  CHECK(to(off) == "online");
  off.status_age = 30s;  // inside the hold
  CHECK(to(off) == "-");
}

TEST_CASE("rigs and devices go offline when stale and come back when seen again", "[heartbeat]") {
  CHECK(decide(other("rig", "online", 400s, 300s), {})->reason ==
        "not seen for 400 s (timeout 300 s)");
  CHECK(decide(other("device", "online", 121s, 120s), {})->reason ==
        "no reading for 121 s (timeout 120 s)");
  CHECK(to(other("device", "online", 100s, 120s)) == "-");
  auto r = other("rig", "offline", 20s, 300s);
  r.seen_since_status = true;
  CHECK(to(r) == "online");
  // Never seen since it became online: measured from the status change.
  auto never = other("rig", "online", std::nullopt, 300s);
  never.status_age = 400s;
  CHECK(to(never) == "offline");
  never.status_age = 200s;
  CHECK(to(never) == "-");
  CHECK(to(other("device", "pending", std::nullopt, 120s)) == "-");
  CHECK(to(other("device", "pending", 5s, 120s)) == "online");
}

TEST_CASE(
    "after a gap in the monitor's watch, silence counts only after a whole timeout of watching",
    "[heartbeat]") {
  // The whole system was down for hours: every node looks silent since before the gap.
  auto w = node("online", 36000s);
  w.watching_for = 30s;
  CHECK(to(w) == "-");
  w.watching_for = 120s;  // at the timeout, not yet
  CHECK(to(w) == "-");
  w.watching_for = 121s;
  CHECK(to(w) == "offline");
  w.watching_for = std::nullopt;  // no gap ever
  CHECK(to(w) == "offline");
  // Per kind: an ASIC's longer timeout needs a longer watch.
  auto a = other("asic", "online", 36000s, 600s);
  a.watching_for = 300s;
  CHECK(to(a) == "-");
  // The watch never brings anything back: an offline node silent since before the gap stays.
  auto off = node("offline", 36000s);
  off.watching_for = 5s;
  CHECK(to(off) == "-");
  // A node heartbeating again is back as usual during the watch.
  auto back = node("pending", 3s);
  back.watching_for = 5s;
  CHECK(to(back) == "online");
}

TEST_CASE("removed workers are never touched", "[heartbeat]") {
  CHECK(to(node("removed", 9999s)) == "-");
  CHECK(to(other("asic", "removed", 9999s, 600s)) == "-");
}

TEST_CASE("unreachable workers: back at once, held while the site is, offline after the hold",
          "[heartbeat]") {
  auto w = node("unreachable", 5s);
  auto t = decide(w, {});
  REQUIRE(t);
  CHECK(t->to == "online");
  CHECK(t->event.empty());
  w.silent_for = 900s;
  w.site_held = true;
  CHECK(to(w) == "-");
  w.site_held = false;
  w.since_hold_cleared = 60s;  // cleared a minute ago: wait for the timeout
  CHECK(to(w) == "-");
  w.since_hold_cleared = 130s;
  t = decide(w, {});
  REQUIRE(t);
  CHECK(t->to == "offline");
  CHECK(t->event == "worker.offline");
  CHECK_FALSE(t->went_silent);
  CHECK_THAT(t->reason, Contains("after its site's partition hold"));
}

namespace {

std::vector<Transition> silent_ones(const std::string& site, int n) {
  std::vector<Transition> out;
  for (int i = 0; i < n; ++i) {
    auto w = node("online", 200s);
    w.worker_id = i + 1;
    w.site = site;
    out.push_back(*decide(w, {}));
  }
  return out;
}

}  // namespace

TEST_CASE("more than half of a site silent at once: unreachable and one hold", "[heartbeat]") {
  auto ts = silent_ones("east", 6);
  auto more = silent_ones("west", 5);
  ts.insert(ts.end(), more.begin(), more.end());
  auto actions = apply_partitions(ts, {{"east", {.workers = 10}}, {"west", {.workers = 10}}}, {});
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].site == "east");
  CHECK(actions[0].kind == SiteAction::Kind::kHold);
  CHECK(actions[0].silent == 6);
  int unreachable = 0, offline = 0;
  for (const auto& t : ts) {
    if (t.site == "east") {
      CHECK(t.to == "unreachable");
      CHECK(t.event.empty());
      ++unreachable;
    } else {
      CHECK(t.to == "offline");  // exactly half is no partition
      ++offline;
    }
  }
  CHECK(unreachable == 6);
  CHECK(offline == 5);
}

TEST_CASE("a small site needs the minimum count to be held", "[heartbeat]") {
  auto ts = silent_ones("tiny", 2);
  CHECK(apply_partitions(ts, {{"tiny", {.workers = 2}}}, {}).empty());
  CHECK(ts[0].to == "offline");
}

TEST_CASE("a held site keeps new silent workers unreachable and clears when most are back",
          "[heartbeat]") {
  auto ts = silent_ones("east", 1);
  auto actions =
      apply_partitions(ts, {{"east", {.workers = 10, .still_silent = 5, .held = true}}}, {});
  CHECK(actions.empty());
  CHECK(ts[0].to == "unreachable");
  std::vector<Transition> none;
  actions =
      apply_partitions(none, {{"east", {.workers = 10, .still_silent = 5, .held = true}}}, {});
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == SiteAction::Kind::kClear);
  CHECK(actions[0].silent == 5);
}

TEST_CASE("a cut-off site is held when its first worker times out and most others are quiet",
          "[heartbeat]") {
  // Heartbeats are spread over an interval: of 4 workers cut off together, one passes its
  // timeout in this cycle while 2 more are silent for more than half of theirs (quiet).
  auto ts = silent_ones("east", 1);
  auto actions = apply_partitions(ts, {{"east", {.workers = 4, .quiet = 3}}}, {});
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].kind == SiteAction::Kind::kHold);
  CHECK(actions[0].silent == 3);
  CHECK(ts[0].to == "unreachable");
  CHECK(ts[0].event.empty());
  // The next cycle: one unreachable, nobody timing out yet, the two others still quiet: the
  // hold stays (it must not clear and let them time out one by one as offline).
  std::vector<Transition> none;
  CHECK(apply_partitions(
            none, {{"east", {.workers = 4, .still_silent = 1, .quiet = 2, .held = true}}}, {})
            .empty());
  // One quiet worker of four is no partition: the one timing out is offline.
  auto lone = silent_ones("east", 1);
  CHECK(apply_partitions(lone, {{"east", {.workers = 4, .quiet = 1}}}, {}).empty());
  CHECK(lone[0].to == "offline");
  // Quiet workers alone (nobody timed out) hold nothing yet.
  CHECK(apply_partitions(none, {{"east", {.workers = 4, .quiet = 4}}}, {}).empty());
}
