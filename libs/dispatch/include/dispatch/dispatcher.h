// The action-dispatcher's engine (docs/services/action-dispatcher.md). One cycle:
//
//   record what the channels finished -> sweep (expire, rescue dead dispatchers' commands)
//   -> claim due commands (safety decisions under one lock) -> hand them to their channels
//   -> wait for finished work or a wake-up (LISTEN fleet_commands) -> again
//
// The cycle keeps running while commands are in flight, so a new command is sent within
// milliseconds of its NOTIFY and a stopping process waits for what it sent (up to drain_timeout)
// before it returns. It returns when nothing is in flight and nothing is due (--once ends there).
// Channels report from their own threads; outcomes are recorded in batches.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dispatch/command_store.h"
#include "dispatch/job.h"
#include "dispatch/safety.h"
#include "runtime/worker.h"

namespace fleet::dispatch {

struct DispatcherOptions {
  StoreOptions store;
  SafetyLimits limits;
  int batch = 500;           // commands examined per claim
  int max_in_flight = 5000;  // sent and not yet reported
  std::chrono::milliseconds sweep_every{std::chrono::seconds(5)};
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(20)};  // on shutdown
  std::chrono::milliseconds idle_wait{std::chrono::milliseconds(250)};
};

class Dispatcher {
 public:
  Dispatcher(DispatcherOptions options, std::map<std::string, std::unique_ptr<Channel>> channels);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  runtime::CycleReport run_cycle(runtime::CycleContext& ctx);

  // Ends the cycle's current wait (a NOTIFY arrived). Thread-safe.
  void wake();

  std::size_t in_flight() const;

 private:
  void finished(CommandJob job, Outcome outcome);
  void send(std::vector<CommandJob> jobs);

  DispatcherOptions options_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<CommandJob, Outcome>> done_;  // guarded by mu_
  std::unordered_set<std::int64_t> in_flight_;        // guarded by mu_
  bool woken_ = false;                                // guarded by mu_
  std::optional<std::chrono::steady_clock::time_point> last_sweep_;
  std::optional<std::chrono::steady_clock::time_point> last_renew_;
};

}  // namespace fleet::dispatch
