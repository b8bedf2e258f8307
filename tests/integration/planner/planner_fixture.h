// Helpers for migration-planner's integration tests: a CycleContext over a real database, and
// shortcuts to craft organisations, nodes and deployments, and to play the node-agent.
#pragma once

#include <stop_token>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "db/session.h"
#include "pgtest.h"
#include "planner_cycle.h"

namespace fleet::test {

class PlannerCycle final : public runtime::CycleContext {
 public:
  explicit PlannerCycle(const TestDatabase& db, bool dry_run = false)
      : session_(db::ConnectionOptions{.conninfo = db.url(), .read_only = dry_run}),
        dry_run_(dry_run) {
    spdlog::set_level(spdlog::level::warn);
  }

  db::Session& db() override { return session_; }
  bool dry_run() const override { return dry_run_; }
  std::stop_token stop_token() const override { return stop_.get_token(); }
  void progress() override {}
  bool sleep_for(std::chrono::milliseconds) override { return true; }
  void emit(std::string_view line) override { emitted.emplace_back(line); }
  const db::LeaderLease* lease() const override { return nullptr; }
  Clock& clock() override { return Clock::real(); }

  runtime::CycleReport run(planner::PlannerOptions options = {}) {
    options.instance_id = "test";
    planner::MigrationPlanner p(options);
    return p.run_cycle(*this);
  }
  static std::int64_t count(const runtime::CycleReport& report, const std::string& name) {
    for (const auto& [n, v] : report.counts) {
      if (n == name) return v;
    }
    return -1;
  }

  std::vector<std::string> emitted;

 private:
  db::Session session_;
  bool dry_run_;
  std::stop_source stop_;
};

inline std::string add_org(TestDatabase& db, const std::string& name,
                           const std::string& policy = "automatic") {
  return db.scalar("INSERT INTO organizations (name, migration_policy) VALUES ('" + name + "', '" +
                   policy + "') RETURNING id");
}

// A user who owns the organisation's deployments (told about their moves).
inline std::string add_owner(TestDatabase& db, const std::string& org, const std::string& user) {
  const std::string id = db.scalar("INSERT INTO users (username, password_hash, role) VALUES ('" +
                                   user + "', 'x', 'operator') RETURNING id");
  db.exec("INSERT INTO organization_members (organization_id, user_id) VALUES (" + org + ", " + id +
          ")");
  return id;
}

struct NodeSpec {
  std::string status = "online";
  std::string site;
  std::string pool = "default";
  int cpu_cores = 4;
  long long memory_mb = 8192;
  double disk_gb = 100;
  double load = 10;                         // cpu, memory and disk percent
  std::string heartbeat_age = "5 seconds";  // "" = never
  std::string status_age = "1 hour";
};

// A node with address 127.0.0.<n>; returns its id.
inline std::string add_node(TestDatabase& db, const std::string& name, const NodeSpec& s = {}) {
  static int next_address = 10;
  const std::string id =
      db.scalar("INSERT INTO workers (kind, name, status, site, status_since) VALUES ('node', '" +
                name + "', '" + s.status + "', " + (s.site.empty() ? "NULL" : "'" + s.site + "'") +
                ", now() - interval '" + s.status_age + "') RETURNING id");
  const std::string load = std::to_string(s.load);
  db.exec(
      "INSERT INTO nodes (worker_id, hostname, addresses, pool, cpu_cores, memory_mb, disk_gb, "
      "credential_hash, last_heartbeat_at, cpu_percent, memory_percent, disk_percent) VALUES (" +
      id + ", '" + name + "', ARRAY['127.0.0." + std::to_string(next_address++) + "'::inet], '" +
      s.pool + "', " + std::to_string(s.cpu_cores) + ", " + std::to_string(s.memory_mb) + ", " +
      std::to_string(s.disk_gb) + ", repeat('a', 64), " +
      (s.heartbeat_age.empty() ? "NULL" : "now() - interval '" + s.heartbeat_age + "'") + ", " +
      load + ", " + load + ", " + load + ")");
  return id;
}

// The node stops: offline since `age` ago, last heartbeat before that.
inline void node_offline(TestDatabase& db, const std::string& id, const std::string& age) {
  // Two statements: a status change sets status_since itself.
  db.exec("UPDATE workers SET status = 'offline' WHERE id = " + id);
  db.exec("UPDATE workers SET status_since = now() - interval '" + age + "' WHERE id = " + id);
  db.exec("UPDATE nodes SET last_heartbeat_at = now() - interval '" + age +
          "' - interval '2 minutes' WHERE worker_id = " + id);
}

// The node is back: online, heartbeating, reporting `containers` (a JSON array).
inline void node_back(TestDatabase& db, const std::string& id,
                      const std::string& containers = "[]") {
  db.exec("UPDATE workers SET status = 'online', status_since = now() WHERE id = " + id);
  db.exec("UPDATE nodes SET last_heartbeat_at = now(), container_list = '" + containers +
          "'::jsonb WHERE worker_id = " + id);
}

struct DeploymentSpec {
  int replicas = 1;
  long long memory_mb = 256;
  double cpu_cores = 0.5;
  std::string pool = "default";
  int max_unavailable = 1;
  std::string ports = R"([{"container_port": 80, "protocol": "tcp"}])";
};

inline std::string add_deployment(TestDatabase& db, const std::string& org, const std::string& name,
                                  const DeploymentSpec& s = {}) {
  return db.scalar(
      "INSERT INTO deployments (organization_id, name, image, command, env, ports, cpu_cores, "
      "memory_mb, replicas, pool, max_unavailable, labels, created_by) VALUES (" +
      org + ", '" + name +
      "', 'busybox:1.36', ARRAY['httpd', '-f', '-p', '80'], '{\"MODE\": \"demo\"}', '" + s.ports +
      "', " + std::to_string(s.cpu_cores) + ", " + std::to_string(s.memory_mb) + ", " +
      std::to_string(s.replicas) + ", '" + s.pool + "', " + std::to_string(s.max_unavailable) +
      ", '{\"team\": \"web\"}', 'test') RETURNING id");
}

// Plays the node-agent: every queued planner command (optionally only those of one node and one
// action) is claimed and succeeds (a start returns {container_id, state: running}).
inline void agent_succeeds(TestDatabase& db, const std::string& where = "true") {
  db.exec(
      "UPDATE commands SET state = 'sent', sent_at = now() WHERE channel = 'agent' AND "
      "state = 'queued' AND (" +
      where + ")");
  db.exec(
      "UPDATE commands SET state = 'succeeded', finished_at = now(), result = "
      "jsonb_build_object('container_id', 'c' || id, 'state', 'running') WHERE channel = "
      "'agent' AND state = 'sent' AND (" +
      where + ")");
}

inline void agent_fails(TestDatabase& db, const std::string& where, const std::string& error) {
  db.exec(
      "UPDATE commands SET state = 'sent', sent_at = now() WHERE channel = 'agent' AND "
      "state = 'queued' AND (" +
      where + ")");
  db.exec("UPDATE commands SET state = 'failed', finished_at = now(), last_error = '" + error +
          "' WHERE channel = 'agent' AND state = 'sent' AND (" + where + ")");
}

// Runs cycles and plays the agent until the deployment's replicas all run (at most `cycles`).
inline void settle(PlannerCycle& cycle, TestDatabase& db, int cycles = 4,
                   const planner::PlannerOptions& options = {}) {
  for (int i = 0; i < cycles; ++i) {
    cycle.run(options);
    agent_succeeds(db);
  }
  cycle.run(options);
}

}  // namespace fleet::test
