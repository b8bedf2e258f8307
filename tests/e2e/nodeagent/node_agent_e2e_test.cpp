// The node-agent binary against a fake gateway (fake_gateway.h) and a real Podman.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "fake_gateway.h"
#include "podman.h"
#include "process.h"

using namespace fleet;
using namespace fleet::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string kCredential = "fwn_1_firstfirstfirstfirstfirstfirstfirstfirs";

struct AgentFiles {
  std::string dir = make_temp_dir("node-agent-e2e");
  ~AgentFiles() { std::filesystem::remove_all(dir); }
  std::string config(const std::string& gateway, const std::string& socket,
                     json extra = json::object()) const {
    json c = {{"gateway_url", gateway},    {"node_id", 1},
              {"credential", kCredential}, {"docker_socket", socket},
              {"heartbeat_interval_s", 1}, {"command_poll_s", 1}};
    for (auto& [k, v] : extra.items())
      c[k] = v;
    const std::string path = dir + "/node-agent.json";
    write_file(path, c.dump());
    return path;
  }
};

std::vector<json> parsed(const std::vector<std::string>& bodies) {
  std::vector<json> out;
  for (const auto& b : bodies)
    out.push_back(json::parse(b));
  return out;
}

}  // namespace

TEST_CASE(
    "node-agent sends heartbeats with real load and containers, probes answer, SIGTERM exits 0") {
  auto node = PodmanService::start();
  REQUIRE(node->podman({"run", "-d", "--name", "idle", "--ulimit", "nofile=1024:1024", "--ulimit",
                        "nproc=1000:1000", PodmanService::kImage, "/bin/busybox", "sleep", "600"})
              .code == 0);
  FakeGateway gw(free_port());
  AgentFiles files;
  const int health = free_port();
  Process agent(binary("node-agent"), {"--config", files.config(gw.url(), node->socket()),
                                       "--health-port", std::to_string(health)});
  REQUIRE(eventually([&] { return gw.heartbeats().size() >= 2; }, 20s));
  auto beats = parsed(gw.heartbeats());
  const json& hb = beats.back();
  CHECK(hb["seq"].get<int>() > beats.front()["seq"].get<int>());
  CHECK(hb["cpu_percent"].get<double>() >= 0);
  CHECK(hb["cpu_percent"].get<double>() <= 100);
  // Real figures: a host has some memory and disk in use.
  CHECK(hb["memory_percent"].get<double>() > 0);
  CHECK(hb["disk_percent"].get<double>() > 0);
  CHECK(hb["containers"] == 1);
  CHECK(hb["containers_running"] == 1);
  REQUIRE(hb["container_list"].size() == 1);
  CHECK(hb["container_list"][0]["name"] == "idle");
  CHECK(hb["sent_at"].get<std::string>().back() == 'Z');
  CHECK(gw.authorizations().front() == "Bearer " + kCredential);

  CHECK(eventually([&] { return http_get(health, "/ready").status == 200; }, 10s));
  CHECK(http_get(health, "/health").status == 200);
  auto metrics = http_get(health, "/metrics");
  CHECK(metrics.body.find(
            "fleet_node_agent_heartbeats_total{service=\"node-agent\",result=\"accepted\"}") !=
        std::string::npos);
  CHECK(metrics.body.find("fleet_node_agent_docker_up{service=\"node-agent\"} 1") !=
        std::string::npos);
  // The credential never reaches the logs.
  CHECK(agent.err().find(kCredential) == std::string::npos);

  agent.signal(SIGTERM);
  auto rc = agent.wait(20s);
  REQUIRE(rc);
  CHECK(*rc == 0);
}

