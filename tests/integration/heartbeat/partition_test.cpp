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
