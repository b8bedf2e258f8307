// Typed results of the API. Times are the server's ISO 8601 UTC strings; a value the server may
// leave null is an std::optional. Every record keeps the JSON it was read from (`raw`), so fields
// this version does not model stay reachable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fleet::client {

using Labels = std::map<std::string, std::string>;

// --- workers, miners, models ---

struct Worker {
  std::int64_t id = 0;
  std::string kind;  // asic, rig, node, device
  std::string name;
  std::optional<std::int64_t> farm_id;
  std::optional<std::string> farm;
  std::optional<std::string> site;
  std::optional<std::string> ip;
  std::string status;  // pending, online, unhealthy, draining, offline, unreachable, removed
  std::string status_since;
  std::optional<std::string> last_seen_at;
  bool managed = false;
  Labels labels;  // string values only; others are in raw
  std::string raw;
};

struct MetricValue {
  std::optional<double> value;
  std::string json_value;  // JSON text of a structured value, "" when none
  std::string observed_at;
};

// GET /api/workers/{id}: the worker with its latest metrics.
struct WorkerDetail {
  Worker worker;
  std::map<std::string, MetricValue> metrics;
  std::string raw;
};

struct WorkerChange {
  std::optional<std::string> name;
  std::optional<Labels> labels;  // replaces every label
  std::optional<bool> managed;
};

// The latest status summary of a miner.
struct MinerStatusSummary {
  std::int64_t status_id = 0;
  std::string observed_at;
  std::optional<std::string> miner_state;
  std::optional<double> hashrate_ths;
  std::optional<double> hashrate_ratio;
  std::optional<double> power_w;
  std::optional<double> efficiency_jth;
  std::optional<double> chip_temp_max;
  std::optional<double> pcb_temp_max;
  std::optional<std::int64_t> fan_rpm_min;
  std::optional<std::int64_t> chips_red;
  std::optional<std::int64_t> chips_orange;
};

struct Miner {
  std::int64_t id = 0;  // = the worker id
  std::string name;
  std::string mac;
  std::optional<std::string> ip;  // null while offline
  bool online = false;
  std::string status;
  bool managed = false;
  std::optional<std::string> model_alias;
  std::optional<std::string> model_name;
  std::optional<std::string> fw_version;
  std::optional<std::string> last_seen_at;
  std::string api_key_state;  // missing, active, rejected
  std::optional<std::string> last_poll_error;
  bool unlock_password_set = false;
  std::optional<MinerStatusSummary> latest;
  std::string raw;
};

struct Preset {
  std::string name;
  std::string pretty;
  std::string status;
};

struct Model {
  std::string alias;
  std::string full_name;
  std::vector<Preset> presets;
  std::optional<std::string> max_preset;
  std::int64_t miners = 0;
  std::string raw;
};

// --- fleet ---

struct ServiceInstance {
  std::string instance_id;
  std::string service;
  std::string host;
  int pid = 0;
  std::string version;
  std::string mode;
  std::string state;  // running, stale, stopped, failed, ...
  double heartbeat_age_seconds = 0;
  std::int64_t cycles = 0;
  std::int64_t cycle_errors = 0;
  std::int64_t items_processed = 0;
  std::optional<double> last_success_age_seconds;
  std::optional<std::string> last_error;
  std::optional<bool> leader;
  std::optional<int> health_port;
  std::string started_at;
  std::string stats_json;
  std::string raw;
};

struct FleetSummary {
  // kind -> status -> count
  std::map<std::string, std::map<std::string, std::int64_t>> workers;
  double hashrate_ths = 0;
  double power_w = 0;
  std::optional<std::int64_t> alerts_firing;
  std::string raw;
};

// One device reading for POST /api/readings (seed 001).
struct Reading {
  std::int64_t worker_id = 0;
  std::string metric;
  std::optional<double> value;
  std::string json_value_json;    // JSON text, "" = none; a reading needs value or json_value
  std::string metadata_json;      // a JSON object as text, "" = none
  std::optional<std::string> ts;  // RFC 3339; default: now
};

struct ReadingsAccepted {
  std::int64_t accepted = 0;
  std::int64_t inserted = 0;  // new rows (duplicates are ignored)
};

// --- accounts ---

struct User {
  std::int64_t id = 0;
  std::string username;
  std::string role;  // admin, operator, viewer
  bool disabled = false;
  std::string created_at;
  std::optional<std::string> last_login_at;
  std::string raw;
};

// Who the client acts as (GET /api/auth/me).
struct Identity {
  std::int64_t id = 0;
  std::string name;
  std::string role;
  std::string via;  // session or api_key
};

struct ApiKey {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string owner;
  std::string name;
  std::string key_id;
  std::string role;
  std::string created_at;
  std::optional<std::string> last_used_at;
  std::optional<std::string> expires_at;
  std::optional<std::string> revoked_at;
  // The secret key: only in the answer that created it (shown once), else "".
  std::string key;
  std::string raw;
};

}  // namespace fleet::client
