#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using std::chrono::seconds;

TEST_CASE("fleetctl migrate applies, reports and verifies", "[fleetctl][e2e]") {
  TestDatabase db(Schema::kEmpty);
  auto status = run(binary("fleetctl"), {"migrate", "status"}, worker_env(db));
  CHECK(status.code == 0);
  CHECK_THAT(status.out, Contains("pending"));
  auto r = run(binary("fleetctl"), {"migrate"}, worker_env(db));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("applied 0001_platform.sql"));
  r = run(binary("fleetctl"), {"migrate"}, worker_env(db));
  CHECK_THAT(r.out, Contains("schema is up to date"));
  r = run(binary("fleetctl"), {"migrate", "verify"}, worker_env(db));
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("match their files"));
  db.exec("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = 2");
  r = run(binary("fleetctl"), {"migrate", "verify"}, worker_env(db));
  CHECK(r.code == 1);
  CHECK_THAT(r.out, Contains("0002_identity.sql was changed after it was applied"));
  r = run(binary("fleetctl"), {"migrate"}, worker_env(db));
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("refusing to migrate"));
}

TEST_CASE("fleetctl status lists every worker process and marks stale ones", "[fleetctl][e2e]") {
  TestDatabase db;
  db.exec(
      "CREATE TABLE test_marks (id bigserial PRIMARY KEY, instance text NOT NULL, "
      "fenced boolean NOT NULL, at timestamptz NOT NULL DEFAULT now())");
  Process worker(binary("test-worker"), {"--interval", "0.3"}, worker_env(db));
  REQUIRE(eventually([&] { return db.count("test_marks") >= 2; }, seconds(10)));
  // A process that died without a trace: running, but silent for an hour.
  db.exec(
      "INSERT INTO service_instances (instance_id, service, host, pid, version, mode, state, "
      "interval_ms, started_at, heartbeat_at, last_error, last_error_at) VALUES "
      "('h/dead/1', 'dead-worker', 'h', 1, 'v', 'loop', 'running', 10000, now() - interval '2 "
      "hours', "
      "now() - interval '1 hour', 'database unreachable', now() - interval '1 hour')");
  auto r = run(binary("fleetctl"), {"status"}, worker_env(db));
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("SERVICE"));
  CHECK_THAT(r.out, Contains("test-worker"));
  CHECK_THAT(r.out, Contains("running"));
  CHECK_THAT(r.out, Contains("dead-worker"));
  CHECK_THAT(r.out, Contains("stale"));
  CHECK_THAT(r.out, Contains("database unreachable"));
  auto j =
      run(binary("fleetctl"), {"status", "--json", "--service", "test-worker"}, worker_env(db));
  auto rows = nlohmann::json::parse(j.out);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0]["state"] == "running");
  CHECK(rows[0]["cycles"].get<int>() >= 2);
  CHECK(rows[0]["pid"].get<int>() == worker.pid());
  // The uptime of a process in state running counts to now, not to its last heartbeat: the
  // silent one started 2 h ago and last reported 1 h ago.
  auto dead = nlohmann::json::parse(
      run(binary("fleetctl"), {"status", "--json", "--service", "dead-worker"}, worker_env(db))
          .out);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0]["state"] == "stale");
  CHECK(dead[0]["uptime_seconds"].get<double>() >= 2 * 3600 - 5);
}

TEST_CASE("fleetctl db connections shows who is connected", "[fleetctl][e2e]") {
  TestDatabase db;
  db.exec(
      "CREATE TABLE test_marks (id bigserial PRIMARY KEY, instance text NOT NULL, "
      "fenced boolean NOT NULL, at timestamptz NOT NULL DEFAULT now())");
  Process worker(binary("test-worker"), {"--interval", "0.3"}, worker_env(db));
  REQUIRE(eventually([&] { return db.count("test_marks") >= 1; }, seconds(10)));
  auto r = run(binary("fleetctl"), {"db", "connections"}, worker_env(db));
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("test-worker"));
  CHECK_THAT(r.out, Contains("max_connections"));
  auto j = run(binary("fleetctl"), {"db", "connections", "--json"}, worker_env(db));
  auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed["max_connections"].get<int>() > 0);
}

TEST_CASE("fleetctl logs tail prints and follows log files", "[fleetctl][e2e]") {
  const std::string dir = make_temp_dir("fleet-logs");
  write_file(dir + "/alert-evaluator.log", "a1\na2\na3\n");
  write_file(dir + "/status-poller.log", "s1\ns2\n");
  Process::Options env;
  env.env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none";  // not needed by logs
  auto r = run(binary("fleetctl"), {"logs", "tail", "-n", "2", "--dir", dir}, env);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("==> " + dir + "/alert-evaluator.log <==\na2\na3\n"));
  CHECK_THAT(r.out, Contains("s1\ns2\n"));
  r = run(binary("fleetctl"), {"logs", "tail", "-n", "1", "--dir", dir, "status-poller"}, env);
  CHECK(r.out == "s2\n");

  Process follow(binary("fleetctl"), {"logs", "tail", "-f", "-n", "0", "--dir", dir}, env);
  REQUIRE(eventually([&] { return follow.err().find("(following 2 files") != std::string::npos; },
                     seconds(10)));
  {
    std::ofstream out(dir + "/status-poller.log", std::ios::app);
    out << "s3 appended\n";
  }
  REQUIRE(eventually(
      [&] { return follow.out().find("[status-poller] s3 appended") != std::string::npos; },
      seconds(5)));
  follow.signal(SIGINT);
  CHECK(follow.wait(seconds(5)) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("fleetctl without a database or with bad usage says so", "[fleetctl][e2e]") {
  Process::Options none;
  none.unset_env = {"DATABASE_URL", "POSTGRES_SERVER", "POSTGRES_DB"};
  auto r = run(binary("fleetctl"), {"status"}, none);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("no database configured"));
  Process::Options unreachable;
  unreachable.env["DATABASE_URL"] =
      "postgresql://u:hunter2@127.0.0.1:" + std::to_string(free_port()) + "/x";
  r = run(binary("fleetctl"), {"status"}, unreachable);
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("cannot connect"));
  CHECK(r.err.find("hunter2") == std::string::npos);
  r = run(binary("fleetctl"), {"frobnicate"});
  CHECK(r.code == 2);
}

TEST_CASE("fleetctl migrate --create-database makes a missing database and migrates it",
          "[fleetctl][e2e]") {
  auto& server = shared_server();
  const std::string name = "created_" + std::to_string(getpid());
  Process::Options env;
  env.env["DATABASE_URL"] = server.url(name);
  auto r = run(binary("fleetctl"), {"migrate"}, env);
  CHECK(r.code == 1);  // without the flag a missing database is an error
  r = run(binary("fleetctl"), {"migrate", "--wait", "5", "--create-database"}, env);
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.err, Contains("created database " + name));
  CHECK_THAT(r.out, Contains("schema is now at version"));
  pqxx::connection admin(server.url());
  pqxx::nontransaction tx(admin);
  tx.exec("DROP DATABASE " + name + " WITH (FORCE)");
}
