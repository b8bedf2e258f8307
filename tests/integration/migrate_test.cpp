#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include <pqxx/pqxx>

#include "migrate/migrator.h"
#include "pgtest.h"
#include "process.h"

using namespace fleet;
using Catch::Matchers::Contains;

namespace {

std::vector<migrate::Migration> set_of(std::vector<std::pair<std::string, std::string>> files) {
  std::vector<migrate::Migration> out;
  for (auto& [name, sql] : files)
    out.push_back(*migrate::make_migration(name, sql));
  return out;
}

}  // namespace

TEST_CASE("migrations apply in order on an empty database and record checksums", "[migrate][db]") {
  test::TestDatabase db(test::Schema::kEmpty);
  pqxx::connection conn(db.url());
  const auto& all = migrate::embedded_migrations();
  auto report = migrate::apply(conn, all);
  REQUIRE(report.ok());
  CHECK(report->applied.size() == all.size());
  CHECK(report->database_version == migrate::latest_version(all));
  for (const auto& m : all) {
    INFO(m.file_name());
    CHECK(db.scalar("SELECT checksum FROM schema_migrations WHERE version = " +
                    std::to_string(m.version)) == m.checksum);
  }
  // Applied in version order: applied_at never decreases with version.
  CHECK(db.scalar("SELECT bool_and(ok) FROM (SELECT applied_at >= lag(applied_at, 1, applied_at) "
                  "OVER (ORDER BY version) AS ok FROM schema_migrations) q") == "t");
  for (const char* table : {"service_instances", "leases", "workers", "farms", "devices",
                            "readings", "metrics_latest", "partition_policies"}) {
    INFO(table);
    CHECK(db.scalar(std::string("SELECT to_regclass('") + table + "') IS NOT NULL") == "t");
  }
  // A second run has nothing to do.
  auto again = migrate::apply(conn, all);
  REQUIRE(again.ok());
  CHECK(again->applied.empty());
  CHECK(db.count("schema_migrations") == static_cast<long long>(all.size()));
}

TEST_CASE("a migration changed after it was applied is refused", "[migrate][db]") {
  test::TestDatabase db(test::Schema::kEmpty);
  pqxx::connection conn(db.url());
  auto v1 = set_of({{"0001_a.sql", "CREATE TABLE a (id int);"}});
  REQUIRE(migrate::apply(conn, v1).ok());
  auto changed = set_of(
      {{"0001_a.sql", "CREATE TABLE a (id bigint);"}, {"0002_b.sql", "CREATE TABLE b (id int);"}});
  auto plan = migrate::plan(conn, changed);
  REQUIRE(plan.problems.size() == 1);
  CHECK_THAT(plan.problems[0], Contains("0001_a.sql was changed after it was applied"));
  auto r = migrate::apply(conn, changed);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Contains("refusing to migrate"));
  CHECK(db.scalar("SELECT to_regclass('b')") == "");  // nothing else ran
}

TEST_CASE("a new migration numbered below the applied ones is refused", "[migrate][db]") {
  test::TestDatabase db(test::Schema::kEmpty);
  pqxx::connection conn(db.url());
  REQUIRE(migrate::apply(conn, set_of({{"0001_a.sql", "SELECT 1;"}, {"0003_c.sql", "SELECT 3;"}}))
              .ok());
  auto r = migrate::apply(conn, set_of({{"0001_a.sql", "SELECT 1;"},
                                        {"0002_b.sql", "SELECT 2;"},
                                        {"0003_c.sql", "SELECT 3;"}}));
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Contains("0002_b.sql is older than the applied version 3"));
}

TEST_CASE("a failing migration is rolled back and stops the run", "[migrate][db]") {
  test::TestDatabase db(test::Schema::kEmpty);
  pqxx::connection conn(db.url());
  auto r = migrate::apply(conn, set_of({{"0001_a.sql", "CREATE TABLE a (id int);"},
                                        {"0002_b.sql", "CREATE TABLE b (id int); SELEC oops;"},
                                        {"0003_c.sql", "CREATE TABLE c (id int);"}}));
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Contains("0002_b.sql failed and was rolled back"));
  CHECK(db.scalar("SELECT to_regclass('a') IS NOT NULL") == "t");
  CHECK(db.scalar("SELECT to_regclass('b')") == "");  // its first statement was rolled back too
  CHECK(db.scalar("SELECT to_regclass('c')") == "");
  CHECK(db.scalar("SELECT max(version) FROM schema_migrations") == "1");
}

TEST_CASE("a target version stops early", "[migrate][db]") {
  test::TestDatabase db(test::Schema::kEmpty);
  pqxx::connection conn(db.url());
  auto set = set_of({{"0001_a.sql", "SELECT 1;"}, {"0002_b.sql", "SELECT 2;"}});
  auto r = migrate::apply(conn, set, {.target_version = 1});
  REQUIRE(r.ok());
  CHECK(r->database_version == 1);
  CHECK(migrate::plan(conn, set).pending.size() == 1);
}

TEST_CASE("concurrent migration runs apply each migration exactly once", "[migrate][db]") {
  test::TestDatabase db(test::Schema::kEmpty);
  auto set = set_of({{"0001_counter.sql", "CREATE TABLE runs (n int); SELECT pg_sleep(0.3);"},
                     {"0002_insert.sql", "INSERT INTO runs VALUES (1); SELECT pg_sleep(0.3);"}});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      pqxx::connection conn(db.url());
      if (migrate::apply(conn, set).ok()) ++ok;
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(ok == 4);
  CHECK(db.count("runs") == 1);
  CHECK(db.count("schema_migrations") == 2);
}

TEST_CASE("check_schema names a schema that is behind or a missing table", "[migrate][db]") {
  test::TestDatabase db(test::Schema::kEmpty);
  pqxx::connection conn(db.url());
  {
    pqxx::work tx(conn);
    Status s = migrate::check_schema(tx, {}, 3);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.error().message(), Contains("schema is at version 0 but this binary needs 3"));
  }
  REQUIRE(migrate::apply(conn, migrate::embedded_migrations()).ok());
  pqxx::work tx(conn);
  CHECK(migrate::check_schema(tx, {"workers", "readings"}).ok());
  Status missing = migrate::check_schema(tx, {"workers", "no_such_table"});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message(), Contains("missing: no_such_table"));
}
