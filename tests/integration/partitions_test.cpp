#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include "pgtest.h"

using namespace fleet;

TEST_CASE("readings are partitioned by UTC day, made ahead by the migration", "[partitions][db]") {
  test::TestDatabase db;
  // Today and the next days exist: a reading now lands in today's partition.
  db.exec(
      "INSERT INTO readings (worker_id, metric, ts, value) VALUES (1, 'temperature', now(), 21.5)");
  CHECK(db.scalar("SELECT tableoid::regclass::text FROM readings") ==
        "readings_p" + db.scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')"));
  // A re-sent reading is a no-op with ON CONFLICT DO NOTHING.
  db.exec(
      "INSERT INTO readings (worker_id, metric, ts, value) "
      "SELECT worker_id, metric, ts, value FROM readings ON CONFLICT DO NOTHING");
  CHECK(db.count("readings") == 1);
  // Neither value nor json_value is no reading at all.
  CHECK_THROWS(db.exec("INSERT INTO readings (worker_id, metric, ts) VALUES (1, 'x', now())"));
  CHECK_THROWS(db.exec(
      "INSERT INTO readings (worker_id, metric, ts, value) VALUES (1, 'Bad Name', now(), 1)"));
}

TEST_CASE("old partitions are dropped after retention, recent ones kept", "[partitions][db]") {
  test::TestDatabase db;
  CHECK(db.scalar("SELECT fleet_create_daily_partitions('readings', 40, 0)") != "0");
  const long long before =
      db.count("SELECT 1 FROM pg_inherits WHERE inhparent = 'readings'::regclass");
  db.exec(
      "INSERT INTO readings (worker_id, metric, ts, value) VALUES (1, 'old', now() - interval '35 "
      "days', 1)");
  db.exec(
      "INSERT INTO readings (worker_id, metric, ts, value) VALUES (1, 'new', now() - interval '2 "
      "days', 1)");
  const std::string dropped =
      db.scalar("SELECT count(*) FROM fleet_drop_expired_partitions('readings', 30)");
  CHECK(std::stoll(dropped) >= 9);  // days 31..40 back
  CHECK(db.count("SELECT 1 FROM pg_inherits WHERE inhparent = 'readings'::regclass") ==
        before - std::stoll(dropped));
  CHECK(db.count("SELECT 1 FROM readings WHERE metric = 'old'") == 0);
  CHECK(db.count("SELECT 1 FROM readings WHERE metric = 'new'") == 1);
  // Running again finds nothing more to do.
  CHECK(db.scalar("SELECT count(*) FROM fleet_drop_expired_partitions('readings', 30)") == "0");
  CHECK(db.scalar("SELECT fleet_create_daily_partitions('readings', 1, 7)") == "0");
}

TEST_CASE("workers: status_since follows status, labels must be an object", "[schema][db]") {
  test::TestDatabase db;
  db.exec(
      "INSERT INTO workers (kind, name, status, status_since) "
      "VALUES ('asic', 'm1', 'online', now() - interval '1 hour')");
  db.exec("UPDATE workers SET managed = true");
  CHECK(db.scalar("SELECT status_since < now() - interval '59 minutes' FROM workers") == "t");
  db.exec("UPDATE workers SET status = 'offline'");
  CHECK(db.scalar("SELECT status_since > now() - interval '1 minute' FROM workers") == "t");
  CHECK_THROWS(db.exec("UPDATE workers SET labels = '[1]'"));
  CHECK_THROWS(db.exec("INSERT INTO workers (kind, name) VALUES ('asic', '')"));
}
