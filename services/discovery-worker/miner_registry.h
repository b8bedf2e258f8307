// Discovery's SQL: what is known (miners, models, open rescan requests) and one set-based write
// of everything a cycle found (models, new and seen miners, keys, miners gone offline, handled
// rescans). Statement count does not grow with the number of miners.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "discovery_plan.h"
#include "firmware/payloads.h"
#include "miner_probe.h"

namespace fleet::discovery {

std::map<std::string, KnownMiner> load_known_miners(pqxx::transaction_base& tx);
std::map<std::string, KnownModel> load_models(pqxx::transaction_base& tx);

struct RescanRequest {
  std::int64_t id = 0;
  std::optional<std::int64_t> worker_id;
  std::optional<std::string> worker_ip;  // the miner's last IP, when it has one
  std::optional<std::string> mac;
  std::optional<std::string> target;  // "10.0.0.0/24"
};
std::vector<RescanRequest> open_rescan_requests(pqxx::transaction_base& tx);

struct ModelUpdate {
  firmware::ModelPayload model;
  std::optional<std::vector<firmware::Preset>> presets;
};

struct KeyUpdate {
  std::string mac;
  std::optional<std::string> key_enc;  // sealed key to store
  bool verified = false;               // the stored key was accepted
  std::optional<std::string> error;    // provisioning failed
};

struct DiscoveryWrite {
  std::vector<IdentifiedMiner> seen;
  int port = 80;
  bool manage_new = false;
  std::vector<ModelUpdate> models;
  std::vector<KeyUpdate> keys;
  std::vector<std::string> swept_networks;  // CIDR text; miners there not seen go offline
  double partition_share = 0.5;
  std::chrono::milliseconds provision_backoff_max{6 * 3'600'000};
  std::set<std::string> reset_poll_macs;  // rescanned miners: poll them now
  std::vector<std::pair<std::int64_t, std::string>> handled_rescans;  // id, outcome
  // Addresses whose port accepted but whose API did not answer this time (overload, a reboot in
  // progress): the miner known there is neither offline nor updated.
  std::vector<std::string> unanswered_ips;
  std::string instance;
};

struct RegistryChanges {
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t went_offline = 0;
  std::int64_t unreachable = 0;  // partition protection kept their IPs
  std::int64_t keys_stored = 0;
  std::int64_t provision_failed = 0;
  std::int64_t models = 0;
};

// Applies everything in `tx` (the caller commits).
RegistryChanges apply_discovery(pqxx::transaction_base& tx, const DiscoveryWrite& w);

// A model alias the models table accepts; others are not linked.
bool valid_model_alias(const std::string& alias);

}  // namespace fleet::discovery
