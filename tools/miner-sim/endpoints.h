// The firmware endpoints the simulator serves, as a small enum so per-miner request counters are a
// flat array (10,000 miners x every endpoint) instead of a map per miner.
#pragma once

#include <string_view>

namespace fleet::minersim {

enum class Endpoint : int {
  kRoot,  // GET / (the web UI page; pyasic identifies Vnish by "AnthillOS" in it)
  kInfo,
  kModel,
  kUnlock,
  kLock,
  kLockOthers,
  kAuthCheck,
  kApiKeys,
  kApiKeysDelete,
  kStatus,
  kSummary,
  kPerfSummary,
  kChains,
  kChainsFactoryInfo,
  kChips,
  kAutotunePresets,
  kSettings,
  kMiningStart,
  kMiningStop,
  kMiningPause,
  kMiningResume,
  kMiningRestart,
  kMiningSwitchPool,
  kSystemReboot,
  kFindMiner,
  kLogs,
  kUnknown,
  kCount
};

constexpr int kEndpointCount = static_cast<int>(Endpoint::kCount);

// The request path for counters and the control API's /stats, e.g. "/api/v1/summary".
// kLogs counts every /api/v1/logs/{type}; kUnknown is reported as "other".
std::string_view endpoint_path(Endpoint e);

// Maps a request path (without query) to its endpoint.
Endpoint classify_path(std::string_view path);

}  // namespace fleet::minersim
