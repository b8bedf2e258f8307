#include "planner_cluster.h"

#include <signal.h>

#include <filesystem>
#include <random>
#include <stdexcept>

#include "core/strings.h"
#include "nodes_ingest/node_agent_fixture.h"

namespace fleet::test {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Heartbeats every second, command polls every second; a heartbeat more than 2 s after the
// previous one starts a new streak. Every node is this one loaded host (its CPU is often at
// 100 % while tests build and run): the load limits are at their maximum so that no node turns
// unhealthy (unschedulable) for it.
std::vector<std::string> gateway_args() {
  return {"--set", "nodes.gap=2s",
          "--set", "nodes.heartbeat_interval=1s",
          "--set", "nodes.command_poll=1s",
          "--set", "nodes.limits.cpu_percent=100",
          "--set", "nodes.limits.memory_percent=100",
          "--set", "nodes.limits.disk_percent=100"};
}

// A loopback network of our own for this test's nodes: 127.<100..199>.<0..249>.<node>.
std::string address_prefix() {
  std::random_device rd;
  return "127." + std::to_string(100 + rd() % 100) + "." + std::to_string(rd() % 250) + ".";
}

}  // namespace

PlannerCluster::PlannerCluster(ClusterOptions options) : gw(gateway_args()) {
  dir = make_temp_dir("planner-e2e");
  const std::string token =
      insert_registration_token(gw.db, "max_uses = " + std::to_string(options.nodes));
  const std::string prefix = address_prefix();
  for (int i = 0; i < options.nodes; ++i) {
    ClusterNode n;
    n.name = "node-" + std::string(1, static_cast<char>('a' + i));
    n.address = prefix + std::to_string(i + 1);
    n.config = dir + "/" + n.name + ".json";
    n.podman = PodmanService::start();
    auto r =
        run(binary("node-agent"),
            {"register", "--gateway", "http://127.0.0.1:" + std::to_string(gw.port), "--token",
             token, "--config", n.config, "--set", "hostname=" + n.name, "--set", "machine_id=none",
             "--set", "addresses=" + n.address, "--set", "docker_socket=" + n.podman->socket()});
    if (r.code != 0) throw std::runtime_error("node-agent register failed: " + r.err);
    n.id = std::to_string(json::parse(read_file(n.config))["node_id"].get<int>());
    start_agent(n);
    nodes.push_back(std::move(n));
  }
  start_monitor();
  for (int i = 0; i < options.planners; ++i) {
    planners.push_back(std::make_unique<Process>(
        binary("migration-planner"),
        std::vector<std::string>{
            "--interval", "1", "--set", "leader.ttl=3s", "--set", "planner.publish_on=node_address",
            "--set", "planner.offline_grace=2s", "--set", "planner.reachable_within=12s"},
        worker_env(gw.db)));
  }
  for (auto& n : nodes) {
    if (!becomes(n, "online")) throw std::runtime_error(n.name + " did not come online");
  }
}

PlannerCluster::~PlannerCluster() {
  for (auto& p : planners)
    p->signal(SIGTERM);
  if (monitor) monitor->signal(SIGTERM);
  for (auto& n : nodes) {
    if (n.agent) {
      n.agent->signal(SIGTERM);
      n.agent->wait(10s);
    }
  }
  nodes.clear();  // each PodmanService removes its containers and storage
  std::filesystem::remove_all(dir);
}

void PlannerCluster::start_agent(ClusterNode& n) {
  n.agent = std::make_unique<Process>(
      binary("node-agent"),
      std::vector<std::string>{"--config", n.config, "--set", "heartbeat_interval_s=1", "--set",
                               "command_poll_s=1", "--set", "docker_socket=" + n.podman->socket()});
}

void PlannerCluster::kill_node(ClusterNode& n) {
  n.agent->signal(SIGKILL);
  n.agent->wait(10s);
  n.agent.reset();
  n.podman->stop();
}

void PlannerCluster::revive_node(ClusterNode& n) {
  n.podman->restart();
  start_agent(n);
}

void PlannerCluster::start_monitor() {
  monitor = std::make_unique<Process>(
      binary("heartbeat-monitor"),
      std::vector<std::string>{"--interval", "1", "--set", "monitor.node_timeout=10s", "--set",
                               "monitor.recovery_hold=2s"},
      worker_env(gw.db));
}

void PlannerCluster::stop_monitor() {
  monitor->signal(SIGTERM);
  monitor->wait(20s);
  monitor.reset();
}

ClusterNode& PlannerCluster::node_by_id(const std::string& id) {
  for (auto& n : nodes) {
    if (n.id == id) return n;
  }
  throw std::runtime_error("no node " + id);
}

std::string PlannerCluster::status(const ClusterNode& n) {
  return gw.db.scalar("SELECT status FROM workers WHERE id = " + n.id);
}

bool PlannerCluster::becomes(const ClusterNode& n, const std::string& wanted,
                             std::chrono::milliseconds within) {
  return eventually([&] { return status(n) == wanted; }, within);
}

std::string PlannerCluster::create_org(const std::string& name, const std::string& policy) {
  auto a = gw.as("admin", "POST", "/api/organizations",
                 json{{"name", name}, {"migration_policy", policy}}.dump());
  if (a.status != 201) throw std::runtime_error("POST /api/organizations: " + a.raw);
  return std::to_string(a.body["id"].get<std::int64_t>());
}

