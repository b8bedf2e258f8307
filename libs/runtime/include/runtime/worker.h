// The worker runtime: what every fleetward worker binary shares (DESIGN §2, docs/runtime.md).
//
// A worker supplies its name, its own configuration keys and a cycle function; run() gives it the
// flags (--config, --once, --dry-run, --config-check, --interval, --health-port, --verbose,
// --log-format, --log-file, --version), configuration with precedence, logging, a database session
// that survives outages, the probe server (/health, /ready, /metrics), adaptive polling, backoff
// after failures, leader election, graceful shutdown and the service_instances row.
//
//   int main(int argc, char** argv) {
//     return fleet::runtime::run(argc, argv, {
//         .name = "example-worker",
//         .description = "counts things",
//         .default_interval = std::chrono::seconds(30),
//         .setup = [](const fleet::runtime::Setup& s) -> fleet::runtime::CycleFn {
//           return [](fleet::runtime::CycleContext& ctx) { return fleet::runtime::CycleReport{}; };
//         }});
//   }
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "core/clock.h"

namespace fleet::db {
class Session;
class LeaderLease;
}  // namespace fleet::db
namespace fleet::metrics {
class Registry;
}

namespace fleet::runtime {

// Process exit codes, documented in --help.
enum ExitCode : int {
  kExitOk = 0,           // success
  kExitCycleFailed = 1,  // the cycle failed or the database was unreachable: retry later
  kExitInvalid = 2,      // configuration or schema invalid: do not restart blindly
};

// What one cycle did.
struct CycleReport {
  std::int64_t items = 0;  // items processed (fleet_items_processed_total)
  bool more_work = false;  // more is waiting: run the next cycle after the short active interval
  // Named statistics of this cycle, e.g. {"evaluated", 30}, {"triggered", 1}. Logged with the
  // cycle, summed into service_instances.stats and exported as fleet_<service>_<name>_total.
  std::vector<std::pair<std::string, std::int64_t>> counts;
};

// What a cycle may use. Implemented by the runtime; tests may supply their own.
class CycleContext {
 public:
  virtual ~CycleContext() = default;

  // The worker's database session (READ ONLY under --dry-run).
  virtual db::Session& db() = 0;
  virtual bool dry_run() const = 0;

  // Set when the process is asked to stop. Long cycles check it between steps and return early;
  // the runtime cancels the running database statement if the cycle does not finish in time.
  virtual std::stop_token stop_token() const = 0;
  bool stopping() const { return stop_token().stop_requested(); }

  // Tells the liveness probe that a long cycle is still making progress.
  virtual void progress() = 0;

  // Sleeps, returning early (false) when the process is asked to stop.
  virtual bool sleep_for(std::chrono::milliseconds d) = 0;

  // Under --dry-run: prints one decision the cycle would take, as a JSON object on one line of
  // standard output. Ignored otherwise.
  virtual void emit(std::string_view json_object) = 0;

  // The leader lease when the worker declared one (WorkerSpec::leader_lease) and holds it; null
  // otherwise. Use lease->still_held(tx) to fence writes.
  virtual const db::LeaderLease* lease() const = 0;

  virtual Clock& clock() = 0;
};

using CycleFn = std::function<CycleReport(CycleContext&)>;

// A probe answer: HTTP status and JSON body.
struct ProbeResult {
  int status = 200;
  std::string body;
};

// Given to WorkerSpec::setup once, after configuration is loaded.
struct Setup {
  const config::Config& config;
  metrics::Registry& metrics;
  db::Session& db;
  bool dry_run;
  std::string instance_id;  // this process's row in service_instances
  // Requested when the process is asked to stop (SIGTERM/SIGINT). Servers started by setup stop
  // their listeners from a std::stop_callback on it.
  std::stop_token stop;
  // The runtime's own probe answers, for a server that serves them on its own port.
  std::function<ProbeResult()> health;
  std::function<ProbeResult()> ready;
  std::function<std::string()> metrics_text;
  // Starts the next cycle now instead of after the interval (a LISTEN wake-up, finished work to
  // record). Thread-safe and cheap; ignored while the worker backs off after a failed cycle.
  std::function<void()> wake;
  // Adds a liveness condition: the function returns "" while fine, else the reason /health fails
  // (e.g. a server thread that died). Called from probe threads: must be thread-safe and quick.
  std::function<void(std::function<std::string()>)> add_liveness_check;
  // Sets what /ready adds under "detail" (ready or not): the function returns a JSON object text
  // ("" = nothing), e.g. hiveos-sync's failing accounts. Called from probe threads (at most about
  // once a second): must be thread-safe and quick, and must not touch the database.
  std::function<void(std::function<std::string()>)> set_ready_detail;
};

// Thrown by WorkerSpec::setup when the worker's own configuration is invalid (exit code 2). Thrown
// by a cycle, it ends the process with exit code 2 as well instead of being retried.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Thrown by a cycle for a start-up problem no retry in this process can fix, such as the port it
// must serve on being in use: the process ends with exit code 1 (a supervisor may start it again
// later) instead of retrying while it looks alive.
class StartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WorkerSpec {
  std::string name;         // "alert-evaluator": logger name, metrics label, service name
  std::string description;  // one line for --help
  std::chrono::milliseconds default_interval{30'000};
  // Tables the worker needs; --config-check and /ready fail when one is missing.
  std::vector<std::string> required_tables;
  // When set, only the holder of this lease runs cycles (work that must happen once in the
  // cluster); the other replicas stand by and take over when it expires.
  std::string leader_lease;
  // Declares the worker's own configuration keys (optional).
  std::function<void(config::Schema&)> declare_config;
  // Builds the cycle function. Runs once, after configuration is loaded and before the first
  // cycle (also under --config-check). Throws ConfigError for invalid worker configuration.
  std::function<CycleFn(const Setup&)> setup;
};

// Runs the worker: parses flags, loads configuration and runs cycles until stopped (or once).
// Returns the process exit code.
int run(int argc, char** argv, const WorkerSpec& spec);

}  // namespace fleet::runtime
