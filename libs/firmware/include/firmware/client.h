// A blocking client for one miner: every read and control endpoint of the Vnish API the fleet
// uses. For one-off calls (control actions, tools, rescans); the pollers use the asynchronous
// requests of firmware/vnish_api.h directly to reach thousands of miners at once.
//
// Authentication: calls that need it send the API key (x-api-key) and, once unlocked, the bearer
// token too. A 401 with a password set unlocks once and retries (PowerHive-v2's policy); the key
// itself is never re-created here (see firmware/provisioning.h).
//
// Not thread-safe; the transport must have nothing else pending while a call runs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "firmware/http.h"
#include "firmware/payloads.h"
#include "firmware/vnish_api.h"

namespace fleet::firmware {

class VnishClient {
 public:
  VnishClient(HttpTransport& transport, MinerEndpoint miner, ApiOptions options = {});

  void set_api_key(std::string key) { credentials_.api_key = std::move(key); }
  void set_password(std::string password) { password_ = std::move(password); }

  // Reads (no auth).
  Result<InfoPayload> info(FieldIssues* issues = nullptr);
  Result<ModelPayload> model(FieldIssues* issues = nullptr);
  Result<StatusPane> status(FieldIssues* issues = nullptr);
  Result<ChainsPayload> chains(FieldIssues* issues = nullptr);
  Result<PerfSummary> perf_summary(FieldIssues* issues = nullptr);
  // Reads (API key or token).
  Result<SummaryPayload> summary(HashMeasure measure = HashMeasure::kGhs,
                                 FieldIssues* issues = nullptr);
  Result<std::vector<Preset>> presets(FieldIssues* issues = nullptr);
  Result<SettingsView> settings();
  // OK when the current credentials are accepted; kUnauthenticated when not.
  Status auth_check();

  // Auth: POST /unlock with the password; keeps the token for later calls.
  Status unlock();
  Result<std::vector<ApiKeyEntry>> api_keys();
  Result<std::string> add_api_key(const std::string& key, const std::string& description);
  Status delete_api_key(const std::string& key);

  // Control.
  Status mining(MiningAction action);
  // Reboots the controller after `after_seconds` (the firmware's default is 3).
  Result<std::optional<std::int64_t>> reboot(std::int64_t after_seconds = 3);
  // Toggles the locate LED; the new state when the firmware says it.
  Result<std::optional<bool>> find_miner();
  // Switches the autotune preset (POST /settings miner.overclock.preset) and verifies it by
  // reading /settings back: the firmware may answer success without applying it.
  // kFailedPrecondition when the read-back shows another preset.
  Result<SaveConfigResult> switch_preset(const std::string& preset);

 private:
  Result<HttpResponse> call(HttpRequest::Method method, std::string_view path, std::string body,
                            bool authenticated);

  HttpTransport& transport_;
  MinerEndpoint miner_;
  ApiOptions options_;
  Credentials credentials_;
  std::string password_;
};

}  // namespace fleet::firmware
