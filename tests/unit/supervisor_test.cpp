#include <catch2/catch.hpp>

#include <filesystem>

#include "process.h"
#include "rotating_log.h"
#include "services_file.h"
#include "supervisor.h"

using namespace fleet;
using namespace fleet::cli;
using Catch::Matchers::Contains;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {
ServiceSpec spec_with(RestartPolicy policy, bool oneshot = false) {
  ServiceSpec s;
  s.name = "svc";
  s.restart = policy;
  s.oneshot = oneshot;
  return s;
}
const auto t0 = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
}  // namespace

TEST_CASE("on-failure restarts failures with doubling delays and gives up after five in a minute",
          "[supervisor]") {
  RestartTracker t;
  auto spec = spec_with(RestartPolicy::kOnFailure);
  auto d = t.on_exit(spec, 1, 0, t0, milliseconds(100));
  CHECK(d.restart);
  CHECK(d.delay == milliseconds(1000));
  CHECK(t.on_exit(spec, 1, 0, t0 + seconds(2), milliseconds(100)).delay == milliseconds(2000));
  CHECK(t.on_exit(spec, 0, 9, t0 + seconds(5), milliseconds(100)).delay ==
        milliseconds(4000));  // SIGKILL
  CHECK(t.on_exit(spec, 1, 0, t0 + seconds(10), milliseconds(100)).delay == milliseconds(8000));
  auto fifth = t.on_exit(spec, 1, 0, t0 + seconds(20), milliseconds(100));
  CHECK_FALSE(fifth.restart);
  CHECK(fifth.failed);
  CHECK_THAT(fifth.reason, Contains("giving up"));
  CHECK(t.restarts() == 4);
}

TEST_CASE("a clean exit is not restarted under on-failure but is under always", "[supervisor]") {
  RestartTracker t;
  auto d = t.on_exit(spec_with(RestartPolicy::kOnFailure), 0, 0, t0, seconds(5));
  CHECK_FALSE(d.restart);
  CHECK_FALSE(d.failed);
  CHECK(t.on_exit(spec_with(RestartPolicy::kAlways), 0, 0, t0, seconds(5)).restart);
  auto never = t.on_exit(spec_with(RestartPolicy::kNever), 3, 0, t0, seconds(5));
  CHECK_FALSE(never.restart);
  CHECK(never.failed);
}

TEST_CASE("exit code 2 (configuration invalid) is never retried", "[supervisor]") {
  RestartTracker t;
  auto d = t.on_exit(spec_with(RestartPolicy::kAlways), 2, 0, t0, seconds(1));
  CHECK_FALSE(d.restart);
  CHECK(d.failed);
  CHECK_THAT(d.reason, Contains("configuration or schema invalid"));
}

TEST_CASE("a oneshot that succeeds is finished, a long run forgets old failures", "[supervisor]") {
  RestartTracker t;
  auto done = t.on_exit(spec_with(RestartPolicy::kNever, true), 0, 0, t0, seconds(1));
  CHECK_FALSE(done.restart);
  CHECK_FALSE(done.failed);
  CHECK(done.reason == "finished");
  RestartTracker u;
  auto spec = spec_with(RestartPolicy::kOnFailure);
  for (int i = 0; i < 4; ++i)
    u.on_exit(spec, 1, 0, t0 + seconds(i), milliseconds(10));
  auto after_long_run = u.on_exit(spec, 1, 0, t0 + seconds(200), std::chrono::minutes(3));
  CHECK(after_long_run.restart);
  CHECK(after_long_run.delay == milliseconds(1000));
}

TEST_CASE("services files are validated and ordered by dependency", "[supervisor]") {
  const std::string dir = test::make_temp_dir("fleet-services");
  auto load = [&](const std::string& text) {
    test::write_file(dir + "/services.json", text);
    return load_services(dir + "/services.json", {{"PORT", "9105"}, {"DB", "postgresql://x"}});
  };
  auto ok = load(R"({"log_dir": "logs", "services": [
      {"name": "worker", "command": ["bin/worker", "--health-port", "${PORT}"], "depends_on": ["migrate"],
       "health_url": "http://127.0.0.1:${PORT}/health", "env": {"DATABASE_URL": "${DB}"}},
      {"name": "migrate", "command": ["fleetctl", "migrate"], "oneshot": true}]})");
  REQUIRE(ok.ok());
  REQUIRE(ok->services.size() == 2);
  CHECK(ok->services[0].name == "migrate");  // dependencies first
  CHECK(ok->services[0].restart == RestartPolicy::kNever);
  CHECK(ok->services[1].command[0] == dir + "/bin/worker");
  CHECK(ok->services[1].command[2] == "9105");
  CHECK(ok->services[1].env.at("DATABASE_URL") == "postgresql://x");
  CHECK(ok->log_dir == dir + "/logs");
  CHECK(ok->services[0].command[0] == "fleetctl");  // looked up in PATH

  struct Case {
    const char* text;
    const char* error;
  } bad[] = {
      {R"({"services": []})", "non-empty array"},
      {R"({"services": [{"name": "a"}]})", "'command' must be a non-empty array"},
      {R"({"services": [{"name": "A b", "command": ["x"]}]})", "lower-case"},
      {R"({"services": [{"name": "a", "command": ["x"], "prot": 1}]})",
       "unknown key 'prot' (did you mean 'port'?)"},
      {R"({"services": [{"name": "a", "command": ["x"], "port": 70000}]})",
       "'port' must be an integer 1..65535"},
      {R"({"services": [{"name": "a", "command": ["x"], "depends_on": ["b"]}]})",
       "unknown service 'b'"},
      {R"({"services": [{"name": "a", "command": ["x"], "depends_on": ["b"]},
                        {"name": "b", "command": ["x"], "depends_on": ["a"]}]})",
       "cycle"},
      {R"({"services": [{"name": "a", "command": ["${NOPE}"]}]})", "${NOPE} is not set"},
      {R"({"services": [{"name": "a", "command": ["x"]}, {"name": "a", "command": ["y"]}]})",
       "two services are named 'a'"},
      {R"({"services": [{"name": "a", "command": ["x"], "restart": "sometimes"}]})",
       "'restart' must be"},
      {R"([1])", "not a JSON object"},
  };
  for (const auto& c : bad) {
    INFO(c.text);
    auto r = load(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), Contains(c.error));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("rotating logs keep at most max_files old files", "[supervisor]") {
  const std::string dir = test::make_temp_dir("fleet-rotate");
  {
    RotatingLog log(dir + "/w.log", 100, 2);
    for (int i = 0; i < 10; ++i) {
      std::string line(60, static_cast<char>('a' + i));
      line.push_back('\n');
      log.write(line);
    }
  }
  CHECK(std::filesystem::exists(dir + "/w.log"));
  CHECK(std::filesystem::exists(dir + "/w.log.1"));
  CHECK(std::filesystem::exists(dir + "/w.log.2"));
  CHECK_FALSE(std::filesystem::exists(dir + "/w.log.3"));
  CHECK(test::read_file(dir + "/w.log").front() == 'j');  // the newest line
  CHECK(test::read_file(dir + "/w.log.1").front() == 'i');
  CHECK(std::filesystem::file_size(dir + "/w.log") <= 100);
  std::filesystem::remove_all(dir);
}
