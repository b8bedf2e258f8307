// Migration 0049: a heartbeat's update of its nodes row is HOT (heap-only: no new index entries),
// because no index of nodes covers a column a heartbeat changes. The monitor still finds silent
// nodes without the index on last_heartbeat_at (monitor_cycle_test.cpp).
#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include "monitor_fixture.h"

using namespace fleet::test;

TEST_CASE("a heartbeat's update of its nodes row is a HOT update", "[heartbeat][integration]") {
  TestDatabase db;
  const std::string id = add_node(db, "hot-1", "online", "20 seconds");
  pqxx::connection conn(db.url());
  pqxx::work tx(conn);
  // Every column the gateway's ingest writes for a heartbeat under its limits
  // (heartbeat_batcher.cpp).
  tx.exec(
      "UPDATE nodes SET last_heartbeat_at = now(), agent_sent_at = now(), heartbeat_seq = 7, "
      "heartbeats = heartbeats + 1, cpu_percent = 12, memory_percent = 40, disk_percent = 55, "
      "containers = 3, containers_running = 2, container_list = '[{\"id\":\"a\"}]', over_limit = "
      "'{}', over_limit_streak = 0, healthy_since = coalesce(healthy_since, now()), streak_since = "
      "coalesce(streak_since, now()) WHERE worker_id = " +
      id);
  // This transaction's own counters: no waiting for the statistics collector.
  const auto row = tx.exec1(
      "SELECT pg_stat_get_xact_tuples_updated('nodes'::regclass), "
      "pg_stat_get_xact_tuples_hot_updated('nodes'::regclass)");
  CHECK(row[0].as<int>() == 1);
  CHECK(row[1].as<int>() == 1);
}
