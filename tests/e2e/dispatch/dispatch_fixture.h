// The action-dispatcher against miner-sim and a test database: discovered, managed miners and a
// helper to queue commands the way the API and the alert-evaluator do (a commands row).
#pragma once

#include <string>
#include <vector>

#include "asic/pipeline.h"

namespace fleet::test {

// Discovered (API keys provisioned), managed and ready for commands.
inline void prepare_miners(TestDatabase& db, const MinerSim& sim) {
  auto r = discover(db, sim);
  if (r.code != 0) throw std::runtime_error("discovery failed: " + r.err);
  manage_all(db);
}

// Safety limits opened up (each test narrows the one it is about) and short timings.
inline std::vector<std::string> dispatcher_flags(std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--set",         "firmware.request_timeout=2s",
                                   "--set",         "firmware.connect_timeout=500ms",
                                   "--set",         "dispatch.worker_min_interval=0",
                                   "--set",         "dispatch.worker_daily_cap=1000",
                                   "--set",         "dispatch.fleet_rate_limit=100000",
                                   "--set",         "dispatch.site_rate_limit=100000",
                                   "--set",         "dispatch.reboot_loop_count=0",
                                   "--set",         "dispatch.retry_initial=100ms",
                                   "--set",         "dispatch.retry_max=200ms",
                                   "--set",         "dispatch.sweep_every=200ms",
                                   "--health-port", "0"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

inline RunResult dispatch_once(TestDatabase& db, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--once"};
  auto flags = dispatcher_flags(std::move(more));
  args.insert(args.end(), flags.begin(), flags.end());
  return run(binary("action-dispatcher"), args, asic_env(db), std::chrono::seconds(60));
}

// The worker id of simulated miner `index` (by address).
inline std::int64_t miner_worker(TestDatabase& db, const std::string& ip) {
  return std::stoll(db.scalar("SELECT id FROM workers WHERE host(ip) = '" + ip + "'"));
}

// Queues a command the way the API does; returns its id.
inline std::int64_t queue_command(TestDatabase& db, std::int64_t worker, const std::string& action,
                                  const std::string& params = "{}",
                                  const std::string& channel = "firmware", int max_attempts = 3) {
  static int n = 0;
  return std::stoll(db.scalar(
      "INSERT INTO commands (worker_id, action, params, channel, origin, requested_by, "
      "idempotency_key, max_attempts) VALUES (" +
      std::to_string(worker) + ", '" + action + "', '" + params + "'::jsonb, '" + channel +
      "', 'user', 'test', 'test:" + std::to_string(getpid()) + ":" + std::to_string(++n) + ":" +
      action + "', " + std::to_string(max_attempts) + ") RETURNING id"));
}

inline std::string command_field(TestDatabase& db, std::int64_t id, const std::string& expr) {
  return db.scalar("SELECT coalesce((" + expr +
                   ")::text, '') FROM commands WHERE id = " + std::to_string(id));
}

}  // namespace fleet::test
