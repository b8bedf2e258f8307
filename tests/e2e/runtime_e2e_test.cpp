// The runtime contract (DESIGN §2) exercised through the test-worker binary.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "core/strings.h"
#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("worker --once runs one cycle, records the process and exits 0", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  auto r = run(binary("test-worker"), {"--once"}, worker_env(db));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(db.count("test_marks") == 1);
  CHECK(db.scalar("SELECT state || ' ' || mode || ' ' || cycles || ' ' || cycle_errors "
                  "FROM service_instances WHERE service = 'test-worker'") == "stopped once 1 0");
  CHECK(db.scalar("SELECT stats->>'marks' FROM service_instances") == "1");
  CHECK_THAT(r.err, Contains("cycle 1 completed"));
  CHECK_THAT(r.err, Contains("marks=1"));
}

TEST_CASE("worker --once exits 1 when the cycle throws, and its transaction is rolled back",
          "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  auto r = run(binary("test-worker"), {"--once", "--set", "test.mode=fail"}, worker_env(db));
  CHECK(r.code == 1);
  CHECK(db.count("test_marks") == 0);
  CHECK(db.scalar("SELECT state FROM service_instances") == "failed");
  CHECK_THAT(db.scalar("SELECT last_error FROM service_instances"), Contains("injected failure"));
  CHECK_THAT(r.err, Contains("cycle 1 failed"));
}

TEST_CASE("worker --config-check exits 0 on a good configuration", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  auto r = run(binary("test-worker"), {"--config-check"}, worker_env(db));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("configuration OK"));
  CHECK_THAT(r.err, Contains("Database connection and table verification successful"));
  CHECK(db.count("service_instances") == 0);  // a check writes nothing
}

TEST_CASE("a placeholder database password or secret key is refused at start",
          "[runtime][e2e][secrets]") {
  TestDatabase db;
  add_test_marks(db);
  auto r = run(binary("test-worker"),
               {"--config-check", "--set",
                "database.url=postgresql://fleetward:CHANGE-ME@127.0.0.1:1/fleetward"},
               worker_env(db));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("database password"));
  CHECK_THAT(r.err, Contains("placeholder"));
  CHECK(r.err.find("CHANGE-ME") == std::string::npos);
}

TEST_CASE("worker --config-check exits 2 on a bad configuration, naming the key",
          "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  const std::string dir = make_temp_dir("fleet-cfg");
  write_file(dir + "/bad.json", R"({"interval": 5, "helth": {"port": 1}})");
  auto r =
      run(binary("test-worker"), {"--config-check", "--config", dir + "/bad.json"}, worker_env(db));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("unknown key 'helth' in the config file (did you mean 'health'?)"));

  r = run(binary("test-worker"), {"--config-check"},
          worker_env(db, {{"FLEET_HEALTH_PORT", "99999"}}));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("key 'health.port' from environment variable FLEET_HEALTH_PORT"));

  r = run(binary("test-worker"), {"--config-check", "--log-format", "xml"}, worker_env(db));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("must be one of text, json"));

  r = run(binary("test-worker"), {"--config-check", "--set", "test.mode=bad-setup"},
          worker_env(db));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("invalid configuration: test.mode bad-setup rejected"));

  Process::Options no_db = worker_env(db);
  no_db.env.erase("DATABASE_URL");
  no_db.unset_env.push_back("DATABASE_URL");
  r = run(binary("test-worker"), {"--config-check"}, no_db);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("no database configured"));

  r = run(binary("test-worker"), {"--config-check", "--no-such-flag"}, worker_env(db));
  CHECK(r.code == 2);
}

TEST_CASE("worker --config-check exits 2 on a missing table or a schema behind the binary",
          "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  auto r = run(binary("test-worker"), {"--config-check"},
               worker_env(db, {{"FLEETTEST_REQUIRE_TABLE", "no_such_table"}}));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("required tables are missing: no_such_table"));

  TestDatabase empty(Schema::kEmpty);
  r = run(binary("test-worker"), {"--config-check"}, worker_env(empty));
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("run 'fleetctl migrate'"));
}

TEST_CASE("worker --config-check exits 1 when the database cannot be reached", "[runtime][e2e]") {
  Process::Options o;
  o.env["DATABASE_URL"] =
      "postgresql://postgres:hunter2@127.0.0.1:" + std::to_string(free_port()) + "/x";
  auto r = run(binary("test-worker"), {"--config-check"}, o);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("cannot connect to the database"));
  CHECK(r.err.find("hunter2") == std::string::npos);  // the password never reaches the log
}

