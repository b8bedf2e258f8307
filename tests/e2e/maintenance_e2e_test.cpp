#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {
long long partitions(TestDatabase& db) {
  return db.count("SELECT 1 FROM pg_inherits WHERE inhparent = 'readings'::regclass");
}
}  // namespace

TEST_CASE("maintenance-worker makes partitions ahead and drops expired ones",
          "[maintenance][e2e]") {
  TestDatabase db;
  db.exec(
      "UPDATE partition_policies SET premake_days = 14, retention_days = 10 WHERE parent_table = "
      "'readings'");
  db.exec("SELECT fleet_create_daily_partitions('readings', 20, 0)");
  db.exec(
      "INSERT INTO readings (worker_id, metric, ts, value) VALUES (1, 'old', now() - interval '15 "
      "days', 1)");
  db.exec(
      "INSERT INTO service_instances (instance_id, service, host, pid, version, mode, state, "
      "interval_ms, heartbeat_at, stopped_at) VALUES ('gone', 'x', 'h', 1, 'v', 'loop', 'stopped', "
      "1000, now() - interval '9 days', now() - interval '9 days')");

  auto r = run(binary("maintenance-worker"), {"--once"}, worker_env(db));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const std::string today = db.scalar("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD')");
  CHECK(db.scalar("SELECT to_regclass('readings_p' || to_char((now() AT TIME ZONE 'UTC')::date + "
                  "14, 'YYYYMMDD')) IS NOT NULL") == "t");
  CHECK(db.scalar("SELECT to_regclass('readings_p' || to_char((now() AT TIME ZONE 'UTC')::date - "
                  "15, 'YYYYMMDD'))") == "");
  CHECK(db.scalar("SELECT to_regclass('readings_p' || to_char((now() AT TIME ZONE 'UTC')::date - "
                  "9, 'YYYYMMDD')) IS NOT NULL") == "t");
  CHECK(db.count("SELECT 1 FROM readings WHERE metric = 'old'") == 0);
  CHECK(db.count("SELECT 1 FROM service_instances WHERE instance_id = 'gone'") == 0);
  CHECK(db.count("SELECT 1 FROM service_instances WHERE service = 'maintenance-worker'") == 1);
  CHECK_THAT(r.err, Contains("partitions_dropped=10"));
  CHECK_THAT(r.err, Contains("instances_pruned=1"));
}

TEST_CASE("maintenance-worker --dry-run lists its work and changes nothing", "[maintenance][e2e]") {
  TestDatabase db;
  db.exec("UPDATE partition_policies SET premake_days = 9 WHERE parent_table = 'readings'");
  db.exec("SELECT fleet_create_daily_partitions('readings', 35, 0)");
  const long long before = partitions(db);
  auto r = run(binary("maintenance-worker"), {"--dry-run"}, worker_env(db));
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(partitions(db) == before);
  int creates = 0, drops = 0;
  for (const auto& line : split(std::string(trim(r.out)), '\n')) {
    auto j = nlohmann::json::parse(line);
    if (j.value("action", "") == "create_partition") ++creates;
    if (j.value("action", "") == "drop_partition") ++drops;
  }
  CHECK(creates == 2);  // days +8 and +9 (the migration made up to +7)
  CHECK(drops == 5);    // days 31..35 back, with the default 30-day retention
}
