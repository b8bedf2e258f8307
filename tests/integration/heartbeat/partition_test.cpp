// Partition protection (DESIGN §6) in heartbeat-monitor: half a site silent at once is held
// (unreachable, one critical notification, no offline storm), clears when the site is back, and
// workers still silent after the hold go offline on their own.
#include <catch2/catch.hpp>

#include "monitor_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

std::vector<std::string> site_of_nodes(TestDatabase& db, const std::string& site, int n,
                                       const std::string& heartbeat_age) {
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    ids.push_back(add_node(db, site + "-" + std::to_string(i), "online", heartbeat_age, site));
  }
  return ids;
}

long long with_status(TestDatabase& db, const std::string& site, const std::string& status) {
  return db.count("SELECT 1 FROM workers WHERE site = '" + site + "' AND status = '" + status +
                  "'");
}

}  // namespace

TEST_CASE("most of a site silent at once: unreachable, one hold, one notification - then clears",
          "[heartbeat][integration][partition]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  auto silent = site_of_nodes(db, "east", 6, "5 minutes");
  auto alive = site_of_nodes(db, "east", 4, "5 seconds");
  auto other = site_of_nodes(db, "west", 2, "5 minutes");  // 2 of 2, but under the minimum

  auto report = cycle.run();
  CHECK(MonitorCycle::count(report, "holds_opened") == 1);
  CHECK(with_status(db, "east", "unreachable") == 6);
  CHECK(with_status(db, "east", "offline") == 0);
  CHECK(with_status(db, "west", "offline") == 2);
  CHECK_THAT(reason_of(db, silent[0]), Contains("its site east is held"));
  CHECK(db.scalar("SELECT site || ' ' || silent || '/' || total FROM site_holds "
                  "WHERE cleared_at IS NULL") == "east 6/10");
  // Exactly one notification for the site, critical; none per east worker.
  CHECK(db.scalar("SELECT count(*) || ' ' || min(severity) FROM notifications "
                  "WHERE event = 'site.unreachable'") == "1 critical");
  CHECK(db.count("SELECT 1 FROM notifications n JOIN workers w ON w.id = n.worker_id "
                 "WHERE w.site = 'east'") == 0);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'worker.offline'") == 2);  // west

  // Still held: a second run neither notifies again nor turns anyone offline; a further east
  // worker going silent joins the hold instead of going offline.
  db.exec("UPDATE nodes SET last_heartbeat_at = now() - interval '10 minutes' WHERE worker_id = " +
          alive[0]);
  report = cycle.run();
  CHECK(MonitorCycle::count(report, "holds_opened") == 0);
  CHECK(status_of(db, alive[0]) == "unreachable");
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'site.unreachable'") == 1);
  CHECK(with_status(db, "east", "offline") == 0);

  // The site comes back but two stay silent (2 of 10: under the share): the hold clears with one
  // site.reachable, the returning workers are online again without per-worker notifications.
  db.exec("UPDATE nodes SET last_heartbeat_at = now() WHERE worker_id IN (" + silent[0] + ", " +
          silent[1] + ", " + silent[2] + ", " + silent[3] + ", " + silent[4] + ")");
  report = cycle.run();
  CHECK(MonitorCycle::count(report, "holds_cleared") == 1);
  CHECK(db.count("SELECT 1 FROM site_holds WHERE cleared_at IS NULL") == 0);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'site.reachable'") == 1);
  CHECK(with_status(db, "east", "online") == 8);
  CHECK(with_status(db, "east", "unreachable") == 2);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'worker.recovered'") == 0);

  // The two still silent stay unreachable until the timeout after the clear, then go offline
  // individually.
  cycle.run();
  CHECK(with_status(db, "east", "unreachable") == 2);
  db.exec("UPDATE site_holds SET cleared_at = now() - interval '3 minutes'");
  db.exec("UPDATE workers SET status_since = now() - interval '10 minutes' WHERE site = 'east'");
  cycle.run();
  CHECK(with_status(db, "east", "unreachable") == 0);
  CHECK(with_status(db, "east", "offline") == 2);
  CHECK(db.count("SELECT 1 FROM notifications n JOIN workers w ON w.id = n.worker_id "
                 "WHERE w.site = 'east' AND n.event = 'worker.offline'") == 2);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event LIKE 'site.%'") == 2);
}

TEST_CASE("workers without a site form the '' site - exactly half silent is not a partition",
          "[heartbeat][integration][partition]") {
  TestDatabase db;
  MonitorCycle cycle(db);
  site_of_nodes(db, "half", 3, "5 minutes");
  site_of_nodes(db, "half", 3, "1 second");
  for (int i = 0; i < 4; ++i)
    add_node(db, "nosite-" + std::to_string(i), "online", "5 minutes");
  add_node(db, "nosite-alive", "online", "1 second");
  cycle.run();
  CHECK(with_status(db, "half", "offline") == 3);
  CHECK(db.count("SELECT 1 FROM workers WHERE site IS NULL AND status = 'unreachable'") == 4);
  CHECK(db.scalar("SELECT site FROM site_holds") == "");
  CHECK(db.count("SELECT 1 FROM site_holds") == 1);
}

