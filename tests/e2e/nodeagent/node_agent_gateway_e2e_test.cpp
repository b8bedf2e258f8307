// The node-agent binary against the real api-gateway and PostgreSQL, with a real Podman as the
// node's container engine: registration with a token inserted in the database, heartbeats landing
// in the nodes table, an agent command carried out and its result stored.
#include <catch2/catch.hpp>

#include <signal.h>

#include <filesystem>

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