TEST_CASE(
    "node-agent --once sends one heartbeat, --dry-run sends nothing, --config-check reaches "
    "Docker") {
  auto node = PodmanService::start();
  FakeGateway gw(free_port());
  AgentFiles files;
  const std::string config = files.config(gw.url(), node->socket());

  auto dry = run(binary("node-agent"), {"--config", config, "--dry-run"});
  CHECK(dry.code == 0);
  CHECK(gw.heartbeats().empty());
  CHECK(gw.command_polls() == 0);
  CHECK(gw.authorizations().empty());
  auto first = json::parse(dry.out.substr(0, dry.out.find('\n')));
  CHECK(first["type"] == "heartbeat");
  CHECK(first["body"]["containers"] == 0);
  CHECK(first["would_post"] == gw.url() + "/api/nodes/1/heartbeat");
  CHECK(dry.out.find("\"type\":\"summary\"") != std::string::npos);

  auto once = run(binary("node-agent"), {"--config", config, "--once"});
  CHECK(once.code == 0);
  CHECK(gw.heartbeats().size() == 1);

  CHECK(run(binary("node-agent"), {"--config", config, "--config-check"}).code == 0);
  const std::string broken = files.config(gw.url(), files.dir + "/no-docker.sock");
  auto unreachable = run(binary("node-agent"), {"--config", broken, "--config-check"});
  CHECK(unreachable.code == 1);
  CHECK(unreachable.err.find("does not answer") != std::string::npos);
  write_file(files.dir + "/bad.json", R"({"heartbeat_intervall_s": 5})");
  auto bad = run(binary("node-agent"), {"--config", files.dir + "/bad.json", "--config-check"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("heartbeat_intervall_s") != std::string::npos);
}

TEST_CASE("node-agent: gateway down -> retries with backoff, then delivers the newest state") {
  AgentFiles files;
  const int port = free_port();
  // Docker is away too: heartbeats still go out, without containers.
  Process agent(binary("node-agent"),
                {"--config", files.config("http://127.0.0.1:" + std::to_string(port),
                                          files.dir + "/none.sock")});
  REQUIRE(eventually([&] { return agent.err().find("retrying in") != std::string::npos; }, 20s));
  // Let a newer heartbeat replace the unsent one.
  REQUIRE(eventually(
      [&] { return agent.err().find("replaces the unsent heartbeat") != std::string::npos; }, 20s));
  FakeGateway gw(port);
  REQUIRE(eventually([&] { return !gw.heartbeats().empty(); }, 20s));
  auto first = json::parse(gw.heartbeats().front());
  // The first heartbeat delivered is not the stale first one: it was replaced while away.
  CHECK(first["seq"].get<int>() > 1);
  CHECK(first["containers"] == 0);
  CHECK(eventually([&] { return agent.err().find("the gateway is back") != std::string::npos; },
                   10s));
  agent.signal(SIGTERM);
  auto rc = agent.wait(20s);
  REQUIRE(rc);
  CHECK(*rc == 0);
}

TEST_CASE("node-agent: a 401 is logged as a revoked credential, /ready fails, no retry storm") {
  FakeGateway gw(free_port());
  gw.set_reject_all(true);
  AgentFiles files;
  const int health = free_port();
  Process agent(binary("node-agent"),
                {"--config",
                 files.config(gw.url(), files.dir + "/none.sock", {{"unauthorized_retry_s", 3600}}),
                 "--health-port", std::to_string(health)});
  REQUIRE(eventually(
      [&] { return agent.err().find("credential revoked or invalid") != std::string::npos; }, 20s));
  auto ready = http_get(health, "/ready");
  CHECK(ready.status == 503);
  CHECK(ready.body.find("credential revoked or invalid") != std::string::npos);
  // Heartbeats are due every second; after a 401 the agent waits unauthorized_retry_s.
  std::this_thread::sleep_for(3s);
  CHECK(gw.authorizations().size() == 1);
  agent.signal(SIGTERM);
  auto rc = agent.wait(20s);
  REQUIRE(rc);
  CHECK(*rc == 0);
}

TEST_CASE("node-agent carries out container_start: a real container runs, the result is posted") {
  auto node = PodmanService::start();
  FakeGateway gw(free_port());
  AgentFiles files;
  const int app_port = free_port();
  json params = {
      {"name", "web"},
      {"image", PodmanService::kImage},
      {"cmd", {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"}},
      {"ports", {{{"container_port", 8080}, {"host_port", app_port}, {"host_ip", "127.0.0.1"}}}},
      {"deployment_id", 3}};
  gw.add_command(41, "container_start", params.dump());
  gw.add_command(42, "reboot", "{}");
  gw.add_command(43, "format_disk", "{}");
  Process agent(binary("node-agent"), {"--config", files.config(gw.url(), node->socket())});
  REQUIRE(eventually([&] { return gw.results().size() >= 3; }, 40s));
  auto results = gw.results();
  auto result_of = [&](const std::string& id) {
    for (const auto& r : results)
      if (r.rfind(id + " ", 0) == 0) return json::parse(r.substr(id.size() + 1));
    return json();
  };
  json started = result_of("41");
  INFO(started.dump());
  CHECK(started["ok"] == true);
  CHECK(started["result"]["state"] == "running");
  CHECK(http_get(app_port, "/hostname").status == 200);
  auto inspected = json::parse(node->get("/v1.41/containers/web/json").body);
  CHECK(inspected["State"]["Running"] == true);
  CHECK(inspected["Config"]["Labels"]["fleetward.deployment"] == "3");

  json reboot = result_of("42");
  CHECK(reboot["ok"] == false);
  CHECK(reboot["error"].get<std::string>().find("allow_host_power") != std::string::npos);
  json unknown = result_of("43");
  CHECK(unknown["ok"] == false);
  CHECK(unknown["error"].get<std::string>().find("unknown action 'format_disk'") !=
        std::string::npos);

  // The next heartbeats list the new container.
  CHECK(eventually(
      [&] {
        auto b = json::parse(gw.heartbeats().back());
        return b["containers_running"] == 1 && b["container_list"][0]["name"] == "web";
      },
      20s));
  agent.signal(SIGTERM);
  REQUIRE(agent.wait(30s));
}

TEST_CASE(
    "node-agent register writes its config with mode 0600 and rotate replaces the credential") {
  auto node = PodmanService::start();
  FakeGateway gw(free_port());
  AgentFiles files;
  const std::string path = files.dir + "/agent.json";
  auto refused = run(binary("node-agent"),
                     {"register", "--gateway", gw.url(), "--token", "fwr_badtoken1234_nope",
                      "--config", path, "--set", "docker_socket=" + node->socket()});
  CHECK(refused.code == 2);
  CHECK(refused.err.find("invalid registration token") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(path));

  auto reg = run(binary("node-agent"),
                 {"register", "--gateway", gw.url(), "--token", "fwr_goodtoken123_secret",
                  "--config", path, "--set", "docker_socket=" + node->socket()});
  INFO(reg.err);
  REQUIRE(reg.code == 0);
  json sent = json::parse(gw.last_registration());
  CHECK(sent["engine"] == "podman");
  CHECK(sent["capacity"]["cpu_cores"].get<int>() > 0);
  CHECK(sent["capacity"]["memory_mb"].get<int>() > 0);
  CHECK_FALSE(sent["hostname"].get<std::string>().empty());
  CHECK_FALSE(sent["kernel"].get<std::string>().empty());
  json saved = json::parse(read_file(path));
  CHECK(saved["node_id"] == 1);
  CHECK(saved["credential"] == kCredential);
  CHECK(saved["gateway_url"] == gw.url());
  CHECK(saved["docker_socket"] == node->socket());
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(reg.err.find(kCredential) == std::string::npos);
  CHECK(reg.out.find(kCredential) == std::string::npos);

  // The written file is a working configuration.
  CHECK(run(binary("node-agent"), {"--config", path, "--once"}).code == 0);

  // The host as registered is what the agent reports later (its facts at every start).
  CHECK_FALSE(saved.contains("hostname"));
  auto again = run(binary("node-agent"),
                   {"register", "--gateway", gw.url(), "--token", "fwr_goodtoken123_secret",
                    "--config", path, "--set", "docker_socket=" + node->socket(), "--set",
                    "hostname=edge-7", "--set", "addresses=127.63.0.7, ::1"});
  REQUIRE(again.code == 0);
  const json named = json::parse(read_file(path));
  CHECK(named["hostname"] == "edge-7");
  CHECK(named["addresses"] == "127.63.0.7, ::1");
  CHECK_FALSE(named.contains("machine_id"));
  CHECK(json::parse(gw.last_registration())["addresses"] == json({"127.63.0.7", "::1"}));

  const std::string rotated = "fwn_1_secondsecondsecondsecondsecondsecondsec";
  gw.set_rotated_credential(rotated);
  auto rot = run(binary("node-agent"), {"rotate", "--config", path});
  REQUIRE(rot.code == 0);
  CHECK(json::parse(read_file(path))["credential"] == rotated);
  CHECK(rot.err.find(rotated) == std::string::npos);
  CHECK(run(binary("node-agent"), {"--config", path, "--once"}).code == 0);
  CHECK(gw.authorizations().back() == "Bearer " + rotated);
}

// A command that takes long (a container that ignores SIGTERM waited out by container_stop) runs
// beside the heartbeats: they keep arriving, so the node is not declared offline meanwhile.
TEST_CASE("node-agent keeps heartbeating while a slow command runs") {
  auto node = PodmanService::start();
  FakeGateway gw(free_port());
  AgentFiles files;
  // busybox sleep as PID 1 ignores SIGTERM: the stop waits out its whole timeout.
  gw.add_command(51, "container_start",
                 json({{"name", "stubborn"},
                       {"image", PodmanService::kImage},
                       {"cmd", {"/bin/busybox", "sleep", "300"}}})
                     .dump());
  Process agent(binary("node-agent"), {"--config", files.config(gw.url(), node->socket())});
  REQUIRE(eventually([&] { return gw.results().size() >= 1; }, 40s));
  REQUIRE(json::parse(gw.results()[0].substr(3))["ok"] == true);

  constexpr int kStopSeconds = 8;
  const auto before = gw.heartbeats().size();
  const auto started = std::chrono::steady_clock::now();
  gw.add_command(52, "container_stop",
                 json({{"name", "stubborn"}, {"timeout_s", kStopSeconds}}).dump());
  REQUIRE(eventually([&] { return gw.results().size() >= 2; }, 40s));
  const auto during = gw.heartbeats().size() - before;
  const auto took = std::chrono::steady_clock::now() - started;
  INFO("heartbeats while the stop ran: " << during);
  CHECK(json::parse(gw.results()[1].substr(3))["ok"] == true);
  // The stop really took its timeout (else this test proves nothing) ...
  REQUIRE(took >= std::chrono::seconds(kStopSeconds - 1));
  // ... and the 1 s heartbeats went on meanwhile (a blocked agent sends at most 2: one before the
  // claim, one after the result).
  CHECK(during >= 4);
  agent.signal(SIGTERM);
  REQUIRE(agent.wait(30s));
}
