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

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "db/connection_options.h"
#include "dispatch/command_store.h"
#include "dispatch/job.h"
#include "dispatch/safety.h"
#include "runtime/worker.h"

namespace fleet::db {
class Session;
}

namespace fleet::dispatch {

struct DispatcherOptions {
  StoreOptions store;
  SafetyLimits limits;
  int batch = 500;           // commands examined per claim
  int max_in_flight = 5000;  // sent and not yet reported
  std::chrono::milliseconds sweep_every{std::chrono::seconds(5)};
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(20)};  // on shutdown
  std::chrono::milliseconds idle_wait{std::chrono::milliseconds(250)};
  // When set, outcomes are recorded by a thread of the dispatcher's own on a connection of its
  // own, while the cycle goes on claiming (claims and records overlap); otherwise the cycle
  // records them itself.
  std::optional<db::ConnectionOptions> record_database;
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
  // Records `done` on `session` and counts and logs them. Throws what the database throws.
  void record_now(db::Session& session, const std::vector<std::pair<CommandJob, Outcome>>& done);
  void record_loop();

  DispatcherOptions options_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<CommandJob, Outcome>> done_;  // guarded by mu_
  std::unordered_set<std::int64_t> in_flight_;        // guarded by mu_
  bool woken_ = false;                                // guarded by mu_
  bool recorded_ = false;                             // guarded by mu_
  bool stop_recorder_ = false;                        // guarded by mu_
  std::optional<std::chrono::steady_clock::time_point> last_sweep_;
  std::optional<std::chrono::steady_clock::time_point> last_renew_;
  std::atomic<std::int64_t> succeeded_{0}, failed_{0}, retried_{0}, recorded_items_{0};
  std::unique_ptr<db::Session> record_db_;
  std::thread recorder_;  // last: started once everything above exists
};

}  // namespace fleet::dispatch