json PlannerCluster::create_httpd(const std::string& org_id, const std::string& name, int replicas,
                                  std::int64_t memory_mb) {
  // The image (tests/support/podman.cpp) holds only /bin/busybox: every applet is called
  // through it. The page is the container's hostname, Podman's short container id.
  const json command = {"/bin/busybox", "sh", "-c",
                        "/bin/busybox mkdir -p /www && /bin/busybox hostname > /www/index.html && "
                        "exec /bin/busybox httpd -f -p 8080 -h /www"};
  auto a = gw.as("operator", "POST", "/api/deployments",
                 json{{"organization_id", std::stoll(org_id)},
                      {"name", name},
                      {"image", PodmanService::kImage},
                      {"command", command},
                      {"ports", {{{"container_port", 8080}}}},
                      {"resources", {{"cpu_cores", 0.1}, {"memory_mb", memory_mb}}},
                      {"replicas", replicas}}
                     .dump());
  if (a.status != 201) throw std::runtime_error("POST /api/deployments: " + a.raw);
  return a.body;
}

std::string PlannerCluster::current(const std::string& deployment_id) {
  return gw.db.scalar(
      "SELECT coalesce(string_agg(replica || '@' || coalesce(node_id::text, '-') || ':' || state, "
      "' ' ORDER BY replica, id), '') FROM placements WHERE deployment_id = " +
      deployment_id + " AND retired_at IS NULL AND state <> 'removed'");
}

std::string PlannerCluster::running_node(const std::string& deployment_id, int replica) {
  return gw.db.scalar(
      "SELECT coalesce(min(node_id)::text, '') FROM placements WHERE deployment_id = " +
      deployment_id + " AND replica = " + std::to_string(replica) +
      " AND retired_at IS NULL AND state = 'running'");
}

std::string PlannerCluster::running_container(const std::string& deployment_id, int replica) {
  return gw.db.scalar(
      "SELECT coalesce(min(container_id), '') FROM placements WHERE deployment_id = " +
      deployment_id + " AND replica = " + std::to_string(replica) +
      " AND retired_at IS NULL AND state = 'running'");
}

HttpAnswer PlannerCluster::through_route(const std::string& deployment_id, int replica,
                                         std::string* address) {
  auto a = gw.as("viewer", "GET", "/api/routes?deployment_id=" + deployment_id);
  if (a.status != 200 || !a.body.contains("items")) return {};
  for (const auto& r : a.body["items"]) {
    if (r.value("replica", -1) != replica) continue;
    const std::string host = r.value("address", "");
    const int port = r.value("host_port", 0);
    if (address) *address = host;
    httplib::Client client(host, port);
    client.set_connection_timeout(2s);
    client.set_read_timeout(5s);
    auto res = client.Get("/");
    if (!res) return {};
    return {res->status, res->body};
  }
  return {};
}

std::vector<std::string> PlannerCluster::running_containers(const ClusterNode& n) {
  auto r = n.podman->podman(
      {"ps", "--filter", "label=fleetward.managed=true", "--format", "{{.Names}}"});
  std::vector<std::string> out;
  for (const auto& line : split(std::string(trim(r.out)), '\n')) {
    if (!trim(line).empty()) out.emplace_back(trim(line));
  }
  return out;
}

std::string PlannerCluster::overcommitted() {
  return gw.db.scalar(
      "SELECT coalesce(string_agg(n.hostname || ' cpu ' || s.cpu || '/' || n.cpu_cores || ' mem ' "
      "|| s.mem || '/' || n.memory_mb, ', '), '') FROM (SELECT node_id, sum(cpu_cores) AS cpu, "
      "sum(memory_mb) AS mem FROM placements WHERE state IN ('starting', 'running', 'stopping') "
      "AND retired_at IS NULL GROUP BY node_id) s JOIN nodes n ON n.worker_id = s.node_id "
      "WHERE s.cpu > n.cpu_cores OR s.mem > n.memory_mb");
}

std::string PlannerCluster::story() {
  std::string out = "placements:\n" +
                    gw.db.scalar(
                        "SELECT string_agg(id || ' d' || deployment_id || ' r' || replica "
                        "|| ' @' || coalesce(node_id::text, '-') || ' ' || state || ' "
                        "retired=' || (retired_at IS NOT NULL) || ' ' || reason, E'\\n' "
                        "ORDER BY id) FROM placements") +
                    "\nplans:\n" +
                    gw.db.scalar(
                        "SELECT string_agg(id || ' node ' || node_id || ' org ' || "
                        "organization_id || ' ' || policy || ' ' || state || ' ' || "
                        "reason, E'\\n' ORDER BY id) FROM migration_plans") +
                    "\nmigrations:\n" +
                    gw.db.scalar(
                        "SELECT string_agg(id || ' d' || deployment_id || ' r' || replica "
                        "|| ' ' || state || ' ' || reason || ' ' || steps::text, E'\\n' "
                        "ORDER BY id) FROM migrations") +
                    "\nnodes:\n" +
                    gw.db.scalar(
                        "SELECT string_agg(id || ' ' || name || ' ' || status || ' ' || "
                        "status_reason, E'\\n' ORDER BY id) FROM workers") +
                    "\ncommands:\n" +
                    gw.db.scalar(
                        "SELECT string_agg(id || ' w' || worker_id || ' ' || action || "
                        "' ' || state || ' ' || coalesce(last_error, ''), E'\\n' ORDER BY id) "
                        "FROM commands");
  for (const auto& n : nodes) {
    if (!n.agent) continue;
    const std::string err = n.agent->err();
    out += "\nagent " + n.name + " (last lines):\n" +
           err.substr(err.size() > 1500 ? err.size() - 1500 : 0);
  }
  for (std::size_t i = 0; i < planners.size(); ++i) {
    const std::string err = planners[i]->err();
    out += "\nplanner " + std::to_string(i) + " (last lines):\n" +
           err.substr(err.size() > 3000 ? err.size() - 3000 : 0);
  }
  return out;
}

}  // namespace fleet::test
