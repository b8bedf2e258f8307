// A node's whole life with every real part (issue 13): node-agents registered through the real
// api-gateway, heartbeating into PostgreSQL, and heartbeat-monitor running as it would in
// production, with short timeouts. An agent killed with SIGKILL goes offline with one
// notification and comes back after the recovery hold ("recovered after N s"); a node whose disk
// fills past 90 % turns unhealthy; most of a site cut off at once is held as unreachable with one
// notification and no offline storm.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "e2e.h"
#include "nodes_ingest/node_agent_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// Gateway flags: agents are told to heartbeat every second (the gateway's reply sets their
// interval); a heartbeat more than 2 s after the previous one starts a new streak, so the
// monitor's recovery hold is measured from the agent's return. The agents report this host's
// real CPU and memory: no CPU or memory limit here, so a machine busy with other work (a parallel
// build) does not make these nodes unhealthy; the disk limit stays (the disk test fills a disk).
std::vector<std::string> gateway_args() {
  return {"--set", "nodes.gap=2s",
          "--set", "nodes.heartbeat_interval=1s",
          "--set", "nodes.limits.cpu_percent=100",
          "--set", "nodes.limits.memory_percent=100"};
}

// heartbeat-monitor in its loop: silent after 10 s (well above a loaded machine's delays of a
// 1 s heartbeat), back after 3 s of heartbeats.
std::unique_ptr<Process> start_monitor(TestDatabase& db) {
  return std::make_unique<Process>(
      binary("heartbeat-monitor"),
      std::vector<std::string>{"--interval", "1", "--set", "monitor.node_timeout=10s", "--set",
                               "monitor.recovery_hold=3s"},
      worker_env(db));
}

struct Agent {
  std::string config;
  std::string id;
  std::unique_ptr<Process> process;
};

// Registers an agent under `hostname` with `token` (no Docker behind it unless `socket` names
// one: heartbeats still go out) and starts its loop, one heartbeat a second.
Agent register_agent(GatewayFixture& gw, const std::string& dir, const std::string& token,
                     const std::string& hostname, const std::vector<std::string>& extra = {}) {
  Agent a;
  a.config = dir + "/" + hostname + ".json";
  std::vector<std::string> args = {"register",
                                   "--gateway",
                                   "http://127.0.0.1:" + std::to_string(gw.port),
                                   "--token",
                                   token,
                                   "--config",
                                   a.config,
                                   "--set",
                                   "hostname=" + hostname,
                                   "--set",
                                   "machine_id=none",
                                   "--set",
                                   "docker_socket=" + dir + "/no-docker.sock"};
  for (const auto& e : extra)
    args.push_back(e);
  auto r = run(binary("node-agent"), args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  a.id = std::to_string(json::parse(read_file(a.config))["node_id"].get<int>());
  return a;
}

void start(Agent& a, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"--config", a.config, "--set", "heartbeat_interval_s=1"};
  for (const auto& e : extra)
    args.push_back(e);
  a.process = std::make_unique<Process>(binary("node-agent"), args);
}

std::string status(GatewayFixture& gw, const std::string& id) {
  return gw.db.scalar("SELECT status FROM workers WHERE id = " + id);
}

// Every status change and notification so far, for a failure's message.
std::string story(GatewayFixture& gw) {
  return gw.db.scalar(
             "SELECT string_agg(to_char(at, 'MI:SS.MS') || ' ' || worker_id || ' ' || from_status "
             "|| '>' || to_status || ' (' || reason || ')', E'\\n' ORDER BY id) "
             "FROM worker_status_history") +
         "\n" +
         gw.db.scalar(
             "SELECT string_agg(to_char(created_at, 'MI:SS.MS') || ' ' || event || ' ' || "
             "title, E'\\n' ORDER BY id) FROM notifications");
}

bool becomes(GatewayFixture& gw, const std::string& id, const std::string& wanted,
             std::chrono::milliseconds within = 40s) {
  const bool ok = eventually([&] { return status(gw, id) == wanted; }, within);
  if (!ok) UNSCOPED_INFO(story(gw));
  return ok;
}

}  // namespace

TEST_CASE("a killed node-agent goes offline with one notification and recovers after the hold",
          "[nodes][e2e][lifecycle]") {
  GatewayFixture gw(gateway_args());
  const std::string dir = make_temp_dir("node-life");
  Agent agent = register_agent(gw, dir, insert_registration_token(gw.db), "life-1");
  start(agent);
  auto monitor = start_monitor(gw.db);
  REQUIRE(becomes(gw, agent.id, "online"));

  agent.process->signal(SIGKILL);
  REQUIRE(agent.process->wait(10s));
  REQUIRE(becomes(gw, agent.id, "offline"));
  CHECK_THAT(gw.db.scalar("SELECT status_reason FROM workers WHERE id = " + agent.id),
             Contains("no heartbeat for"));
  CHECK(gw.db.count("SELECT 1 FROM notifications WHERE event = 'worker.offline' AND worker_id = " +
                    agent.id) == 1);

  start(agent);
  REQUIRE(becomes(gw, agent.id, "online"));
  const std::string recovered = gw.db.scalar(
      "SELECT count(*) || ' ' || min(title || ' ' || body) FROM notifications "
      "WHERE event = 'worker.recovered' AND worker_id = " +
      agent.id);
  CHECK_THAT(recovered, Contains("1 ") && Contains("recovered after"));
  // The hold was kept: the node came back only after heartbeating for the recovery hold.
  CHECK_THAT(gw.db.scalar("SELECT status_reason FROM workers WHERE id = " + agent.id),
             Contains("heartbeating for"));
  CHECK(gw.db.scalar("SELECT string_agg(from_status || '>' || to_status, ' ' ORDER BY id) "
                     "FROM worker_status_history WHERE worker_id = " +
                     agent.id) == "pending>online online>offline offline>online");
  // Still exactly one offline notification: restarts and further cycles say nothing twice.
  CHECK(gw.db.count("SELECT 1 FROM notifications WHERE event = 'worker.offline' AND worker_id = " +
                    agent.id) == 1);
  agent.process->signal(SIGTERM);
  CHECK(agent.process->wait(20s) == std::optional<int>(0));
  std::filesystem::remove_all(dir);
}

