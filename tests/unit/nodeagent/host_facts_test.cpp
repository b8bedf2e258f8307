#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "nodeagent/gateway.h"
#include "nodeagent/host_facts.h"
#include "process.h"

using namespace fleet;
using namespace fleet::nodeagent;

namespace {
const char* kStat =
    "cpu  100 10 50 800 40 5 5 0 7 0\n"
    "cpu0 50 5 25 400 20 2 3 0 0 0\n"
    "cpu1 50 5 25 400 20 3 2 0 0 0\n"
    "intr 12345\nctxt 999\n";
const char* kMeminfo =
    "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n";
}  // namespace

TEST_CASE("proc/stat: the aggregate cpu line gives busy and total ticks") {
  auto t = parse_proc_stat(kStat);
  REQUIRE(t.ok());
  // user nice system idle iowait irq softirq steal; guest (7) is already inside user.
  CHECK(t->total == 100 + 10 + 50 + 800 + 40 + 5 + 5 + 0);
  CHECK(t->busy == 100 + 10 + 50 + 5 + 5);
  CHECK(count_cpu_lines(kStat) == 2);
}

TEST_CASE("proc/stat: malformed text is a clear error, not a crash") {
  CHECK(parse_proc_stat("").error().message().find("no aggregate 'cpu' line") != std::string::npos);
  CHECK(parse_proc_stat("cpu 1 2\n").error().message().find("fewer than 4") != std::string::npos);
  auto bad = parse_proc_stat("cpu 1 2 x 4 5\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message().find("counter 3 is not a number") != std::string::npos);
  CHECK_FALSE(parse_proc_stat("cpu 1 2 3 -4\n").ok());
  CHECK_FALSE(parse_proc_stat("cpu 1 2 3 99999999999999999999999\n").ok());
}

TEST_CASE("cpu percent is the busy share between two samples") {
  CpuTimes a{.busy = 100, .total = 1000};
  CpuTimes b{.busy = 175, .total = 1100};
  REQUIRE(cpu_percent_between(a, b));
  CHECK(*cpu_percent_between(a, b) == Approx(75.0));
  CHECK_FALSE(cpu_percent_between(a, a));  // no time passed
  CHECK_FALSE(cpu_percent_between(b, a));  // counters went back (another boot)
}

TEST_CASE("meminfo: MemAvailable against MemTotal") {
  auto m = parse_meminfo(kMeminfo);
  REQUIRE(m.ok());
  CHECK(m->total_kb == 16000000);
  CHECK(m->available_kb == 4000000);
  CHECK(memory_percent(*m) == Approx(75.0));
}

TEST_CASE("meminfo: missing or malformed fields are named") {
  CHECK(parse_meminfo("MemTotal: 100 kB\n").error().message().find("no MemAvailable") !=
        std::string::npos);
  CHECK(parse_meminfo("MemAvailable: 100 kB\n").error().message().find("no MemTotal") !=
        std::string::npos);
  CHECK(parse_meminfo("MemTotal: lots\nMemAvailable: 1 kB\n")
            .error()
            .message()
            .find("MemTotal is not a number") != std::string::npos);
  CHECK(parse_meminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n").error().message().find("is 0") !=
        std::string::npos);
  CHECK(parse_meminfo("MemTotal: 10 kB\nMemAvailable: 20 kB\n").error().message().find("exceeds") !=
        std::string::npos);
}

TEST_CASE("os-release: PRETTY_NAME unquoted, NAME as a fallback") {
  CHECK(parse_os_release(
            "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n") ==
        "Debian GNU/Linux 12 (bookworm)");
  CHECK(parse_os_release("NAME='Alpine Linux'\n") == "Alpine Linux");
  CHECK(parse_os_release("garbage without equals\n") == "");
}

TEST_CASE("collectors read the files under proc_root (fixture files)") {
  const std::string dir = test::make_temp_dir("nodeagent-proc");
  test::write_file(dir + "/stat", kStat);
  test::write_file(dir + "/meminfo", kMeminfo);
  auto facts = collect_host_facts({.proc_root = dir, .disk_path = "/"});
  REQUIRE(facts.ok());
  CHECK(facts->cpu_cores == 2);
  CHECK(facts->memory_mb == 16000000 / 1024);
  CHECK_FALSE(facts->hostname.empty());
  CHECK_FALSE(facts->kernel.empty());

  LoadSampler sampler({.proc_root = dir, .disk_path = "/"}, 0);
  auto first = sampler.sample();
  REQUIRE(first.ok());
  CHECK(first->memory_percent == Approx(75.0));
  // The host moved on: 300 busy ticks out of 400.
  test::write_file(dir + "/stat", "cpu 300 10 50 900 40 5 5 0\n");
  auto second = sampler.sample();
  REQUIRE(second.ok());
  CHECK(second->cpu_percent == Approx(100.0 * 200 / 300));
  CHECK(second->disk_percent >= 0);
  CHECK(second->disk_percent <= 100);

  test::write_file(dir + "/meminfo", "nonsense\n");
  auto broken = sampler.sample();
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().message().find("MemTotal") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a missing proc_root or disk path is an error naming it") {
  auto facts = collect_host_facts({.proc_root = "/nonexistent-proc"});
  REQUIRE_FALSE(facts.ok());
  CHECK(facts.error().message().find("/nonexistent-proc/stat") != std::string::npos);
  auto disk = disk_usage("/nonexistent-disk");
  REQUIRE_FALSE(disk.ok());
  CHECK(disk.error().message().find("/nonexistent-disk") != std::string::npos);
}

TEST_CASE("loopback addresses are left out unless asked for") {
  auto without = host_addresses(false);
  CHECK(std::find(without.begin(), without.end(), "127.0.0.1") == without.end());
  auto with = host_addresses(true);
  CHECK(std::find(with.begin(), with.end(), "127.0.0.1") != with.end());
}

TEST_CASE("facts_body is registration's body without the token and the machine id") {
  HostFacts f;
  f.hostname = "host-a";
  f.machine_id = std::string(32, 'a');
  f.addresses = {"10.0.0.5", "fe80::1"};
  f.cpu_cores = 8;
  f.memory_mb = 32768;
  f.disk_gb = 500;
  f.os = "Debian GNU/Linux 12 (bookworm)";
  f.kernel = "6.1.0-13-amd64";
  const EngineFacts e{.engine = "podman", .engine_version = "4.3.1", .agent_version = "1.2.3"};
  const auto body = nlohmann::json::parse(facts_body(f, e));
  CHECK_FALSE(body.contains("token"));
  CHECK_FALSE(body.contains("machine_id"));
  CHECK(body["addresses"] == nlohmann::json({"10.0.0.5", "fe80::1"}));
  CHECK(body["capacity"]["memory_mb"] == 32768);
  CHECK(body["engine_version"] == "4.3.1");
  const auto reg = nlohmann::json::parse(registration_body("fwr_t", f, e));
  CHECK(reg["token"] == "fwr_t");
  CHECK(reg["machine_id"] == std::string(32, 'a'));
  auto without = reg;
  without.erase("token");
  without.erase("machine_id");
  CHECK(without == body);
}

TEST_CASE("changed_facts names what differs, nothing when the same") {
  HostFacts a;
  a.hostname = "h";
  a.addresses = {"10.0.0.5"};
  a.cpu_cores = 4;
  a.memory_mb = 8192;
  a.disk_gb = 100;
  const EngineFacts e{.engine = "docker", .engine_version = "24.0", .agent_version = "1"};
  CHECK(changed_facts(a, e, a, e).empty());
  HostFacts b = a;
  b.addresses = {"10.0.0.6"};
  b.memory_mb = 16384;
  EngineFacts e2 = e;
  e2.engine_version = "25.0";
  CHECK(changed_facts(a, e, b, e2) ==
        std::vector<std::string>{"addresses", "memory_mb", "engine_version"});
  b = a;
  b.machine_id = "other";  // not a fact that is reported again
  CHECK(changed_facts(a, e, b, e).empty());
}
