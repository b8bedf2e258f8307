// Running the ASIC workers against a miner-sim and a test database.
#pragma once

#include <string>
#include <vector>

#include "e2e.h"
#include "minersim.h"

namespace fleet::test {

// A random test key: a patterned one ("aaaa…") is refused like a placeholder.
inline const std::string kSecretKey =
    "fbe7d2b107482a0ab391d1f1b0977c2ae169e2498b135f2e2438fe0209d9d03c";

inline Process::Options asic_env(const TestDatabase& db) {
  Process::Options o = worker_env(db, {{"FLEET_SECRET_KEY", kSecretKey}});
  o.unset_env.push_back("FLEET_MINER_PASSWORD");
  return o;
}

// Flags that point a worker at the simulator with short timeouts.
inline std::vector<std::string> sim_flags(const MinerSim& sim, std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"--set", "firmware.request_timeout=2s", "--set",
                                   "firmware.connect_timeout=1s"};
  (void)sim;
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

inline RunResult discover(TestDatabase& db, const MinerSim& sim,
                          std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--once", "--set", "discovery.networks=" + sim.network(),
                                   "--set", "discovery.port=" + std::to_string(sim.port())};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(binary("discovery-worker"), sim_flags(sim, args), asic_env(db));
}

inline RunResult poll_once(TestDatabase& db, const MinerSim& sim,
                           std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--once"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(binary("status-poller"), sim_flags(sim, args), asic_env(db));
}

inline RunResult telemetry_once(TestDatabase& db, const MinerSim& sim,
                                std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--once"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run(binary("telemetry-worker"), sim_flags(sim, args), asic_env(db));
}

// What an operator does before polling starts (seed 003): manage the miners, set max_preset.
inline void manage_all(TestDatabase& db) {
  db.exec("UPDATE workers SET managed = true WHERE kind = 'asic'");
  db.exec("UPDATE models SET max_preset = COALESCE(presets->0->>'name', 'disabled')");
}

// Makes every miner due now (the tests do not wait an interval).
inline void due_now(TestDatabase& db) {
  db.exec("UPDATE miners SET next_poll_at = now(), next_telemetry_at = now()");
}

}  // namespace fleet::test
