// One simulated miner: identity, credentials (unlock password, tokens, API keys), the mining state
// machine, the current preset, injected faults and request counters. Plain logic: time comes in
// as a `Now` argument so tests drive it; no sockets here.
//
// Thread-safety: none. Each miner is owned by one event-loop thread; others post work to it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "endpoints.h"
#include "fault.h"
#include "models.h"

namespace fleet::minersim {

struct Now {
  std::chrono::steady_clock::time_point steady;
  std::chrono::system_clock::time_point wall;

  static Now real() { return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()}; }
  Now plus(std::chrono::milliseconds d) const { return {steady + d, wall + d}; }
};

// The real MinerState enum of the firmware (vnish-openapi.json).
enum class MinerStateKind {
  kMining,
  kInitializing,
  kStarting,
  kAutoTuning,
  kRestarting,
  kShuttingDown,
  kStopped,
  kFailure
};
std::string_view to_string(MinerStateKind s);

// Which payload generation a miner's firmware speaks (external-apis.md §1.7): "legacy" is
// 1.2.0-beta10 with only the deprecated fields (average_hashrate in TH/s, power_usage, fans
// without status); "current" is 1.2.6-style with hr_* in GH/s, power_consumption, fan status.
enum class FirmwareStyle { kLegacy, kCurrent };
// GET /autotune/presets answers a bare array, or {"presets": [...]} on some versions.
enum class PresetsShape { kBare, kWrapped };

// Fixed at creation (deterministic from --seed and the miner index).
struct MinerIdentity {
  int index = 0;
  uint64_t seed = 0;  // per-miner seed for values and tokens
  const ModelSpec* model = nullptr;
  std::string mac;     // upper-case, "FE:07:26:3C:BE:1B" style
  std::string serial;  // controller serial
  std::string hostname;
  std::string fw_version;
  std::string build_time;
  std::string build_uuid;
  FirmwareStyle style = FirmwareStyle::kCurrent;
  PresetsShape presets_shape = PresetsShape::kBare;
};

// Timing of the simulated firmware.
struct MinerTiming {
  std::chrono::seconds token_ttl{300};              // unlock tokens expire after this
  std::chrono::milliseconds init_time{5000};        // "initializing" after boot / (re)start
  std::chrono::milliseconds transition_time{2000};  // restarting, shutting-down, starting
};

struct ApiKeyEntry {
  std::string key;
  std::string description;
};

enum class AddKeyStatus { kInserted, kUpdated, kNoChanges, kBadFormat, kStoreFull };

// The error text the firmware returns for a refused mining command, or nullopt on success.
using CommandError = std::optional<std::string>;

class Miner {
 public:
  static constexpr size_t kMaxTokens = 16;
  static constexpr size_t kMaxApiKeys = 32;

  Miner(MinerIdentity identity, std::string password, MinerTiming timing, Now boot);

  const MinerIdentity& id() const { return id_; }
  const ModelSpec& model() const { return *id_.model; }
  const MinerTiming& timing() const { return timing_; }

  // ---- network presence (the server keeps the listening socket in line with these) ----
  uint32_t ip() const { return ip_; }  // host byte order
  void set_ip(uint32_t ip) { ip_ = ip; }
  // True when the miner should accept connections now: not offline, not rebooting.
  bool reachable(Now now) const;
  bool offline() const { return offline_; }
  // Adds or removes the "offline" fault.
  void set_offline(bool offline);
  // Schedules a reboot: reachable until now+after, unreachable for `down`, then boots again.
  void schedule_reboot(Now now, std::chrono::milliseconds after, std::chrono::milliseconds down);
  std::optional<std::chrono::steady_clock::time_point> reboot_start() const {
    return reboot_start_;
  }
  std::optional<std::chrono::steady_clock::time_point> reboot_end() const { return reboot_end_; }
  // Completes a due reboot (uptime reset, state initializing). Returns true when it did.
  bool finish_reboot_if_due(Now now);
  // Cancels a pending or running reboot (the miner comes back as if it had booted now).
  void cancel_reboot(Now now);
  int64_t uptime_seconds(Now now) const;

