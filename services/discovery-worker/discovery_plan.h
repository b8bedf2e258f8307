// What discovery does about the miners it found (pure decisions, no I/O):
//   - which need an API key provisioned: new miners, and known ones whose key is missing or was
//     rejected, once their provisioning backoff has passed (at most `max_provisions` per cycle);
//   - which get their stored key verified first (a rescan asked for them);
//   - which miner's /model and /autotune/presets to read for each model that is unknown, has no
//     presets, or whose presets are older than `model_refresh` (or a rescan asked).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "miner_probe.h"

namespace fleet::discovery {

struct KnownMiner {
  std::int64_t worker_id = 0;
  std::string mac;
  std::optional<std::string> ip;
  std::optional<std::string> model_alias;
  std::string api_key_state = "missing";  // missing | active | rejected
  std::optional<std::string> api_key_enc;
  std::optional<std::string> unlock_pass_enc;
  bool may_provision = true;  // provision_after has passed
};

struct KnownModel {
  std::string alias;
  std::optional<std::chrono::system_clock::time_point> presets_updated_at;
  bool has_presets = false;
};

struct PlanInput {
  const std::vector<IdentifiedMiner>& found;
  const std::map<std::string, KnownMiner>& known;   // by MAC
  const std::map<std::string, KnownModel>& models;  // by alias
  std::chrono::system_clock::time_point now;
  std::chrono::milliseconds model_refresh{6 * 3'600'000};
  std::set<std::string> forced_macs;  // rescans of single miners
  bool force_all = false;             // a full rescan request
  bool provision = true;
  int max_provisions = 1000;
};

struct Plan {
  std::vector<std::size_t> provision;   // indexes into `found`
  std::vector<std::size_t> verify;      // verify the stored key, provision if rejected
  std::vector<std::size_t> model_from;  // one miner per model to refresh
  std::int64_t provision_deferred = 0;  // waiting for their backoff or the per-cycle cap
};

Plan plan_enrichment(const PlanInput& in);

// The key decision for one miner as soon as it is identified (the streaming cycle).
enum class KeyAction { kNone, kProvision, kVerify, kDeferred };
// `provisions_left` is decremented for kProvision.
KeyAction key_action(const std::string& mac, const std::map<std::string, KnownMiner>& known,
                     bool forced, bool provision, int& provisions_left);

// One miner per model to read /model and presets from (preferring one with a key), for the models
// that are unknown, presetless, older than `refresh`, or asked for by a rescan.
std::vector<std::size_t> models_to_refresh(const std::vector<IdentifiedMiner>& found,
                                           const std::vector<bool>& keyed,
                                           const std::vector<bool>& forced,
                                           const std::map<std::string, KnownModel>& models,
                                           std::chrono::system_clock::time_point now,
                                           std::chrono::milliseconds refresh);

// A worker name for a new miner: "<model>-<last three MAC bytes>", e.g. "s19jpro-3cbe1b".
std::string worker_name(const firmware::InfoPayload& info);

}  // namespace fleet::discovery
