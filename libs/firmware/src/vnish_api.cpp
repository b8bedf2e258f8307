#include "firmware/vnish_api.h"

#include "core/strings.h"

namespace fleet::firmware {

std::string MinerEndpoint::base_url() const {
  return "http://" + host + ":" + std::to_string(port) + "/api/v1";
}

namespace {

HttpRequest base_request(const MinerEndpoint& miner, std::string_view path,
                         const ApiOptions& options, const Credentials& credentials) {
  HttpRequest r;
  r.url = miner.base_url() + std::string(path);
  r.connect_timeout = options.connect_timeout;
  r.timeout = options.timeout;
  r.max_body_bytes = options.limits.max_bytes;
  r.headers.emplace_back("Accept: application/json");
  if (!credentials.api_key.empty()) r.headers.push_back("x-api-key: " + credentials.api_key);
  if (!credentials.bearer_token.empty()) {
    r.headers.push_back("Authorization: Bearer " + credentials.bearer_token);
  }
  return r;
}

Error http_error(ErrorKind kind, const HttpResponse& r, std::string_view what) {
  std::string message = std::string(what) + ": HTTP " + std::to_string(r.status);
  if (std::string err = error_text(r.body); !err.empty()) {
    message += " (" + redact_secrets(err) + ")";
  }
  return Error(kind, std::move(message));
}

}  // namespace

HttpRequest get_request(const MinerEndpoint& miner, std::string_view path,
                        const ApiOptions& options, const Credentials& credentials) {
  return base_request(miner, path, options, credentials);
}

HttpRequest post_request(const MinerEndpoint& miner, std::string_view path, std::string body,
                         const ApiOptions& options, const Credentials& credentials) {
  HttpRequest r = base_request(miner, path, options, credentials);
  r.method = HttpRequest::Method::kPost;
  r.body = std::move(body);
  return r;
}

Status classify(const HttpResponse& r, std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  switch (r.failure) {
    case TransportFailure::kNone:
      break;
    case TransportFailure::kRefused:
    case TransportFailure::kReset:
    case TransportFailure::kOther:
      return Error(ErrorKind::kUnavailable, prefix + std::string(to_string(r.failure)));
    case TransportFailure::kConnectTimeout:
    case TransportFailure::kTimeout:
      return Error(ErrorKind::kDeadlineExceeded, prefix + std::string(to_string(r.failure)));
    case TransportFailure::kTooLarge:
      return Error(ErrorKind::kDataLoss, prefix + "body exceeds the size limit");
    case TransportFailure::kCancelled:
      return Error(ErrorKind::kCancelled, prefix + "cancelled");
  }
  if (r.status >= 200 && r.status < 300) return Status::success();
  if (r.status == 401) return http_error(ErrorKind::kUnauthenticated, r, what);
  if (r.status == 403) return http_error(ErrorKind::kPermissionDenied, r, what);
  if (r.status == 404) return http_error(ErrorKind::kNotFound, r, what);
  if (r.status == 408) return http_error(ErrorKind::kDeadlineExceeded, r, what);
  if (r.status == 429) return http_error(ErrorKind::kResourceExhausted, r, what);
  if (r.status >= 500 || r.status < 200) return http_error(ErrorKind::kUnavailable, r, what);
  return http_error(ErrorKind::kInvalidArgument, r, what);
}

std::string_view path_of(MiningAction action) {
  switch (action) {
    case MiningAction::kStart:
      return "/mining/start";
    case MiningAction::kStop:
      return "/mining/stop";
    case MiningAction::kPause:
      return "/mining/pause";
    case MiningAction::kResume:
      return "/mining/resume";
    case MiningAction::kRestart:
      return "/mining/restart";
  }
  return "/mining/restart";
}

}  // namespace fleet::firmware
