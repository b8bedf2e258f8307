// The HiveOS API v2 as fleetward uses it: an interface, so the sync cycle and the dispatcher's
// hiveos channel are tested with a scripted fake and run against HiveOS (or hiveos-sim) with
// HttpApi. Every call is one HTTP request with `Authorization: Bearer <token>` (the token is
// never logged and never appears in an Error message).
//
// Errors (ApiError::kind):
//   kUnauthenticated     401 (token revoked or wrong)          -> account failing, no retry
//   kResourceExhausted   429, or 403 "Too many requests"       -> retry_after set (Retry-After
//                        seconds or HTTP date; a default when absent)
//   kUnavailable         5xx, 521, connect failure, reset      -> backoff with jitter
//   kDeadlineExceeded    timeout
//   kDataLoss            body over the caps, not JSON, wrong shape
//   kNotFound            404 (farm or worker gone)
//   kPermissionDenied    other 403
//   kInvalidArgument     other 4xx (the message carries HiveOS's "message" field, capped)
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "hiveos/model.h"
#include "hiveos/parse.h"

namespace fleet::hiveos {

struct ApiError {
  ErrorKind kind = ErrorKind::kUnavailable;
  std::string message;  // "HTTP 503 from GET /farms/12/workers", never the token
  int http_status = 0;  // 0 when no answer
  std::optional<std::chrono::seconds> retry_after;
};

template <class T>
using ApiResult = std::variant<T, ApiError>;  // index 0 = success

class Api {
 public:
  virtual ~Api() = default;
  virtual ApiResult<bool> auth_check() = 0;  // GET /auth/check: 204 -> true
  virtual ApiResult<Parsed<Farm>> farms() = 0;
  virtual ApiResult<Parsed<Worker>> workers(std::int64_t farm_id) = 0;
  virtual ApiResult<std::vector<SentCommand>> command(std::int64_t farm_id, std::int64_t worker_id,
                                                      const Command& command) = 0;
  virtual ApiResult<std::vector<SentCommand>> command_bulk(
      std::int64_t farm_id, const std::vector<std::int64_t>& worker_ids,
      const Command& command) = 0;
  // Messages of a worker, newest first (page 1, per_page up to 50, with_payload=1); `since_unix`
  // becomes start_time when set.
  virtual ApiResult<Parsed<Message>> messages(std::int64_t farm_id, std::int64_t worker_id,
                                              std::optional<std::int64_t> since_unix) = 0;
};

struct HttpApiOptions {
  std::string base_url;  // "https://api2.hiveos.farm/api/v2" or hiveos-sim's
  std::string token;     // the personal token (opened from hiveos_accounts.token_enc)
  std::chrono::milliseconds connect_timeout{3000};
  std::chrono::milliseconds timeout{15000};
  std::chrono::seconds default_retry_after{30};  // a 429 without Retry-After
  ParseLimits limits;
  bool verify_tls = true;
};

// One blocking libcurl easy handle per object (not thread-safe; one per thread). No proxy from
// the environment, TLS verification on, redirects not followed, body capped while it is read.
std::unique_ptr<Api> make_http_api(HttpApiOptions options);

}  // namespace fleet::hiveos
