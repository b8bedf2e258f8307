// The chip telemetry loop (seed 003 §3, every 60 s): claim due miners (the status loop's filter),
// GET /chains from thousands at once, store each chain as one compact chip_telemetry row by COPY
// on a writer thread, and surface anomalies (dead chains, red/orange and throttled chips) as
// metrics rules can use. Keeps its partitions (made ahead, dropped after retention_days).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "asic/firmware_config.h"
#include "asic/poll_schedule.h"
#include "config/config.h"
#include "db/connection_options.h"
#include "runtime/periodic_chore.h"
#include "runtime/worker.h"

namespace fleet::firmware {
class HttpTransport;
}

namespace fleet::telemetry {

struct TelemetryOptions {
  asic::FirmwareSettings firmware;
  asic::PollSchedule schedule;  // interval = the worker's --interval (60 s)
  int claim_batch = 500;
  int persist_batch = 500;  // miners per transaction (x 3 chains)
  int max_per_cycle = 100'000;
  std::chrono::milliseconds lease{120'000};
  bool readings = true;
  int retention_days = 7;  // chip_telemetry partitions kept (sets its partition policy)
};

void declare_config(config::Schema& schema);
TelemetryOptions options_from(const config::Config& config);  // throws runtime::ConfigError

class TelemetryWorker {
 public:
  TelemetryWorker(TelemetryOptions options, db::ConnectionOptions database, std::string owner,
                  std::unique_ptr<firmware::HttpTransport> transport);
  ~TelemetryWorker();

  runtime::CycleReport run_cycle(runtime::CycleContext& ctx);

 private:
  struct Cycle;
  void keep_partitions(runtime::CycleContext& ctx);

  TelemetryOptions options_;
  db::ConnectionOptions database_;
  std::string owner_;
  std::unique_ptr<firmware::HttpTransport> transport_;
  // Both run on the first cycle, then every 30 min and every hour.
  runtime::PeriodicChore partition_upkeep_{{.period = std::chrono::minutes(30)}};
  runtime::PeriodicChore retention_drop_{{.period = std::chrono::hours(1)}};
};

}  // namespace fleet::telemetry
