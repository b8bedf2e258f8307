// Requests to the Vnish API (/api/v1) and the classification of its answers.
//
// classify() turns an answer into what the caller should do (core/result.h ErrorKind):
//   transient  kUnavailable (refused, reset, 5xx), kDeadlineExceeded (timeouts),
//              kResourceExhausted (429)                         -> retry later, with backoff
//   auth       kUnauthenticated (401)                           -> unlock / re-provision the key
//              kPermissionDenied (403, e.g. a wrong password)   -> stop until the password changes
//   permanent  kDataLoss (too large, unparseable), kNotFound (404: e.g. /model on old firmware),
//              kInvalidArgument (other 4xx, e.g. 422 "Wrong apikey format") -> count and report
// Error messages carry the firmware's {"err": ...} text, sanitised; never a key or token.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.h"
#include "firmware/http.h"
#include "firmware/parse.h"

namespace fleet::firmware {

// Where a miner's API is.
struct MinerEndpoint {
  std::string host;  // an IP address literal (discovery never resolves names)
  int port = 80;
  // "http://<host>:<port>/api/v1"
  std::string base_url() const;
};

struct ApiOptions {
  std::chrono::milliseconds connect_timeout{1000};
  std::chrono::milliseconds timeout{3000};  // per request
  PayloadLimits limits{};                   // also caps the download (limits.max_bytes)
};

// How a request authenticates. Both are sent when both are set (some firmware wants both on
// /settings and /system/reboot).
struct Credentials {
  std::string api_key;       // x-api-key
  std::string bearer_token;  // from POST /unlock
};

// Paths under /api/v1.
namespace paths {
inline constexpr std::string_view kInfo = "/info";
inline constexpr std::string_view kModel = "/model";
inline constexpr std::string_view kUnlock = "/unlock";
inline constexpr std::string_view kApiKeys = "/apikeys";
inline constexpr std::string_view kApiKeysDelete = "/apikeys/delete";
inline constexpr std::string_view kAuthCheck = "/auth-check";
inline constexpr std::string_view kStatus = "/status";
inline constexpr std::string_view kSummary = "/summary";
inline constexpr std::string_view kChains = "/chains";
inline constexpr std::string_view kPresets = "/autotune/presets";
inline constexpr std::string_view kSettings = "/settings";
inline constexpr std::string_view kPerfSummary = "/perf-summary";
inline constexpr std::string_view kReboot = "/system/reboot";
inline constexpr std::string_view kFindMiner = "/find-miner";
}  // namespace paths

HttpRequest get_request(const MinerEndpoint& miner, std::string_view path,
                        const ApiOptions& options, const Credentials& credentials = {});
HttpRequest post_request(const MinerEndpoint& miner, std::string_view path, std::string body,
                         const ApiOptions& options, const Credentials& credentials = {});

// Success for a 2xx answer, else an Error whose kind says what to do (see above). `what` names
// the call in the message, e.g. "/summary".
Status classify(const HttpResponse& response, std::string_view what);

// Hardware actions under /mining.
enum class MiningAction { kStart, kStop, kPause, kResume, kRestart };
std::string_view path_of(MiningAction action);  // "/mining/restart"

}  // namespace fleet::firmware
