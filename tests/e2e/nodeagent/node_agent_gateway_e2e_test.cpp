// The node-agent binary against the real api-gateway and PostgreSQL, with a real Podman as the
// node's container engine: registration with a token inserted in the database, heartbeats landing
// in the nodes table, an agent command carried out and its result stored.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "nodes_ingest/node_agent_fixture.h"
#include "podman.h"

using namespace fleet;
using namespace fleet::test;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_CASE("node-agent registers with the real gateway, heartbeats land, a command runs",
          "[nodes][e2e]") {
  GatewayFixture gw;
  auto podman = PodmanService::start();
  const std::string dir = make_temp_dir("node-agent-gw");
  const std::string config = dir + "/node-agent.json";
  const std::string token = insert_registration_token(gw.db);
  const std::string url = "http://127.0.0.1:" + std::to_string(gw.port);

  auto reg = run(binary("node-agent"), {"register", "--gateway", url, "--token", token, "--config",
                                        config, "--set", "docker_socket=" + podman->socket()});
  INFO(reg.err);
  REQUIRE(reg.code == 0);
  const std::string node_id = std::to_string(json::parse(read_file(config))["node_id"].get<int>());
  CHECK(gw.db.scalar("SELECT concat_ws(' ', w.kind, w.status, n.engine, n.cpu_cores > 0, "
                     "n.memory_mb > 0) FROM workers w JOIN nodes n ON n.worker_id = w.id "
                     "WHERE w.id = " +
                     node_id) == "node pending podman t t");
  // A used-up token is refused: exit 2, the config untouched.
  const std::string before = read_file(config);
  CHECK(run(binary("node-agent"), {"register", "--gateway", url, "--token", token, "--config",
                                   config, "--set", "docker_socket=" + podman->socket()})
            .code == 2);
  CHECK(read_file(config) == before);

  const int app_port = free_port();
  json params = {
      {"name", "web"},
      {"image", PodmanService::kImage},
      {"cmd", {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"}},
      {"ports", {{{"container_port", 8080}, {"host_port", app_port}, {"host_ip", "127.0.0.1"}}}}};
  const std::string command = gw.db.scalar(
      "INSERT INTO commands (worker_id, action, params, channel, origin, requested_by, "
      "idempotency_key) VALUES (" +
      node_id + ", 'container_start', '" + params.dump() +
      "', 'agent', 'user', 'test', 'agent-e2e') RETURNING id");

  Process agent(binary("node-agent"), {"--config", config, "--set", "heartbeat_interval_s=1",
                                       "--set", "command_poll_s=1"});
  REQUIRE(eventually(
      [&] {
        return gw.db.scalar("SELECT count(*) FROM nodes WHERE worker_id = " + node_id +
                            " AND last_heartbeat_at IS NOT NULL AND memory_percent > 0") == "1";
      },
      30s));
  CHECK(eventually(
      [&] {
        return gw.db.scalar("SELECT state FROM commands WHERE id = " + command) == "succeeded";
      },
      40s));
  CHECK(gw.db.scalar("SELECT result->>'state' FROM commands WHERE id = " + command) == "running");
  CHECK(http_get(app_port, "/hostname").status == 200);
  // The container shows in the node's list after the next heartbeats.
  CHECK(eventually(
      [&] {
        return gw.db.scalar(
                   "SELECT concat_ws(' ', containers_running, container_list->0->>'name') "
                   "FROM nodes WHERE worker_id = " +
                   node_id) == "1 web";
      },
      20s));
  agent.signal(SIGTERM);
  auto rc = agent.wait(20s);
  REQUIRE(rc);
  CHECK(*rc == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("node-agent reports its host facts at start and again when they change", "[nodes][e2e]") {
  GatewayFixture gw;
  const std::string dir = make_temp_dir("node-agent-facts");
  const std::string proc = dir + "/proc";
  std::filesystem::create_directories(proc);
  write_file(proc + "/stat", read_file("/proc/stat"));
  auto meminfo = [&](int total_mb) {
    write_file(proc + "/meminfo.new", "MemTotal:       " + std::to_string(total_mb * 1024) +
                                          " kB\nMemAvailable:   " + std::to_string(total_mb * 512) +
                                          " kB\n");
    std::filesystem::rename(proc + "/meminfo.new", proc + "/meminfo");
  };
  meminfo(8192);
  const std::string config = dir + "/node-agent.json";
  const std::string url = "http://127.0.0.1:" + std::to_string(gw.port);
  // No container engine here: the facts are the host's.
  const std::vector<std::string> common = {"--set", "proc_root=" + proc,
                                           "--set", "addresses=127.62.0.1",
                                           "--set", "hostname=facts-node",
                                           "--set", "machine_id=none",
                                           "--set", "docker_socket=" + dir + "/no-engine.sock"};
  std::vector<std::string> reg_args = {
      "register", "--gateway", url, "--token", insert_registration_token(gw.db),
      "--config", config};
  reg_args.insert(reg_args.end(), common.begin(), common.end());
  auto reg = run(binary("node-agent"), reg_args);
  INFO(reg.err);
  REQUIRE(reg.code == 0);
  const std::string id = std::to_string(json::parse(read_file(config))["node_id"].get<int>());
  CHECK(gw.db.scalar("SELECT memory_mb || ' ' || host(w.ip) FROM nodes n JOIN workers w ON "
                     "w.id = n.worker_id WHERE n.worker_id = " +
                     id) == "8192 127.62.0.1");
  auto facts_reports = [&](const std::string& changed) {
    return gw.db.count(
        "SELECT 1 FROM audit_log WHERE action = 'PUT /api/nodes/{id}/facts' AND "
        "target = 'node:" +
        id + "' AND status = 200 AND details->>'changed' = '" + changed + "'");
  };

  std::vector<std::string> args = {
      "--config", config, "--set", "heartbeat_interval_s=1", "--set", "facts_interval_s=1"};
  args.insert(args.end(), common.begin(), common.end());
  Process agent(binary("node-agent"), args);
  // At start: reported once, nothing new.
  REQUIRE(eventually([&] { return facts_reports("[]") == 1; }, 20s));
  REQUIRE(eventually(
      [&] {
        return gw.db.scalar("SELECT heartbeats > 0 FROM nodes WHERE worker_id = " + id) == "t";
      },
      20s));
  // Unchanged facts are not sent again, however many checks pass.
  std::this_thread::sleep_for(2500ms);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'PUT /api/nodes/{id}/facts'") == 1);

  // The host gets more memory: the next check reports it.
  meminfo(16384);
  CHECK(eventually(
      [&] {
        return gw.db.scalar("SELECT memory_mb FROM nodes WHERE worker_id = " + id) == "16384";
      },
      20s));
  CHECK(facts_reports("[\"memory_mb\"]") == 1);
  agent.signal(SIGTERM);
  auto rc = agent.wait(20s);
  REQUIRE(rc);
  CHECK(*rc == 0);
  CHECK(agent.err().find("host facts changed (memory_mb)") != std::string::npos);
  std::filesystem::remove_all(dir);
}