  // ---- credentials ----
  // A fresh token, or nullopt when the password is wrong.
  std::optional<std::string> unlock(std::string_view password, Now now);
  bool token_valid(std::string_view token, Now now) const;
  void drop_token(std::string_view token);
  void drop_other_tokens(std::string_view keep);
  bool key_valid(std::string_view key) const;
  AddKeyStatus add_key(std::string_view key, std::string_view description);
  // True when the key existed.
  bool delete_key(std::string_view key);
  void forget_keys() { keys_.clear(); }
  const std::vector<ApiKeyEntry>& keys() const { return keys_; }
  size_t live_tokens(Now now) const;
  // PasswordChange in POST /settings: false when `current` is wrong.
  bool change_password(std::string_view current, std::string_view next);

  // ---- mining state machine ----
  MinerStateKind state(Now now);
  // Seconds spent in the current state.
  int64_t state_seconds(Now now);
  // When the miner entered the current state.
  std::chrono::steady_clock::time_point state_since(Now now);
  CommandError mining_start(Now now);
  CommandError mining_stop(Now now);
  CommandError mining_pause(Now now);
  CommandError mining_resume(Now now);
  CommandError mining_restart(Now now);

  // ---- settings ----
  const PresetSpec& preset() const { return *preset_; }
  // False (and no change) when the model has no such preset.
  bool set_preset(std::string_view name, Now now);
  bool find_miner() const { return find_miner_; }
  bool toggle_find_miner() { return find_miner_ = !find_miner_; }
  int active_pool() const { return active_pool_; }
  bool switch_pool(int64_t pool_id);
  bool quiet_mode = false;

  // ---- faults ----
  const std::vector<Fault>& faults() const { return faults_; }
  // Adds or replaces (same kind and path; failing_chain/fan_lost also same arg). Events
  // (revoked_key, reboot) are applied by the caller and never stored.
  void add_fault(const Fault& fault);
  void clear_faults();
  // Removes every fault of `kind`.
  void remove_faults(FaultKind kind);
  // Removes exactly this fault (kind, argument and path).
  void remove_fault(const Fault& fault);
  // The fault of `kind` that applies to `path`, if any.
  const Fault* fault_for(FaultKind kind, std::string_view path) const;
  bool chain_failing(int chain_id) const;
  bool fan_lost(int fan_id) const;

  // ---- counters ----
  std::array<uint32_t, kEndpointCount> requests{};
  void count(Endpoint e) { ++requests[static_cast<int>(e)]; }

  // Drifting values (telemetry.h); owned here so every payload of this miner agrees.
  struct Drift {
    std::chrono::steady_clock::time_point updated;
    double hashrate_ratio = 1.0;  // realtime / nominal
    double temp_offset = 0.0;     // °C around the model's typical temperature
    double power_ratio = 1.0;
    uint64_t steps = 0;
  } drift;

 private:
  void enter(MinerStateKind s, Now now);
  void advance(Now now);
  void boot(Now now);

  MinerIdentity id_;
  std::string password_;
  MinerTiming timing_;
  uint32_t ip_ = 0;
  bool offline_ = false;
  std::optional<std::chrono::steady_clock::time_point> reboot_start_;
  std::optional<std::chrono::steady_clock::time_point> reboot_end_;
  std::chrono::steady_clock::time_point boot_time_;

  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  std::vector<Token> tokens_;
  uint64_t tokens_issued_ = 0;
  std::vector<ApiKeyEntry> keys_;

  MinerStateKind state_ = MinerStateKind::kInitializing;
  std::chrono::steady_clock::time_point state_since_;
  // The state the machine moves to at next_at_ (a chain: restarting -> initializing -> mining).
  std::optional<MinerStateKind> next_;
  std::chrono::steady_clock::time_point next_at_;
  bool paused_ = false;

  const PresetSpec* preset_ = nullptr;
  bool find_miner_ = false;
  int active_pool_ = 0;
  std::vector<Fault> faults_;
};

// True for a 32-character hex string: the only API key format the firmware accepts
// (anything else gets 422 "Wrong apikey format").
bool valid_api_key_format(std::string_view key);

}  // namespace fleet::minersim