TEST_CASE("the dry run shows the hold it would open and opens none",
          "[heartbeat][integration][partition]") {
  TestDatabase db;
  site_of_nodes(db, "east", 4, "5 minutes");
  MonitorCycle dry(db, true);
  dry.run();
  CHECK(db.count("SELECT 1 FROM site_holds") == 0);
  CHECK(with_status(db, "east", "online") == 4);
  bool hold_line = false;
  for (const auto& line : dry.emitted) {
    if (line.find("\"hold_site\"") != std::string::npos) hold_line = true;
  }
  CHECK(hold_line);
}

TEST_CASE(
    "a cut-off site whose heartbeats were spread over an interval is held, not lost one by one",
    "[heartbeat][integration][partition]") {
  // Four nodes cut off together: their last heartbeats lie apart, so one passes the 120 s timeout
  // in this cycle while the others have been silent for 70-100 s (more than half the timeout).
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto first = add_node(db, "cut-0", "online", "130 seconds", "north");
  add_node(db, "cut-1", "online", "100 seconds", "north");
  add_node(db, "cut-2", "online", "85 seconds", "north");
  add_node(db, "cut-3", "online", "70 seconds", "north");
  site_of_nodes(db, "north", 2, "5 seconds");  // alive: 4 of 6 are cut off

  auto report = cycle.run();
  CHECK(MonitorCycle::count(report, "holds_opened") == 1);
  CHECK(status_of(db, first) == "unreachable");
  CHECK(db.scalar("SELECT silent || '/' || total FROM site_holds WHERE cleared_at IS NULL") ==
        "4/6");
  // The others time out in later cycles: they join the hold; nobody is offline, nobody notified
  // one by one.
  db.exec(
      "UPDATE nodes SET last_heartbeat_at = now() - interval '130 seconds' "
      "WHERE hostname IN ('cut-1', 'cut-2', 'cut-3')");
  cycle.run();
  CHECK(with_status(db, "north", "unreachable") == 4);
  CHECK(with_status(db, "north", "offline") == 0);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'worker.offline'") == 0);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'site.unreachable'") == 1);
}

TEST_CASE("quiet ASICs, rigs and devices count towards their site's partition, stale rigs do not",
          "[heartbeat][integration][partition]") {
  // One node times out now; an ASIC, a rig and a device of its site are quiet (silent past half
  // their timeouts: 600 s, 300 s, 2 x 60 s); three workers are alive: 4 of 7 silent, held. Two
  // HiveOS rigs whose account could not be read (one silent, one seen lately) are neither silent
  // nor counted: with them the site would be 5 of 9 or 4 of 9.
  TestDatabase db;
  MonitorCycle cycle(db);
  const auto node = add_node(db, "cut-node", "online", "130 seconds", "mixed");
  add_worker(db, "asic", "quiet-asic", "online", "400 seconds", "mixed");
  add_worker(db, "rig", "quiet-rig", "online", "200 seconds", "mixed");
  const auto device = add_worker(db, "device", "quiet-device", "online", "90 seconds", "mixed");
  db.exec("INSERT INTO devices (worker_id, device_type) VALUES (" + device + ", 'thermo')");
  add_node(db, "alive-node", "online", "5 seconds", "mixed");
  add_worker(db, "asic", "alive-asic", "online", "5 seconds", "mixed");
  const auto alive_device =
      add_worker(db, "device", "alive-device", "online", "5 seconds", "mixed");
  db.exec("INSERT INTO devices (worker_id, device_type) VALUES (" + alive_device + ", 'thermo')");
  const auto account = db.scalar(
      "INSERT INTO hiveos_accounts (name, base_url, token_enc, created_by) VALUES ('acc', "
      "'http://127.0.0.1:1/api/v2', '', 'test') RETURNING id");
  const auto stale_silent = add_worker(db, "rig", "stale-silent", "online", "200 seconds", "mixed");
  const auto stale_seen = add_worker(db, "rig", "stale-seen", "online", "5 seconds", "mixed");
  db.exec(
      "INSERT INTO rigs (worker_id, account_id, hiveos_worker_id, hiveos_farm_id, stale) "
      "VALUES (" +
      stale_silent + ", " + account + ", 1, 10, true), (" + stale_seen + ", " + account +
      ", 2, 10, true)");

  auto report = cycle.run();
  CHECK(MonitorCycle::count(report, "holds_opened") == 1);
  CHECK(status_of(db, node) == "unreachable");
  CHECK(db.scalar("SELECT silent || '/' || total FROM site_holds WHERE cleared_at IS NULL") ==
        "4/7");
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'worker.offline'") == 0);
}
