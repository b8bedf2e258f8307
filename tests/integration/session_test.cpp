#include <catch2/catch.hpp>

#include <thread>

#include <pqxx/pqxx>

#include "db/errors.h"
#include "db/session.h"
#include "pgtest.h"
#include "process.h"

using namespace fleet;
using Catch::Matchers::Contains;
using std::chrono::milliseconds;

namespace {
db::ConnectionOptions options_for(const std::string& url) {
  db::ConnectionOptions o;
  o.conninfo = url;
  o.application_name = "session-test";
  o.reconnect = {.initial = milliseconds(100), .max = milliseconds(200)};
  return o;
}
}  // namespace

TEST_CASE("a session reconnects after its connection is killed", "[session][db]") {
  test::TestDatabase db;
  db::Session session(options_for(db.url()));
  int pid = session.transact(
      [](pqxx::transaction_base& tx) { return tx.exec1("SELECT pg_backend_pid()")[0].as<int>(); });
  db.exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")");
  // The broken connection surfaces once as Unavailable (or is noticed and replaced at once).
  int next = 0;
  REQUIRE(test::eventually(
      [&] {
        try {
          next = session.transact([](pqxx::transaction_base& tx) {
            return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
          });
          return true;
        } catch (const db::Unavailable&) {
          return false;
        }
      },
      milliseconds(5000)));
  CHECK(next != pid);
}

TEST_CASE("session settings: application name, UTC, statement timeout", "[session][db]") {
  test::TestDatabase db;
  auto o = options_for(db.url());
  o.statement_timeout = milliseconds(200);
  db::Session session(o);
  auto [app, tz] = session.transact([](pqxx::transaction_base& tx) {
    auto r = tx.exec1("SELECT current_setting('application_name'), current_setting('TimeZone')");
    return std::make_pair(r[0].as<std::string>(), r[1].as<std::string>());
  });
  CHECK(app == "session-test");
  CHECK(tz == "UTC");
  try {
    session.transact([](pqxx::transaction_base& tx) { tx.exec("SELECT pg_sleep(2)"); });
    FAIL("statement timeout did not fire");
  } catch (const std::exception& e) {
    CHECK(db::classify(e) == ErrorKind::kCancelled);
  }
}

TEST_CASE("a read-only session cannot write", "[session][db]") {
  test::TestDatabase db;
  auto o = options_for(db.url());
  o.read_only = true;
  db::Session session(o);
  try {
    session.transact(
        [](pqxx::transaction_base& tx) { tx.exec("INSERT INTO farms (name) VALUES ('x')"); });
    FAIL("write succeeded in read-only mode");
  } catch (const pqxx::sql_error& e) {
    CHECK(std::string(e.sqlstate()) == "25006");
  }
  CHECK(db.count("farms") == 0);
}

