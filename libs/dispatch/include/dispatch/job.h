// One command as the dispatcher hands it to a channel, what the channel reports back, and the
// channel interface itself. Channels (firmware, relay, later hiveos and agent) carry a job out on
// their own threads and report exactly once; the dispatcher records the outcome.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace fleet::dispatch {

// Where a miner's firmware API is and its sealed secrets (from `miners`).
struct MinerTarget {
  std::string ip;
  int port = 80;
  std::string mac;
  std::optional<std::string> api_key_enc;
  std::optional<std::string> unlock_pass_enc;
};

// The worker's relay mapping and its controller (relay_mappings + relay_controllers).
struct RelayTarget {
  std::int64_t controller_id = 0;
  std::string controller_name;
  std::string driver;  // fleetward | tasmota
  std::string topic;
  int channel = 1;
  std::string wiring;  // power_button | mains
  int pulse_ms = 500;
  int hold_ms = 6000;
  int off_ms = 10000;
};

// A HiveOS worker's account and ids (rigs + hiveos_accounts), for the hiveos channel.
struct HiveosTarget {
  std::int64_t account_id = 0;
  std::string account_name;
  std::string base_url;   // "https://api2.hiveos.farm/api/v2" or hiveos-sim's
  std::string token_enc;  // sealed under secrets::hiveos_token_context(account_id)
  bool account_enabled = true;
  bool exec_enabled = false;   // an admin allowed `exec` (a remote shell) for this account
  std::int64_t farm_id = 0;    // HiveOS farm id
  std::int64_t worker_id = 0;  // HiveOS worker id
  bool removed = false;        // gone from HiveOS (rigs.removed_at set)
};

struct CommandJob {
  std::int64_t id = 0;
  std::int64_t worker_id = 0;
  std::string worker_name;
  std::string worker_kind;
  std::string action;
  std::string params_json = "{}";
  std::string channel;  // firmware | hiveos | relay | agent
  int attempt = 1;      // this send's number (1 = first)
  int max_attempts = 3;
  std::string request_id;  // "cmd-<id>-<attempt>": unique per send, carried to the device
  std::optional<MinerTarget> miner;
  std::optional<RelayTarget> relay;
  std::optional<HiveosTarget> hiveos;
};

struct Outcome {
  enum class Kind {
    kSucceeded,
    kFailed,     // permanent: retrying cannot help (or the device refused)
    kRetry,      // transient, and nothing reached the device: safe to send again
    kUncertain,  // the device may have acted (sent, no answer): sent again only if idempotent
  };
  Kind kind = Kind::kFailed;
  std::string reason;              // "" on success
  std::string result_json = "{}";  // a JSON object stored in commands.result
  // A miner API key re-provisioned while carrying the command out, sealed: stored with the result.
  std::optional<std::string> new_api_key_enc;

  static Outcome succeeded(std::string result_json = "{}") {
    return {Kind::kSucceeded, "", std::move(result_json), std::nullopt};
  }
  static Outcome failed(std::string reason, std::string result_json = "{}") {
    return {Kind::kFailed, std::move(reason), std::move(result_json), std::nullopt};
  }
  static Outcome retry(std::string reason, std::string result_json = "{}") {
    return {Kind::kRetry, std::move(reason), std::move(result_json), std::nullopt};
  }
  static Outcome uncertain(std::string reason, std::string result_json = "{}") {
    return {Kind::kUncertain, std::move(reason), std::move(result_json), std::nullopt};
  }
};

class Channel {
 public:
  using Done = std::function<void(Outcome)>;
  virtual ~Channel() = default;
  // Carries `job` out. `done` runs exactly once, on another thread (never inside execute()).
  virtual void execute(CommandJob job, Done done) = 0;
  // Waits (up to `timeout`) for running jobs to report, then stops accepting work.
  virtual void shutdown(std::chrono::milliseconds timeout) = 0;
};

// Whether sending the action twice does no more than sending it once (set_preset, start/stop,
// relay on/off). A non-idempotent command whose send is uncertain is never sent again.
bool is_idempotent(const std::string& action, const std::string& params_json);

}  // namespace fleet::dispatch
