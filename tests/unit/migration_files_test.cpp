#include <catch2/catch.hpp>

#include <filesystem>

#include "migrate/migrator.h"
#include "process.h"

using namespace fleet;
using Catch::Matchers::Contains;

TEST_CASE("migration file names must be NNNN_name.sql", "[migrate]") {
  CHECK(migrate::make_migration("0001_platform.sql", "SELECT 1").ok());
  for (const char* bad : {"1_platform.sql", "0001-platform.sql", "0001_Platform.sql",
                          "0001_platform.SQL", "platform.sql", "0000_zero.sql"}) {
    INFO(bad);
    auto m = migrate::make_migration(bad, "SELECT 1");
    REQUIRE_FALSE(m.ok());
  }
  auto m = migrate::make_migration("0042_add_rules.sql", "SELECT 1");
  REQUIRE(m.ok());
  CHECK(m->version == 42);
  CHECK(m->name == "add_rules");
  CHECK(m->file_name() == "0042_add_rules.sql");
}

TEST_CASE("checksums are SHA-256 of the file text", "[migrate]") {
  CHECK(migrate::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto a = migrate::make_migration("0001_a.sql", "SELECT 1;");
  auto b = migrate::make_migration("0001_a.sql", "SELECT 1; ");
  CHECK(a->checksum != b->checksum);
}

TEST_CASE("the embedded migrations are exactly the files in sql/", "[migrate]") {
  auto on_disk = migrate::load_directory(std::string(FLEETTEST_SOURCE_DIR) + "/sql");
  REQUIRE(on_disk.ok());
  const auto& embedded = migrate::embedded_migrations();
  REQUIRE(embedded.size() == on_disk->size());
  REQUIRE(embedded.size() >= 3);
  for (size_t i = 0; i < embedded.size(); ++i) {
    CHECK(embedded[i].version == (*on_disk)[i].version);
    CHECK(embedded[i].checksum == (*on_disk)[i].checksum);
    if (i > 0) CHECK(embedded[i].version > embedded[i - 1].version);
  }
  CHECK(migrate::latest_version(embedded) == embedded.back().version);
}

TEST_CASE("a directory with two files of one version is rejected", "[migrate]") {
  const std::string dir = test::make_temp_dir("fleet-migs");
  test::write_file(dir + "/0001_a.sql", "SELECT 1;");
  test::write_file(dir + "/0001_b.sql", "SELECT 2;");
  auto r = migrate::load_directory(dir);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message(), Contains("share version 1"));
  std::filesystem::remove_all(dir);
}
