// The service_instances row of this process (DESIGN §2: one row per running process, refreshed
// every cycle, read by `fleetctl status` and the dashboard).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/transaction_base>

namespace fleet::runtime {

struct InstanceRow {
  std::string instance_id;
  std::string service;
  std::string host;
  int pid = 0;
  std::string version;
  std::string mode;   // loop | once | dry-run
  std::string state;  // starting | running | stopping | stopped | failed
  double started_at = 0;  // Unix seconds
  std::int64_t interval_ms = 0;
  std::optional<int> health_port;
  std::optional<bool> leader;
  std::int64_t cycles = 0;
  std::int64_t cycle_errors = 0;
  int consecutive_failures = 0;
  std::int64_t items_processed = 0;
  std::optional<double> last_cycle_at;    // Unix seconds
  std::optional<double> last_cycle_ms;
  std::optional<double> last_success_at;  // Unix seconds
  std::optional<std::string> last_error;  // already redacted
  std::optional<double> last_error_at;    // Unix seconds
  std::string stats_json = "{}";
};

// Inserts or refreshes the row; heartbeat_at becomes the database's now().
void write_instance_row(pqxx::transaction_base& tx, const InstanceRow& row);

// A unique id for this process: <host>/<service>/<pid>-<random hex>.
std::string make_instance_id(const std::string& host, const std::string& service, int pid);

std::string host_name();

}  // namespace fleet::runtime
