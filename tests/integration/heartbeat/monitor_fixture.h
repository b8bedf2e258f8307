// Helpers for heartbeat-monitor's integration tests: a CycleContext over a real database, and
// shortcuts to craft workers of each kind with the ages that matter.
#pragma once

#include <stop_token>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "db/session.h"
#include "monitor_cycle.h"
#include "pgtest.h"

namespace fleet::test {

class MonitorCycle final : public runtime::CycleContext {
 public:
  explicit MonitorCycle(const TestDatabase& db, bool dry_run = false)
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

  runtime::CycleReport run(const heartbeat::MonitorOptions& options = {}) {
    heartbeat::HeartbeatMonitor monitor(options);
    return monitor.run_cycle(*this);
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

// A node with its last heartbeat `age` ago ("" = never) and the given status; returns its id.
inline std::string add_node(TestDatabase& db, const std::string& name, const std::string& status,
                            const std::string& heartbeat_age, const std::string& site = "") {
  const std::string id =
      db.scalar("INSERT INTO workers (kind, name, status, site) VALUES ('node', '" + name + "', '" +
                status + "', " + (site.empty() ? "NULL" : "'" + site + "'") + ") RETURNING id");
  db.exec(
      "INSERT INTO nodes (worker_id, hostname, cpu_cores, memory_mb, disk_gb, credential_hash, "
      "last_heartbeat_at, streak_since) VALUES (" +
      id + ", '" + name + "', 4, 8192, 100, repeat('a', 64), " +
      (heartbeat_age.empty()
           ? "NULL, NULL"
           : "now() - interval '" + heartbeat_age + "', now() - interval '" + heartbeat_age + "'") +
      ")");
  return id;
}

// A worker of another kind, last seen `age` ago ("" = never).
inline std::string add_worker(TestDatabase& db, const std::string& kind, const std::string& name,
                              const std::string& status, const std::string& seen_age,
                              const std::string& site = "") {
  return db.scalar(
      "INSERT INTO workers (kind, name, status, site, last_seen_at) VALUES ('" + kind + "', '" +
      name + "', '" + status + "', " + (site.empty() ? "NULL" : "'" + site + "'") + ", " +
      (seen_age.empty() ? "NULL" : "now() - interval '" + seen_age + "'") + ") RETURNING id");
}

// Moves status_since back, as if the status had been set `age` ago.
inline void status_since(TestDatabase& db, const std::string& id, const std::string& age) {
  db.exec("UPDATE workers SET status_since = now() - interval '" + age + "' WHERE id = " + id);
}

inline std::string status_of(TestDatabase& db, const std::string& id) {
  return db.scalar("SELECT status FROM workers WHERE id = " + id);
}

inline std::string reason_of(TestDatabase& db, const std::string& id) {
  return db.scalar("SELECT status_reason FROM workers WHERE id = " + id);
}

}  // namespace fleet::test
