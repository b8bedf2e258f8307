// fleetctl commands. Each returns the process exit code and prints to stdout (errors to stderr).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "context.h"

namespace fleet::cli {

struct MigrateOptions {
  std::string dir;               // "" = the migrations compiled into fleetctl
  int target = 0;                // 0 = all
  int wait_seconds = 0;          // keep trying to connect this long (a database still starting)
  bool create_database = false;  // create the configured database when it does not exist
};
int migrate_apply(Context& ctx, const MigrateOptions& options);
int migrate_status(Context& ctx, const MigrateOptions& options);
int migrate_verify(Context& ctx, const MigrateOptions& options);

struct StatusOptions {
  bool all = false;  // include processes that stopped over an hour ago
  bool json = false;
  std::string service;  // only this service
};
int show_status(Context& ctx, const StatusOptions& options);

// "running", "stale" (no heartbeat for too long: the process probably died), or the stored state.
std::string effective_state(const std::string& state, double heartbeat_age_seconds,
                            double interval_seconds);

int db_connections(Context& ctx, bool all, bool json);

struct TailOptions {
  size_t lines = 10;
  bool follow = false;
  std::string dir;  // "" = logs.dir from the configuration
  std::vector<std::string> services;
};
int logs_tail(Context& ctx, const TailOptions& options);

struct UsersOptions {
  std::string action;  // add, list, set-role, disable, enable, passwd, delete
  std::string name;
  std::string role;
  bool password_stdin = false;
  bool generate_password = false;  // add: make a random password and print it
};
int users_command(Context& ctx, const UsersOptions& options);

struct KeysOptions {
  std::string action;  // create, list, revoke
  std::string user;
  std::string name;
  std::string role;                  // "" = the owner's role
  int expires_days = 90;             // every key expires
  std::vector<std::string> devices;  // ingest keys: the devices (names or "prefix*") it may write
  std::int64_t id = 0;
};
int keys_command(Context& ctx, const KeysOptions& options);

struct SecretsOptions {
  bool dry_run = false;  // count only
};
// secrets reseal: miner secrets sealed as v1 (not bound to their place) sealed again as v2.
int secrets_command(Context& ctx, const SecretsOptions& options);

struct MonitorOptions {
  std::string services_file;       // "" = $FLEET_SERVICES_FILE or ./services.json
  std::vector<std::string> names;  // up: only these (and their dependencies); restart: these
  int interval_seconds = 10;       // watch refresh; up: status table period (0 = none)
  bool once = false;               // watch: print once and exit
};
int monitor_up(const MonitorOptions& options);
int monitor_watch(const MonitorOptions& options);
int monitor_restart(const MonitorOptions& options);

}  // namespace fleet::cli
