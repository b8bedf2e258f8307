#include "miner.h"

#include <algorithm>

#include "rng.h"

namespace fleet::minersim {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

std::string base64url(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (i + 2 == in.size()) {
    const uint32_t n = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

}  // namespace

std::string_view to_string(MinerStateKind s) {
  switch (s) {
    case MinerStateKind::kMining:
      return "mining";
    case MinerStateKind::kInitializing:
      return "initializing";
    case MinerStateKind::kStarting:
      return "starting";
    case MinerStateKind::kAutoTuning:
      return "auto-tuning";
    case MinerStateKind::kRestarting:
      return "restarting";
    case MinerStateKind::kShuttingDown:
      return "shutting-down";
    case MinerStateKind::kStopped:
      return "stopped";
    case MinerStateKind::kFailure:
      return "failure";
  }
  return "unknown";
}

bool valid_api_key_format(std::string_view key) {
  if (key.size() != 32) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
}

Miner::Miner(MinerIdentity identity, std::string password, MinerTiming timing, Now boot_at)
    : id_(std::move(identity)), password_(std::move(password)), timing_(timing) {
  preset_ = &id_.model->presets.front();
  drift.updated = boot_at.steady;
  // Start mining right away (the simulator "booted" long ago), with a plausible uptime.
  Rng rng(hash_keys(id_.seed, 0xb007));
  boot_time_ = boot_at.steady - seconds(rng.between(600, 40 * 86400));
  state_ = MinerStateKind::kMining;
  state_since_ = boot_time_ + seconds(40);
}

// ---- network presence ----

bool Miner::reachable(Now now) const {
  if (offline_) return false;
  if (reboot_start_ && now.steady >= *reboot_start_ && now.steady < *reboot_end_) return false;
  return true;
}

void Miner::schedule_reboot(Now now, std::chrono::milliseconds after,
                            std::chrono::milliseconds down) {
  reboot_start_ = now.steady + after;
  reboot_end_ = *reboot_start_ + down;
}

bool Miner::finish_reboot_if_due(Now now) {
  if (!reboot_end_ || now.steady < *reboot_end_) return false;
  reboot_start_.reset();
  reboot_end_.reset();
  boot(now);
  return true;
}

void Miner::cancel_reboot(Now now) {
  if (!reboot_start_) return;
  const bool started = now.steady >= *reboot_start_;
  reboot_start_.reset();
  reboot_end_.reset();
  if (started) boot(now);
}

void Miner::boot(Now now) {
  boot_time_ = now.steady;
  tokens_.clear();  // sessions do not survive a reboot; API keys are stored on flash and do
  paused_ = false;
  find_miner_ = false;
  drift.updated = now.steady;
  enter(MinerStateKind::kInitializing, now);
  next_ = MinerStateKind::kMining;
  next_at_ = now.steady + timing_.init_time;
}

int64_t Miner::uptime_seconds(Now now) const {
  return std::max<int64_t>(0, duration_cast<seconds>(now.steady - boot_time_).count());
}

// ---- credentials ----

std::optional<std::string> Miner::unlock(std::string_view password, Now now) {
  if (password != password_) return std::nullopt;
  std::erase_if(tokens_, [&](const Token& t) { return t.expires <= now.steady; });
  if (tokens_.size() >= kMaxTokens) tokens_.erase(tokens_.begin());
  const uint64_t n = ++tokens_issued_;
  const auto exp =
      duration_cast<seconds>((now.wall + timing_.token_ttl).time_since_epoch()).count();
  // JWT-shaped (header.claims.signature); clients must treat it as opaque.
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  const std::string claims =
      R"({"sub":"admin","exp":)" + std::to_string(exp) + R"(,"jti":)" + std::to_string(n) + "}";
  std::string sig(24, '\0');
  for (size_t i = 0; i < sig.size(); i += 8) {
    const uint64_t h = hash_keys(id_.seed, n, static_cast<uint64_t>(exp), i);
    for (size_t b = 0; b < 8; ++b)
      sig[i + b] = static_cast<char>((h >> (8 * b)) & 0xff);
  }
  std::string token = base64url(header) + "." + base64url(claims) + "." + base64url(sig);
  tokens_.push_back({token, now.steady + timing_.token_ttl});
  return token;
}

bool Miner::token_valid(std::string_view token, Now now) const {
  if (token.empty()) return false;
  return std::any_of(tokens_.begin(), tokens_.end(),
                     [&](const Token& t) { return t.value == token && now.steady < t.expires; });
}

void Miner::drop_token(std::string_view token) {
  std::erase_if(tokens_, [&](const Token& t) { return t.value == token; });
}

void Miner::drop_other_tokens(std::string_view keep) {
  std::erase_if(tokens_, [&](const Token& t) { return t.value != keep; });
}

size_t Miner::live_tokens(Now now) const {
  return static_cast<size_t>(std::count_if(tokens_.begin(), tokens_.end(),
                                           [&](const Token& t) { return now.steady < t.expires; }));
}

bool Miner::key_valid(std::string_view key) const {
  if (key.empty()) return false;
  return std::any_of(keys_.begin(), keys_.end(),
                     [&](const ApiKeyEntry& k) { return k.key == key; });
}

AddKeyStatus Miner::add_key(std::string_view key, std::string_view description) {
  if (!valid_api_key_format(key)) return AddKeyStatus::kBadFormat;
  for (auto& k : keys_) {
    if (k.key == key) {
      if (k.description == description) return AddKeyStatus::kNoChanges;
      k.description = std::string(description);
      return AddKeyStatus::kUpdated;
    }
  }
  if (keys_.size() >= kMaxApiKeys) return AddKeyStatus::kStoreFull;
  keys_.push_back({std::string(key), std::string(description)});
  return AddKeyStatus::kInserted;
}

bool Miner::delete_key(std::string_view key) {
  return std::erase_if(keys_, [&](const ApiKeyEntry& k) { return k.key == key; }) > 0;
}

bool Miner::change_password(std::string_view current, std::string_view next) {
  if (current != password_) return false;
  password_ = std::string(next);
  return true;
}

// ---- mining state machine ----

void Miner::enter(MinerStateKind s, Now now) {
  state_ = s;
  state_since_ = now.steady;
  next_.reset();
}

void Miner::advance(Now now) {
  while (next_ && now.steady >= next_at_) {
    const MinerStateKind s = *next_;
    const auto at = next_at_;
    state_ = s;
    state_since_ = at;
    next_.reset();
    if (s == MinerStateKind::kInitializing) {
      next_ = MinerStateKind::kMining;
      next_at_ = at + timing_.init_time;
    } else if (s == MinerStateKind::kStarting) {
      next_ = MinerStateKind::kInitializing;
      next_at_ = at + timing_.transition_time;
    }
  }
}

MinerStateKind Miner::state(Now now) {
  advance(now);
  if (fault_for(FaultKind::kFailure, "") || fault_for(FaultKind::kNoMiner, "")) {
    return MinerStateKind::kFailure;
  }
  return state_;
}

std::chrono::steady_clock::time_point Miner::state_since(Now now) {
  advance(now);
  return state_since_;
}

int64_t Miner::state_seconds(Now now) {
  // The firmware documents miner_state_time for `mining` only; the failure example reports 1.
  if (state(now) == MinerStateKind::kFailure) return 1;
  return std::max<int64_t>(0, duration_cast<seconds>(now.steady - state_since_).count());
}

CommandError Miner::mining_start(Now now) {
  const auto s = state(now);
  if (s != MinerStateKind::kStopped || paused_) {
    return std::string("CGMiner err: Cgminer error failed-to-activate-resume-mode ");
  }
  enter(MinerStateKind::kStarting, now);
  next_ = MinerStateKind::kInitializing;
  next_at_ = now.steady + timing_.transition_time;
  return std::nullopt;
}

CommandError Miner::mining_stop(Now now) {
  const auto s = state(now);
  if (s == MinerStateKind::kStopped || s == MinerStateKind::kShuttingDown) {
    return std::string("CGMiner err: Cgminer error failed-to-activate-pause-mode ");
  }
  paused_ = false;
  enter(MinerStateKind::kShuttingDown, now);
  next_ = MinerStateKind::kStopped;
  next_at_ = now.steady + timing_.transition_time;
  return std::nullopt;
}

CommandError Miner::mining_pause(Now now) {
  if (state(now) != MinerStateKind::kMining) {
    return std::string("CGMiner err: Cgminer error failed-to-activate-pause-mode ");
  }
  // Hashboards stay powered; the firmware has no "paused" state and reports stopped.
  enter(MinerStateKind::kStopped, now);
  paused_ = true;
  return std::nullopt;
}

CommandError Miner::mining_resume(Now now) {
  if (!paused_ || state(now) != MinerStateKind::kStopped) {
    return std::string("CGMiner err: Cgminer error failed-to-activate-resume-mode ");
  }
  paused_ = false;
  enter(MinerStateKind::kMining, now);
  return std::nullopt;
}

CommandError Miner::mining_restart(Now now) {
  paused_ = false;
  enter(MinerStateKind::kRestarting, now);
  next_ = MinerStateKind::kInitializing;
  next_at_ = now.steady + timing_.transition_time;
  return std::nullopt;
}

// ---- settings ----

bool Miner::set_preset(std::string_view name, Now now) {
  const PresetSpec* p = id_.model->find_preset(name);
  if (!p) return false;
  if (p != preset_) {
    preset_ = p;
    // Applying a preset restarts the mining software with the new frequencies/voltages.
    if (state(now) == MinerStateKind::kMining) (void)mining_restart(now);
  }
  return true;
}

bool Miner::switch_pool(int64_t pool_id) {
  if (pool_id != 0 && pool_id != 1) return false;
  active_pool_ = static_cast<int>(pool_id);
  return true;
}

// ---- faults ----

void Miner::add_fault(const Fault& fault) {
  const bool keyed_by_arg =
      fault.kind == FaultKind::kFailingChain || fault.kind == FaultKind::kFanLost;
  std::erase_if(faults_, [&](const Fault& f) {
    return f.kind == fault.kind && f.path == fault.path && (!keyed_by_arg || f.arg == fault.arg);
  });
  faults_.push_back(fault);
  if (fault.kind == FaultKind::kOffline) offline_ = true;
}

void Miner::set_offline(bool offline) {
  if (offline) {
    add_fault({.kind = FaultKind::kOffline});
  } else {
    remove_faults(FaultKind::kOffline);
  }
}

void Miner::remove_faults(FaultKind kind) {
  std::erase_if(faults_, [&](const Fault& f) { return f.kind == kind; });
  if (kind == FaultKind::kOffline) offline_ = false;
}

void Miner::remove_fault(const Fault& fault) {
  std::erase(faults_, fault);
  if (fault.kind == FaultKind::kOffline && !fault_for(FaultKind::kOffline, "")) offline_ = false;
}

void Miner::clear_faults() {
  faults_.clear();
  offline_ = false;
}

const Fault* Miner::fault_for(FaultKind kind, std::string_view path) const {
  for (const auto& f : faults_) {
    if (f.kind == kind && (f.path.empty() || path.empty() || f.path == path)) return &f;
  }
  return nullptr;
}

bool Miner::chain_failing(int chain_id) const {
  return std::any_of(faults_.begin(), faults_.end(), [&](const Fault& f) {
    return f.kind == FaultKind::kFailingChain && f.arg == chain_id;
  });
}

bool Miner::fan_lost(int fan_id) const {
  return std::any_of(faults_.begin(), faults_.end(), [&](const Fault& f) {
    return f.kind == FaultKind::kFanLost && f.arg == fan_id;
  });
}

}  // namespace fleet::minersim