TEST_CASE("worker --dry-run prints its decisions and writes nothing", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  const std::string before = table_fingerprint(db);
  auto r = run(binary("test-worker"), {"--dry-run"}, worker_env(db, {{"FLEETTEST_LEASE", "dry"}}));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(table_fingerprint(db) == before);
  auto lines = split(std::string(trim(r.out)), '\n');
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["action"] == "insert_mark");
  auto summary = nlohmann::json::parse(lines[1]);
  CHECK(summary["type"] == "summary");
  CHECK(summary["ok"] == true);
}

TEST_CASE("worker --dry-run refuses writes even from a careless cycle", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  const std::string before = table_fingerprint(db);
  auto r = run(binary("test-worker"), {"--dry-run", "--set", "test.write_in_dry_run=true"},
               worker_env(db));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("read-only transaction"));
  CHECK(table_fingerprint(db) == before);
}

TEST_CASE("SIGTERM during a cycle rolls its transaction back and exits within 5 s",
          "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  Process worker(binary("test-worker"), {"--set", "test.cycle_sleep=60s"}, worker_env(db));
  // Wait until the cycle sits inside its transaction (mark inserted, pg_sleep running).
  REQUIRE(eventually(
      [&] {
        return db.count(
                   "SELECT 1 FROM pg_stat_activity WHERE application_name = 'test-worker' "
                   "AND query LIKE '%pg_sleep%' AND state = 'active'") == 1;
      },
      seconds(10)));
  const auto sent = std::chrono::steady_clock::now();
  worker.signal(SIGTERM);
  auto code = worker.wait(seconds(6));
  const auto took = std::chrono::steady_clock::now() - sent;
  INFO(worker.err());
  REQUIRE(code);
  CHECK(took < seconds(5));
  CHECK(*code == 0);
  CHECK(db.count("test_marks") == 0);  // the half-done cycle left nothing behind
  CHECK_THAT(worker.err(), Contains("Received Terminated"));
  CHECK_THAT(worker.err(), Contains("rolled back"));
  CHECK(db.scalar("SELECT state FROM service_instances") == "stopped");
}

TEST_CASE("SIGINT while idle stops at once with final statistics", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  Process worker(binary("test-worker"), {"--interval", "60"}, worker_env(db));
  REQUIRE(eventually([&] { return db.count("test_marks") == 1; }, seconds(10)));
  const auto sent = std::chrono::steady_clock::now();
  worker.signal(SIGINT);
  auto code = worker.wait(seconds(5));
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - sent < seconds(2));
  CHECK_THAT(worker.err(), Contains("Final statistics"));
  CHECK_THAT(worker.err(), Contains("cycles=1"));
}

TEST_CASE("flags beat the environment, which beats the config file", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  const std::string dir = make_temp_dir("fleet-cfg");
  write_file(dir + "/w.json", R"({"interval": 100})");
  auto interval_of = [&](std::vector<std::string> args, std::map<std::string, std::string> env) {
    db.exec("DELETE FROM service_instances");
    args.insert(args.begin(), {"--once", "--config", dir + "/w.json"});
    auto r = run(binary("test-worker"), args, worker_env(db, env));
    REQUIRE(r.code == 0);
    return db.scalar("SELECT interval_ms FROM service_instances");
  };
  CHECK(interval_of({"--interval", "7"}, {{"FLEET_INTERVAL", "50"}}) == "7000");
  CHECK(interval_of({}, {{"FLEET_INTERVAL", "50"}}) == "50000");
  CHECK(interval_of({}, {}) == "100000");
}

TEST_CASE("secrets are masked in the start-up log", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  // Trust authentication ignores the password, so the URL still works.
  std::string url = db.url();
  url.replace(url.find("postgres@"), 9, "postgres:hunter2@");
  Process::Options o = worker_env(db);
  o.env["DATABASE_URL"] = url;
  auto r = run(binary("test-worker"), {"--once", "--verbose"}, o);
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Contains("Effective configuration"));
  CHECK_THAT(r.err, Contains("postgres:***@"));
  CHECK(r.err.find("hunter2") == std::string::npos);
}

