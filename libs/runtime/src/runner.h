// The worker process after its configuration is loaded: the loop, the probes, the signals and the
// bookkeeping. One Runner per process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "cli.h"
#include "config/config.h"
#include "db/lease.h"
#include "db/session.h"
#include "instance_row.h"
#include "metrics/registry.h"
#include "probe_server.h"
#include "runtime/schedule.h"
#include "runtime/worker.h"
#include "sleeper.h"

namespace fleet::runtime {

struct RunnerOptions {
  Invocation invocation;
  db::ConnectionOptions database;
  ScheduleOptions schedule;
  int health_port = 0;
  std::string health_address = "0.0.0.0";
  std::chrono::milliseconds stall_after{0};  // liveness window
  std::chrono::milliseconds shutdown_grace{4500};
  std::chrono::milliseconds lease_ttl{0};
  // While waiting after a cycle failed for lack of the database, try to reconnect this often and
  // start the next cycle as soon as it succeeds instead of waiting out the backoff.
  std::chrono::milliseconds reconnect_probe{1000};
};

class Runner final : public CycleContext {
 public:
  Runner(const WorkerSpec& spec, const config::Config& config, RunnerOptions options);
  ~Runner() override;

  // Runs the process to its end and returns the exit code.
  int main();

  // CycleContext
  db::Session& db() override { return session_; }
  bool dry_run() const override { return options_.invocation.dry_run; }
  std::stop_token stop_token() const override { return stop_.get_token(); }
  void progress() override { tick(); }
  bool sleep_for(std::chrono::milliseconds d) override;
  void emit(std::string_view json_object) override;
  const db::LeaderLease* lease() const override;
  Clock& clock() override { return Clock::real(); }

 private:
  struct Outcome {
    bool ok = false;
    bool more_work = false;
    bool invalid = false;      // a configuration or schema problem (exit 2 in --once)
    bool unavailable = false;  // failed as ErrorKind::kUnavailable (the database, mostly)
    bool fatal = false;        // ConfigError or StartError: no retry in this process can help
  };

  // How the loop waits between cycles.
  struct WaitOptions {
    bool heartbeat = false;  // refresh the service_instances row at least once a minute
    // The last attempt failed for lack of the database: probe it every reconnect_probe and end
    // the wait as soon as the session connects again.
    bool until_database_back = false;
    // Setup::wake ends the wait early (only between successful cycles: a failing worker keeps
    // its backoff however often it is woken).
    bool nudgeable = false;
  };
  enum class WaitEnd { kElapsed, kDatabaseBack, kNudged, kStopping };

  int finish(int rc);  // stops the signal and probe threads; returns rc
  Setup make_setup();
  int config_check();
  int run_single();
  int run_loop();
  bool wait_for_schema();
  WaitEnd wait(std::chrono::milliseconds d, WaitOptions how);
  Status check_schema_now(db::Session& session);
  Outcome run_cycle();
  bool lead();
  void record_cycle(const Outcome& outcome, const CycleReport& report,
                    std::chrono::steady_clock::duration took, const std::string& error);
  void write_row(const std::string& state);
  void shutdown_watch();
  void start_probes();
  ProbeAnswer health_answer();
  ProbeAnswer ready_answer();
  void tick();
  std::string mode() const;

  const WorkerSpec& spec_;
  const config::Config& config_;
  const RunnerOptions options_;
  const std::string host_;
  const int pid_;
  const std::string instance_id_;
  const std::chrono::system_clock::time_point started_wall_;
  const std::chrono::steady_clock::time_point started_;

  db::Session session_;  // used by the main thread only (cancel() from the signal thread)
  metrics::Registry metrics_;
  Schedule schedule_;
  CycleFn cycle_;
  std::optional<db::LeaderLease> lease_;
  std::unique_ptr<ProbeServer> probes_;

  // Bookkeeping of the main thread, copied into the service_instances row.
  std::int64_t cycles_ = 0;
  std::int64_t cycle_errors_ = 0;
  std::int64_t items_ = 0;
  std::map<std::string, std::int64_t> totals_;
  std::optional<double> last_cycle_at_;
  std::optional<double> last_cycle_ms_;
  std::optional<std::string> last_error_;
  std::optional<double> last_error_at_;

  // Shared with the probe and signal threads.
  std::stop_source stop_;
  Sleeper sleeper_;
  std::atomic<std::int64_t> last_tick_ns_{0};
  std::atomic<double> last_success_unix_{0};  // 0 = none yet
  std::atomic<bool> schema_ok_{false};
  std::atomic<bool> leader_{false};
  std::atomic<bool> finished_{false};
  std::thread signal_thread_;

  std::mutex liveness_mu_;
  std::vector<std::function<std::string()>> liveness_checks_;  // guarded by liveness_mu_
  std::function<std::string()> ready_detail_;                  // guarded by liveness_mu_

  std::mutex probe_mu_;                                     // serialises /ready database checks
  std::unique_ptr<db::Session> probe_session_;              // guarded by probe_mu_
  std::optional<ProbeAnswer> ready_cache_;                  // guarded by probe_mu_
  std::chrono::steady_clock::time_point ready_cache_at_{};  // guarded by probe_mu_
};

}  // namespace fleet::runtime
