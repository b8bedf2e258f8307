// How the api-gateway reaches HiveOS: only to validate a personal token when an account is added
// or its token / URL changes (GET /auth/check). The sync and the commands run elsewhere
// (hiveos-sync, the action-dispatcher's hiveos channel).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "hiveos/api.h"

namespace fleet::gateway {

// Asks HiveOS at `base_url` whether `token` is good: true (204), or the ApiError.
using HiveosTokenCheck =
    std::function<hiveos::ApiResult<bool>(const std::string& base_url, const std::string& token)>;

struct HiveosAccountOptions {
  bool allow_http = false;  // accept http:// base URLs (hiveos-sim on loopback); https otherwise
  // Unset: accounts cannot be added or get a new token (503).
  HiveosTokenCheck check_token;
};

// The check through hiveos::make_http_api (TLS verified unless `verify_tls` is false).
HiveosTokenCheck http_token_check(std::chrono::milliseconds timeout, bool verify_tls);

}  // namespace fleet::gateway