TEST_CASE("a node whose disk fills past 90 % turns unhealthy and recovers when space is freed",
          "[nodes][e2e][lifecycle]") {
  GatewayFixture gw(gateway_args());
  const std::string dir = make_temp_dir("node-disk");
  // A small file system of its own: 4 MiB of tmpfs.
  const std::string disk = dir + "/disk";
  std::filesystem::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=4m") != 0) {
    FAIL("cannot mount a 4 MiB tmpfs at " << disk << ": " << std::strerror(errno)
                                          << " (the test needs root, as CI has)");
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{disk};

  Agent agent = register_agent(gw, dir, insert_registration_token(gw.db), "disk-1",
                               {"--set", "disk_path=" + disk});
  start(agent, {"--set", "disk_path=" + disk});
  auto monitor = start_monitor(gw.db);
  REQUIRE(becomes(gw, agent.id, "online"));

  {
    std::ofstream fill(disk + "/fill", std::ios::binary);
    const std::string block(64 * 1024, 'x');
    for (int i = 0; i < 60; ++i)  // 3.75 MiB of 4
      fill << block;
  }
  REQUIRE(becomes(gw, agent.id, "unhealthy"));
  CHECK_THAT(gw.db.scalar("SELECT status_reason FROM workers WHERE id = " + agent.id),
             Contains("disk") && Contains("> 90"));
  CHECK(gw.db.scalar("SELECT (payload->'metrics'->>'disk_percent')::float > 90 FROM notifications "
                     "WHERE event = 'worker.unhealthy' AND worker_id = " +
                     agent.id) == "t");

  std::filesystem::remove(disk + "/fill");
  REQUIRE(becomes(gw, agent.id, "online"));
  CHECK(
      gw.db.count("SELECT 1 FROM notifications WHERE event = 'worker.recovered' AND worker_id = " +
                  agent.id) == 1);
  agent.process->signal(SIGTERM);
  agent.process->wait(20s);
  ::umount2(disk.c_str(), MNT_DETACH);
  std::filesystem::remove_all(dir);
}

TEST_CASE("most of a site cut off at once is held as unreachable: one notification, no storm",
          "[nodes][e2e][lifecycle]") {
  GatewayFixture gw(gateway_args());
  const std::string dir = make_temp_dir("node-site");
  const std::string token = insert_registration_token(gw.db, "site = 'east', max_uses = 4");
  std::vector<Agent> agents;
  for (int i = 0; i < 4; ++i) {
    agents.push_back(register_agent(gw, dir, token, "east-" + std::to_string(i)));
    start(agents.back());
  }
  auto monitor = start_monitor(gw.db);
  for (auto& a : agents)
    REQUIRE(becomes(gw, a.id, "online"));

  for (int i = 0; i < 3; ++i)
    agents[i].process->signal(SIGKILL);
  for (int i = 0; i < 3; ++i)
    REQUIRE(becomes(gw, agents[i].id, "unreachable"));
  CHECK(status(gw, agents[3].id) == "online");
  CHECK(gw.db.scalar("SELECT count(*) || ' ' || min(severity) FROM notifications "
                     "WHERE event = 'site.unreachable'") == "1 critical");
  CHECK(gw.db.count("SELECT 1 FROM notifications WHERE event = 'worker.offline'") == 0);
  INFO(story(gw));
  CHECK(gw.db.scalar("SELECT site || ' ' || silent || '/' || total FROM site_holds "
                     "WHERE cleared_at IS NULL") == "east 3/4");

  // The site comes back: the hold clears once, the nodes are online again.
  for (int i = 0; i < 3; ++i)
    start(agents[i]);
  for (auto& a : agents)
    REQUIRE(becomes(gw, a.id, "online"));
  CHECK(eventually(
      [&] { return gw.db.count("SELECT 1 FROM site_holds WHERE cleared_at IS NULL") == 0; }, 20s));
  INFO(story(gw));
  CHECK(gw.db.count("SELECT 1 FROM notifications WHERE event = 'site.reachable'") == 1);
  CHECK(gw.db.count("SELECT 1 FROM notifications WHERE event = 'worker.offline'") == 0);
  std::filesystem::remove_all(dir);
}
