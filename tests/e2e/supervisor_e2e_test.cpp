// fleetctl up / watch / restart: the local supervisor (seed 004's service monitor).
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using std::chrono::seconds;

namespace {

bool alive(int pid) {
  return pid > 0 && kill(pid, 0) == 0;
}

int pid_of(const std::string& dir, const std::string& name) {
  std::string text = read_file(dir + "/run/" + name + ".pid");
  return text.empty() ? -1 : std::stoi(text);
}

std::string state_of(const std::string& dir, const std::string& name) {
  auto text = read_file(dir + "/run/status.json");
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j["services"].contains(name)) return "";
  return j["services"][name]["state"];
}

}  // namespace

TEST_CASE("fleetctl up runs, logs, restarts and stops services", "[supervisor][e2e]") {
  const std::string dir = make_temp_dir("fleet-up");
  const int health = free_port();
  write_file(dir + "/services.json", R"({
    "log_dir": "logs", "run_dir": "run",
    "services": [
      {"name": "setup", "command": ["/bin/sh", "-c", "echo prepared > prepared.txt"], "oneshot": true},
      {"name": "ticker", "command": ["/bin/sh", "-c", "echo started; while true; do echo tick; sleep 0.2; done"],
       "depends_on": ["setup"]},
      {"name": "probe", "command": [")" + binary("test-worker") +
                                         R"(", "--health-port", "${HEALTH}"],
       "env": {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
       "port": )" + std::to_string(health) +
                                         R"(, "health_url": "http://127.0.0.1:${HEALTH}/health"},
      {"name": "broken", "command": ["/bin/sh", "-c", "echo bad config >&2; exit 2"]}
    ]})");
  Process::Options env;
  env.env["HEALTH"] = std::to_string(health);
  Process up(binary("fleetctl"),
             {"up", "--services", dir + "/services.json", "--status-every", "0"}, env);

  REQUIRE(eventually([&] { return alive(pid_of(dir, "ticker")) && alive(pid_of(dir, "probe")); },
                     seconds(10)));
  CHECK(read_file(dir + "/prepared.txt") == "prepared\n");  // the oneshot ran before its dependent
  REQUIRE(eventually(
      [&] { return read_file(dir + "/logs/ticker.log").find("tick\ntick") != std::string::npos; },
      seconds(5)));
  CHECK_THAT(read_file(dir + "/logs/ticker.log"), Contains("started"));
  // Exit code 2 is never restarted.
  REQUIRE(eventually([&] { return state_of(dir, "broken") == "failed"; }, seconds(5)));
  CHECK_THAT(read_file(dir + "/logs/broken.log"), Contains("bad config"));

  // A crash is restarted with a new pid.
  const int first = pid_of(dir, "ticker");
  kill(-first, SIGKILL);
  REQUIRE(eventually(
      [&] {
        int p = pid_of(dir, "ticker");
        return p > 0 && p != first && alive(p);
      },
      seconds(10)));

  // watch shows each service; the probe's health endpoint answers.
  auto watch =
      run(binary("fleetctl"), {"watch", "--once", "--services", dir + "/services.json"}, env);
  CHECK(watch.code == 0);
  CHECK_THAT(watch.out, Contains("ticker"));
  CHECK_THAT(watch.out, Contains("healthy"));
  CHECK_THAT(watch.out, Contains("failed"));

  // restart by name gives a new process.
  const int before = pid_of(dir, "probe");
  auto restart =
      run(binary("fleetctl"), {"restart", "--services", dir + "/services.json", "probe"}, env);
  CHECK(restart.code == 0);
  REQUIRE(eventually(
      [&] {
        int p = pid_of(dir, "probe");
        return p > 0 && p != before && alive(p);
      },
      seconds(15)));

  // A second supervisor for the same services is refused.
  auto second =
      run(binary("fleetctl"), {"up", "--services", dir + "/services.json"}, env, seconds(10));
  CHECK(second.code == 1);
  CHECK_THAT(second.out, Contains("another supervisor"));

  // Ctrl-C stops every process group and exits 0.
  const int ticker = pid_of(dir, "ticker");
  const int probe = pid_of(dir, "probe");
  up.signal(SIGINT);
  auto code = up.wait(seconds(15));
  REQUIRE(code);
  CHECK(*code == 0);
  CHECK_FALSE(alive(ticker));
  CHECK_FALSE(alive(probe));
  CHECK_THAT(up.out(), Contains("all services stopped"));
  CHECK_FALSE(std::filesystem::exists(dir + "/run/ticker.pid"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("fleetctl up does not start a service whose port is taken", "[supervisor][e2e]") {
  const std::string dir = make_temp_dir("fleet-up-port");
  const int port = free_port();
  // Something else holds the port.
  Process squatter(binary("test-worker"), {"--health-port", std::to_string(port)},
                   {.env = {{"DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none"}}});
  REQUIRE(eventually([&] { return http_get(port, "/health").status == 200; }, seconds(10)));
  write_file(dir + "/services.json", R"({"services": [
      {"name": "web", "command": ["/bin/sleep", "100"], "port": )" +
                                         std::to_string(port) + R"(}]})");
  Process up(binary("fleetctl"),
             {"up", "--services", dir + "/services.json", "--status-every", "0"});
  REQUIRE(eventually(
      [&] {
        return up.out().find("port " + std::to_string(port) + " is in use") != std::string::npos;
      },
      seconds(5)));
  CHECK(pid_of(dir, "web") == -1);
  up.signal(SIGTERM);
  CHECK(up.wait(seconds(10)) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("fleetctl restart without a supervisor says so", "[supervisor][e2e]") {
  const std::string dir = make_temp_dir("fleet-nosup");
  write_file(dir + "/services.json", R"({"services": [{"name": "a", "command": ["/bin/true"]}]})");
  auto r = run(binary("fleetctl"), {"restart", "--services", dir + "/services.json", "a"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Contains("no supervisor is running"));
  auto bad = run(binary("fleetctl"), {"up", "--services", dir + "/missing.json"});
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Contains("cannot be read"));
  std::filesystem::remove_all(dir);
}
