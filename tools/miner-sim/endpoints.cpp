#include "endpoints.h"

namespace fleet::minersim {
namespace {

constexpr std::string_view kPaths[] = {
    "/",
    "/api/v1/info",
    "/api/v1/model",
    "/api/v1/unlock",
    "/api/v1/lock",
    "/api/v1/lock/others",
    "/api/v1/auth-check",
    "/api/v1/apikeys",
    "/api/v1/apikeys/delete",
    "/api/v1/status",
    "/api/v1/summary",
    "/api/v1/perf-summary",
    "/api/v1/chains",
    "/api/v1/chains/factory-info",
    "/api/v1/chips",
    "/api/v1/autotune/presets",
    "/api/v1/settings",
    "/api/v1/mining/start",
    "/api/v1/mining/stop",
    "/api/v1/mining/pause",
    "/api/v1/mining/resume",
    "/api/v1/mining/restart",
    "/api/v1/mining/switch-pool",
    "/api/v1/system/reboot",
    "/api/v1/find-miner",
    "/api/v1/logs",
    "other",
};
static_assert(std::size(kPaths) == static_cast<size_t>(kEndpointCount));

}  // namespace

std::string_view endpoint_path(Endpoint e) {
  return kPaths[static_cast<int>(e)];
}

Endpoint classify_path(std::string_view path) {
  // "/api/v1/summary/" is a different route: 404, as on the firmware's exact-match router.
  if (path.size() > 1 && path.back() == '/') return Endpoint::kUnknown;
  if (path == "/" || path == "/index.html") return Endpoint::kRoot;
  constexpr std::string_view kLogsPrefix = "/api/v1/logs/";
  if (path.substr(0, kLogsPrefix.size()) == kLogsPrefix) return Endpoint::kLogs;
  for (int i = 1; i < kEndpointCount - 2; ++i) {
    if (kPaths[i] == path) return static_cast<Endpoint>(i);
  }
  return Endpoint::kUnknown;
}

}  // namespace fleet::minersim