TEST_CASE("cancel() from another thread interrupts a running statement", "[session][db]") {
  test::TestDatabase db;
  db::Session session(options_for(db.url()));
  session.transact([](pqxx::transaction_base& tx) { tx.exec("SELECT 1"); });
  std::thread canceller([&] {
    std::this_thread::sleep_for(milliseconds(300));
    session.cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS(
      session.transact([](pqxx::transaction_base& tx) { tx.exec("SELECT pg_sleep(20)"); }));
  canceller.join();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
}

TEST_CASE("an unreachable database is Unavailable, with a reconnect backoff", "[session][db]") {
  auto o =
      options_for("postgresql://postgres@127.0.0.1:" + std::to_string(test::free_port()) + "/x");
  o.reconnect = {.initial = milliseconds(60'000), .max = milliseconds(60'000)};
  db::Session session(o);
  CHECK_THROWS_AS(session.connection(), db::Unavailable);
  try {
    session.connection();
    FAIL("expected Unavailable");
  } catch (const db::Unavailable& e) {
    CHECK_THAT(e.what(), Contains("next attempt in"));
    CHECK(db::classify(e) == ErrorKind::kUnavailable);
  }
}

TEST_CASE("reconnect_now connects as soon as the database is back, despite the backoff",
          "[session][db]") {
  auto server = test::PgServer::create();  // private: this test stops and starts it
  auto o = options_for(server->url());
  o.reconnect = {.initial = milliseconds(60'000), .max = milliseconds(60'000)};
  db::Session session(o);
  auto select_one = [&] {
    return session.transact(
        [](pqxx::transaction_base& tx) { return tx.exec1("SELECT 1")[0].as<int>(); });
  };
  REQUIRE(select_one() == 1);
  server->stop();
  CHECK_THROWS_AS(select_one(), db::Unavailable);
  CHECK_FALSE(session.reconnect_now());
  CHECK_FALSE(session.connected());
  server->start();
  // The session's own backoff still holds it back for 30-60 s...
  CHECK_THROWS_WITH(session.connection(), Contains("next attempt in"));
  // ...but a reconnect probe connects at once, and the session works again.
  CHECK(session.reconnect_now());
  CHECK(session.connected());
  CHECK(select_one() == 1);
  CHECK(session.reconnect_now());  // already connected: nothing to do
}

TEST_CASE("verify_prepared names a statement that does not fit the schema", "[session][db]") {
  test::TestDatabase db;
  db::Session session(options_for(db.url()));
  session.prepare("good", "SELECT id FROM workers WHERE kind = $1");
  CHECK(session.verify_prepared().empty());
  session.prepare("bad", "SELECT no_such_column FROM workers");
  CHECK_THAT(session.verify_prepared(), Contains("bad:"));
  CHECK_THAT(session.verify_prepared(), Contains("no_such_column"));
}

TEST_CASE("database errors are classified by SQLSTATE", "[session][db]") {
  test::TestDatabase db;
  db::Session session(options_for(db.url()));
  auto kind_of = [&](const std::string& sql) {
    try {
      session.transact([&](pqxx::transaction_base& tx) { tx.exec(sql); });
    } catch (const std::exception& e) {
      return db::classify(e);
    }
    return ErrorKind::kInternal;
  };
  CHECK(kind_of("SELECT * FROM missing_table") == ErrorKind::kFailedPrecondition);
  session.transact(
      [](pqxx::transaction_base& tx) { tx.exec("INSERT INTO farms (name) VALUES ('f')"); });
  CHECK(kind_of("INSERT INTO farms (name) VALUES ('f')") == ErrorKind::kAlreadyExists);
  CHECK(kind_of("INSERT INTO workers (kind, name) VALUES ('toaster', 'x')") ==
        ErrorKind::kInvalidArgument);
}

TEST_CASE("autocommit runs statements without a transaction block, each committing by itself",
          "[session][db]") {
  test::TestDatabase db;
  db.exec("CREATE TABLE t (x int PRIMARY KEY)");
  db::Session session(options_for(db.url()));
  // No BEGIN: the statement starts its own transaction (in a block begun by an earlier BEGIN,
  // the transaction's time is before the statement's).
  const char* kFirst = "SELECT now() = statement_timestamp()";
  CHECK(session.autocommit(
      [&](pqxx::transaction_base& tx) { return tx.exec1(kFirst)[0].as<bool>(); }));
  CHECK_FALSE(
      session.transact([&](pqxx::transaction_base& tx) { return tx.exec1(kFirst)[0].as<bool>(); }));
  // A failing second statement does not undo the first (in transact() it would).
  CHECK_THROWS(session.autocommit([](pqxx::transaction_base& tx) {
    tx.exec0("INSERT INTO t VALUES (1)");
    tx.exec0("INSERT INTO t VALUES (1)");
  }));
  CHECK(db.scalar("SELECT count(*) FROM t") == "1");
  CHECK_THROWS(session.transact([](pqxx::transaction_base& tx) {
    tx.exec0("INSERT INTO t VALUES (2)");
    tx.exec0("INSERT INTO t VALUES (2)");
  }));
  CHECK(db.scalar("SELECT count(*) FROM t") == "1");
  // The session stays usable after the error, and a read-only session stays read-only.
  CHECK(session.autocommit([](pqxx::transaction_base& tx) {
    return tx.exec1("SELECT max(x) FROM t")[0].as<int>();
  }) == 1);
  auto o = options_for(db.url());
  o.read_only = true;
  db::Session reader(o);
  CHECK_THROWS(
      reader.autocommit([](pqxx::transaction_base& tx) { tx.exec0("INSERT INTO t VALUES (3)"); }));
  CHECK(db.scalar("SELECT count(*) FROM t") == "1");
}
