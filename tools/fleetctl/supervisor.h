// `fleetctl up`: a local supervisor in the spirit of seed 004's service monitor. It starts the
// services of a ServicesFile in dependency order (after checking their ports are free), writes PID
// files, captures each service's output into a rotating <log_dir>/<name>.log, restarts services
// that fail (with backoff, giving up after repeated failures, never after exit code 2), honours
// restart requests from `fleetctl restart`, and on SIGINT/SIGTERM stops every process group in
// reverse order (SIGTERM, then SIGKILL after the stop timeout).
#pragma once

#include <chrono>
#include <deque>
#include <iosfwd>
#include <string>
#include <vector>

#include "services_file.h"

namespace fleet::cli {

// What to do after a service's process ended. Pure logic, unit-tested.
struct ExitDecision {
  bool restart = false;
  bool failed = false;  // gave up, or a failure that is not retried
  std::chrono::milliseconds delay{0};
  std::string reason;
};

class RestartTracker {
 public:
  // `exit_code` >= 0 when it exited, `signal` > 0 when a signal killed it; `ran_for` is how long
  // it ran. Exit code 2 (configuration invalid) is never retried. Five failures within a minute
  // give up. Delays double from 1 s up to 30 s; a run longer than a minute forgets past failures.
  ExitDecision on_exit(const ServiceSpec& spec, int exit_code, int signal,
                       std::chrono::steady_clock::time_point now,
                       std::chrono::milliseconds ran_for);
  void reset() { failures_.clear(); }
  int restarts() const { return restarts_; }

 private:
  std::deque<std::chrono::steady_clock::time_point> failures_;
  int restarts_ = 0;
};

struct SupervisorOptions {
  std::vector<std::string> only;              // start only these (and what they depend on)
  std::chrono::milliseconds status_every{0};  // print the status table this often (0 = never)
};

// Runs until SIGINT/SIGTERM. Returns 0 after a clean stop, 1 when it could not start (another
// supervisor runs on the same run_dir, or a directory cannot be created).
int supervise(const ServicesFile& file, const SupervisorOptions& options, std::ostream& out);

// `fleetctl watch`: the status table of a ServicesFile's services: state from the supervisor's
// status.json (when one runs), PID liveness and a live health check per service.
std::string status_table(const ServicesFile& file);

// `fleetctl restart`: asks the running supervisor to restart the named services, or every failed
// one when `names` is empty. Returns the names it asked for; fails when no supervisor runs.
Result<std::vector<std::string>> request_restart(const ServicesFile& file,
                                                 const std::vector<std::string>& names);

// True when something accepts TCP connections on 127.0.0.1:port.
bool port_in_use(int port);
// HTTP GET with a short timeout; true on status 200.
bool http_healthy(const std::string& url);

}  // namespace fleet::cli