TEST_CASE("worker --version, --help and usage errors", "[runtime][e2e]") {
  auto r = run(binary("test-worker"), {"--version"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("test-worker 0."));
  r = run(binary("test-worker"), {"--help"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("--dry-run"));
  CHECK_THAT(r.out, Contains("Exit codes"));
  r = run(binary("test-worker"), {"--once", "--dry-run"});
  CHECK(r.code == 2);
  r = run(binary("test-worker"), {"--set", "novalue"});
  CHECK(r.code == 2);
}

TEST_CASE("adaptive polling runs again soon while work is waiting", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  Process busy(
      binary("test-worker"),
      {"--interval", "60", "--set", "active_interval=100ms", "--set", "test.more_work=true"},
      worker_env(db));
  REQUIRE(eventually([&] { return db.count("test_marks") >= 5; }, seconds(10)));
  busy.signal(SIGTERM);
  REQUIRE(busy.wait(seconds(5)));
  db.exec("DELETE FROM test_marks");
  Process idle(binary("test-worker"), {"--interval", "60", "--set", "active_interval=100ms"},
               worker_env(db));
  REQUIRE(eventually([&] { return db.count("test_marks") >= 1; }, seconds(10)));
  std::this_thread::sleep_for(seconds(1));
  CHECK(db.count("test_marks") == 1);
}

TEST_CASE("failed cycles are retried with backoff", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  Process worker(binary("test-worker"),
                 {"--interval", "60", "--set", "test.mode=fail", "--set", "backoff.initial=100ms",
                  "--set", "backoff.max=400ms"},
                 worker_env(db));
  REQUIRE(eventually(
      [&] {
        auto s = db.scalar("SELECT cycle_errors FROM service_instances");
        return !s.empty() && std::stoi(s) >= 4;
      },
      seconds(10)));
  worker.signal(SIGTERM);
  REQUIRE(worker.wait(seconds(5)));
  CHECK_THAT(worker.err(), Contains("consecutive failures"));
  CHECK(db.count("test_marks") == 0);
}

TEST_CASE("with a leader lease only one replica works, another takes over when it dies",
          "[runtime][e2e][lease]") {
  TestDatabase db;
  add_test_marks(db);
  auto env = worker_env(db, {{"FLEETTEST_LEASE", "test-lease"}});
  const std::vector<std::string> args{"--interval", "0.2", "--set", "leader.ttl=2s"};
  Process a(binary("test-worker"), args, env);
  REQUIRE(eventually([&] { return db.count("test_marks") >= 1; }, seconds(10)));
  Process b(binary("test-worker"), args, env);
  std::this_thread::sleep_for(seconds(2));
  CHECK(db.count("SELECT DISTINCT instance FROM test_marks") == 1);
  CHECK(db.count("SELECT 1 FROM test_marks WHERE NOT fenced") == 0);
  CHECK(db.scalar(
            "SELECT count(*) FILTER (WHERE leader) || '/' || count(*) FROM service_instances") ==
        "1/2");
  const std::string leader = db.scalar("SELECT instance FROM test_marks LIMIT 1");
  // Kill the leader without a chance to step down; the standby takes over after the ttl.
  Process& leader_process =
      leader.find("/" + std::to_string(a.pid()) + "-") != std::string::npos ? a : b;
  leader_process.signal(SIGKILL);
  leader_process.wait(seconds(5));
  REQUIRE(eventually([&] { return db.count("SELECT DISTINCT instance FROM test_marks") == 2; },
                     seconds(10)));
  CHECK(db.count("SELECT 1 FROM test_marks WHERE NOT fenced") == 0);
  CHECK(db.scalar("SELECT epoch FROM leases WHERE name = 'test-lease'") == "2");
}

TEST_CASE("a leader that stops releases the lease at once", "[runtime][e2e][lease]") {
  TestDatabase db;
  add_test_marks(db);
  auto env = worker_env(db, {{"FLEETTEST_LEASE", "handover"}});
  const std::vector<std::string> args{"--interval", "0.2", "--set", "leader.ttl=60s"};
  Process a(binary("test-worker"), args, env);
  REQUIRE(eventually([&] { return db.count("test_marks") >= 1; }, seconds(10)));
  Process b(binary("test-worker"), args, env);
  std::this_thread::sleep_for(seconds(1));
  a.signal(SIGTERM);
  REQUIRE(a.wait(seconds(5)));
  CHECK_THAT(a.err(), Contains("released leader lease"));
  // Well before the 60 s ttl, b leads.
  REQUIRE(eventually([&] { return db.count("SELECT DISTINCT instance FROM test_marks") == 2; },
                     seconds(5)));
}

TEST_CASE("a worker backing off keeps its heartbeat fresh", "[runtime][e2e]") {
  TestDatabase db;
  add_test_marks(db);
  // Interval 1 s, but every cycle fails and the backoff is 5-10 s: the row must still be refreshed.
  Process worker(binary("test-worker"),
                 {"--interval", "1", "--set", "test.mode=fail", "--set", "backoff.initial=10s",
                  "--set", "backoff.max=10s"},
                 worker_env(db));
  REQUIRE(eventually([&] { return db.count("service_instances") == 1; }, seconds(10)));
  std::this_thread::sleep_for(seconds(3));
  CHECK(db.scalar(
            "SELECT heartbeat_at > now() - interval '1500 milliseconds' FROM service_instances") ==
        "t");
  CHECK(db.scalar("SELECT cycles FROM service_instances") == "1");
}

TEST_CASE("SIGTERM during a configuration check that waits on the database ends it",
          "[runtime][e2e]") {
  Process::Options o;
  o.env["FLEET_DATABASE_CONNECT_TIMEOUT"] = "60s";
  // A listening socket that never answers keeps libpq waiting for the server's greeting.
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(listen(listener, 4) == 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  o.env["DATABASE_URL"] =
      "postgresql://postgres@127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x";
  Process check(binary("test-worker"), {"--config-check", "--set", "shutdown.grace=1s"}, o);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(check.running());
  check.signal(SIGTERM);
  auto code = check.wait(seconds(3));
  close(listener);
  REQUIRE(code);
  CHECK(*code != 0);
}

TEST_CASE(
    "after a database outage the next cycle starts when the database is back, not after "
    "the backoff",
    "[runtime][e2e][outage]") {
  // A private server: this test stops and restarts it.
  auto server = PgServer::create();
  server->create_template();
  auto db = std::make_unique<TestDatabase>(Schema::kMigrated, *server);
  add_test_marks(*db);
  // A failed cycle is retried after 2.5-5 minutes (backoff 5m with jitter): far beyond this test.
  Process worker(binary("test-worker"),
                 {"--interval", "0.3", "--set", "backoff.initial=5m", "--set", "backoff.max=5m",
                  "--set", "database.connect_timeout=2s"},
                 worker_env(*db));
  REQUIRE(eventually([&] { return db->count("test_marks") >= 1; }, seconds(10)));
  server->stop();
  REQUIRE(eventually([&] { return worker.err().find("retrying in") != std::string::npos; },
                     seconds(10)));
  const std::string log = worker.err();
  const auto at = log.find("retrying in ") + 12;
  const auto scheduled = parse_duration(log.substr(at, log.find(' ', at) - at));
  REQUIRE(scheduled.ok());
  CHECK(*scheduled >= std::chrono::minutes(2));

  server->start();
  const long long marks = db->count("test_marks");
  // Well before the backoff's 2.5 minutes at the least: the worker noticed the database is back.
  REQUIRE(eventually([&] { return db->count("test_marks") > marks; }, seconds(30)));
  CHECK_THAT(worker.err(), Contains("the database is back: starting the next cycle now"));
  CHECK(worker.running());
  worker.signal(SIGTERM);
  CHECK(worker.wait(seconds(5)) == 0);
  db.reset();
}

TEST_CASE(
    "a worker started while the database is down starts cycling when it comes up, not "
    "after the backoff",
    "[runtime][e2e][outage]") {
  auto server = PgServer::create();
  server->create_template();
  auto db = std::make_unique<TestDatabase>(Schema::kMigrated, *server);
  add_test_marks(*db);
  server->stop();
  Process worker(binary("test-worker"),
                 {"--interval", "0.3", "--set", "backoff.initial=5m", "--set", "backoff.max=5m",
                  "--set", "database.connect_timeout=2s"},
                 worker_env(*db));
  REQUIRE(
      eventually([&] { return worker.err().find("not starting cycles yet") != std::string::npos; },
                 seconds(10)));
  server->start();
  // The schema check's retry is 2.5-5 minutes away; the database being back ends the wait.
  REQUIRE(eventually([&] { return db->count("test_marks") >= 1; }, seconds(30)));
  CHECK_THAT(worker.err(), Contains("the database is back"));
  worker.signal(SIGTERM);
  CHECK(worker.wait(seconds(5)) == 0);
  db.reset();
}
