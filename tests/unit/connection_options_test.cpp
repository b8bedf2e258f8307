#include <catch2/catch.hpp>

#include "db/connection_options.h"

using namespace fleet;
using Catch::Matchers::Contains;

namespace {
Result<db::ConnectionOptions> from_env(std::map<std::string, std::string> env) {
  config::Schema s;
  db::declare_config(s);
  auto c = config::Config::load(s, {.env = std::move(env)});
  REQUIRE(c.ok());
  return db::options_from(*c);
}
}  // namespace

TEST_CASE("DATABASE_URL is used as is", "[db][conninfo]") {
  auto o = from_env({{"DATABASE_URL", "postgresql://fleet:pw@db:5433/fleet"}});
  REQUIRE(o.ok());
  CHECK(o->conninfo == "postgresql://fleet:pw@db:5433/fleet");
  CHECK(db::describe(*o) == "postgresql://fleet:***@db:5433/fleet");
}

TEST_CASE("POSTGRES_* variables build a key=value connection string", "[db][conninfo]") {
  auto o = from_env({{"POSTGRES_SERVER", "db.local"},
                     {"POSTGRES_DB", "fleet"},
                     {"POSTGRES_USER", "fleet"},
                     {"POSTGRES_PASSWORD", "it's secret"}});
  REQUIRE(o.ok());
  CHECK(o->conninfo == "host='db.local' dbname='fleet' user='fleet' password='it\\'s secret'");
  CHECK(db::describe(*o).find("secret") == std::string::npos);
}

TEST_CASE("POSTGRES_SERVER may carry the port", "[db][conninfo]") {
  auto o = from_env({{"POSTGRES_SERVER", "db:6543"}, {"POSTGRES_DB", "fleet"}});
  REQUIRE(o.ok());
  CHECK_THAT(o->conninfo, Contains("port='6543'"));
  CHECK_THAT(o->conninfo, Contains("host='db'"));
  auto bad = from_env({{"POSTGRES_SERVER", "db:xyz"}, {"POSTGRES_DB", "fleet"}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), Contains("database.host"));
}

TEST_CASE("DATABASE_URL wins over POSTGRES_*", "[db][conninfo]") {
  auto o = from_env(
      {{"DATABASE_URL", "postgresql://a@b/c"}, {"POSTGRES_SERVER", "other"}, {"POSTGRES_DB", "x"}});
  REQUIRE(o.ok());
  CHECK(o->conninfo == "postgresql://a@b/c");
}

TEST_CASE("no database configured is an error that says what to set", "[db][conninfo]") {
  auto o = from_env({});
  REQUIRE_FALSE(o.ok());
  CHECK_THAT(o.error().message(), Contains("DATABASE_URL"));
  CHECK_THAT(o.error().message(), Contains("POSTGRES_SERVER"));
  auto bad = from_env({{"DATABASE_URL", "mysql-ish nonsense"}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), Contains("database.url"));
}

TEST_CASE("timeouts come from configuration", "[db][conninfo]") {
  config::Schema s;
  db::declare_config(s);
  auto c = config::Config::load(s, {.env = {{"DATABASE_URL", "postgresql://a@b/c"},
                                            {"FLEET_DATABASE_STATEMENT_TIMEOUT", "2s"}}});
  REQUIRE(c.ok());
  auto o = db::options_from(*c);
  REQUIRE(o.ok());
  CHECK(o->statement_timeout == std::chrono::seconds(2));
  CHECK(o->connect_timeout == std::chrono::seconds(5));
}

TEST_CASE("connection strings are read and rewritten the way libpq parses them", "[db][conninfo]") {
  CHECK(*db::conninfo_value("postgresql://u:pw@h:5433/fleet?sslmode=disable", "dbname") == "fleet");
  CHECK(*db::conninfo_value("host='h' dbname='my db'", "dbname") == "my db");
  CHECK(db::conninfo_value("postgresql://u@h", "dbname")->empty());
  auto admin = db::conninfo_with("postgresql://u:pw@h:5433/fleet", "dbname", "postgres");
  REQUIRE(admin.ok());
  CHECK(*db::conninfo_value(*admin, "dbname") == "postgres");
  CHECK(*db::conninfo_value(*admin, "port") == "5433");
  CHECK(*db::conninfo_value(*admin, "password") == "pw");
  CHECK_FALSE(db::conninfo_value("host='unterminated", "dbname").ok());
  CHECK_FALSE(db::conninfo_value("host=h", "no_such_keyword").ok());
}
