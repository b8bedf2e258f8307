// The status loop (seed 003 §3): claim due miners (managed, with an IP, model max_preset set),
// GET /summary with each one's API key — thousands at once on the libcurl transport — and store
// the statuses, fans, chain snapshots, metrics and readings in batches on a writer thread.
//
// Per miner: a failure pushes its next poll out with backoff; a 401 re-provisions its API key
// once (at most `max_reprovisions` per cycle, and never again before the provisioning backoff has
// passed) instead of hammering it; a bad payload is counted and reported.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "asic/firmware_config.h"
#include "asic/poll_schedule.h"
#include "config/config.h"
#include "db/connection_options.h"
#include "runtime/periodic_chore.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace fleet::firmware {
class HttpTransport;
}

namespace fleet::poller {

struct PollerOptions {
  asic::FirmwareSettings firmware;
  asic::PollSchedule schedule;  // interval = the worker's --interval
  int claim_batch = 500;        // miners claimed per claim statement
  int persist_batch = 1000;     // statuses written per transaction
  int max_per_cycle = 100'000;  // claims per cycle; more waiting -> adaptive polling
  std::chrono::milliseconds lease{60'000};
  int offline_after = 3;         // consecutive failures before a worker is marked offline
  double partition_share = 0.5;  // DESIGN §6: more failing than this -> "unreachable"
  bool readings = true;          // also append metrics to readings
  std::chrono::milliseconds readings_interval{60'000};  // a miner's readings at most this often
  int retention_days = 7;                               // statuses, status_fans, chain_snapshots
  bool reprovision = true;                              // re-provision a rejected API key
  int max_reprovisions = 100;                           // per cycle
  std::chrono::milliseconds provision_backoff{300'000};
  asic::AdaptiveTimeout timeout;  // max = firmware.request_timeout
};

// Declares the poller's keys (poll.*, firmware.*, secrets.key).
void declare_config(config::Schema& schema);
// REQUIRES: the keys of declare_config and the runtime's "interval". Throws runtime::ConfigError.
PollerOptions options_from(const config::Config& config);

class StatusPoller {
 public:
  // `owner` is this process's instance id (the lease owner).
  StatusPoller(PollerOptions options, secrets::SecretBox box, db::ConnectionOptions database,
               std::string owner, std::unique_ptr<firmware::HttpTransport> transport);
  ~StatusPoller();

  runtime::CycleReport run_cycle(runtime::CycleContext& ctx);

 private:
  struct Cycle;
  PollerOptions options_;
  secrets::SecretBox box_;
  db::ConnectionOptions database_;
  std::string owner_;
  std::unique_ptr<firmware::HttpTransport> transport_;
  double fleet_latency_ms_ = 0;  // recent mean answer time of all miners (poll_timeout)
  // Partitions made ahead and the retention policy set: on the first cycle, then every 30 min.
  runtime::PeriodicChore partition_upkeep_{{.period = std::chrono::minutes(30)}};
};

}  // namespace fleet::poller
