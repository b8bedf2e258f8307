#include "firmware/client.h"

#include <nlohmann/json.hpp>

namespace fleet::firmware {

using json = nlohmann::json;

VnishClient::VnishClient(HttpTransport& transport, MinerEndpoint miner, ApiOptions options)
    : transport_(transport), miner_(std::move(miner)), options_(options) {}

Result<HttpResponse> VnishClient::call(HttpRequest::Method method, std::string_view path,
                                       std::string body, bool authenticated) {
  auto request = [&] {
    const Credentials creds = authenticated ? credentials_ : Credentials{};
    return method == HttpRequest::Method::kGet ? get_request(miner_, path, options_, creds)
                                               : post_request(miner_, path, body, options_, creds);
  };
  HttpResponse r = fetch(transport_, request());
  Status s = classify(r, path);
  if (!s.ok() && s.error().kind() == ErrorKind::kUnauthenticated && authenticated &&
      !password_.empty()) {
    // The token expired or the key alone is not enough for this call: unlock once and retry.
    if (Status u = unlock(); !u.ok()) return u.error();
    r = fetch(transport_, request());
    s = classify(r, path);
  }
  if (!s.ok()) return s.error();
  return r;
}

Result<InfoPayload> VnishClient::info(FieldIssues* issues) {
  auto r = call(HttpRequest::Method::kGet, paths::kInfo, "", false);
  if (!r.ok()) return r.error();
  return parse_info(r->body, options_.limits, issues);
}

Result<ModelPayload> VnishClient::model(FieldIssues* issues) {
  auto r = call(HttpRequest::Method::kGet, paths::kModel, "", false);
  if (!r.ok()) return r.error();
  return parse_model(r->body, options_.limits, issues);
}

Result<StatusPane> VnishClient::status(FieldIssues* issues) {
  auto r = call(HttpRequest::Method::kGet, paths::kStatus, "", false);
  if (!r.ok()) return r.error();
  return parse_status(r->body, options_.limits, issues);
}

Result<ChainsPayload> VnishClient::chains(FieldIssues* issues) {
  auto r = call(HttpRequest::Method::kGet, paths::kChains, "", false);
  if (!r.ok()) return r.error();
  return parse_chains(r->body, options_.limits, issues);
}

Result<PerfSummary> VnishClient::perf_summary(FieldIssues* issues) {
  auto r = call(HttpRequest::Method::kGet, paths::kPerfSummary, "", false);
  if (!r.ok()) return r.error();
  return parse_perf_summary(r->body, options_.limits, issues);
}

Result<SummaryPayload> VnishClient::summary(HashMeasure measure, FieldIssues* issues) {
  auto r = call(HttpRequest::Method::kGet, paths::kSummary, "", true);
  if (!r.ok()) return r.error();
  return parse_summary(r->body, measure, options_.limits, issues);
}

Result<std::vector<Preset>> VnishClient::presets(FieldIssues* issues) {
  auto r = call(HttpRequest::Method::kGet, paths::kPresets, "", true);
  if (!r.ok()) return r.error();
  return parse_presets(r->body, options_.limits, issues);
}

Result<SettingsView> VnishClient::settings() {
  auto r = call(HttpRequest::Method::kGet, paths::kSettings, "", true);
  if (!r.ok()) return r.error();
  return parse_settings(r->body, options_.limits);
}

Status VnishClient::auth_check() {
  HttpResponse r =
      fetch(transport_, get_request(miner_, paths::kAuthCheck, options_, credentials_));
  return classify(r, paths::kAuthCheck);
}

Status VnishClient::unlock() {
  json body = {{"pw", password_}};
  HttpResponse r = fetch(transport_, post_request(miner_, paths::kUnlock, body.dump(), options_));
  if (Status s = classify(r, paths::kUnlock); !s.ok()) {
    if (s.error().kind() == ErrorKind::kPermissionDenied) {
      return Error(ErrorKind::kPermissionDenied, "/unlock: wrong unlock password");
    }
    return s;
  }
  auto token = parse_unlock(r.body, options_.limits);
  if (!token.ok()) return token.error();
  credentials_.bearer_token = std::move(*token);
  return Status::success();
}

Result<std::vector<ApiKeyEntry>> VnishClient::api_keys() {
  auto r = call(HttpRequest::Method::kGet, paths::kApiKeys, "", true);
  if (!r.ok()) return r.error();
  return parse_api_keys(r->body, options_.limits);
}

Result<std::string> VnishClient::add_api_key(const std::string& key,
                                             const std::string& description) {
  json body = {{"key", key}, {"description", description}};
  auto r = call(HttpRequest::Method::kPost, paths::kApiKeys, body.dump(), true);
  if (!r.ok()) return r.error();
  return parse_add_key_status(r->body, options_.limits);
}

Status VnishClient::delete_api_key(const std::string& key) {
  json body = {{"key", key}};
  auto r = call(HttpRequest::Method::kPost, paths::kApiKeysDelete, body.dump(), true);
  if (!r.ok()) return r.error();
  return Status::success();
}

Status VnishClient::mining(MiningAction action) {
  auto r = call(HttpRequest::Method::kPost, path_of(action), "", true);
  if (!r.ok()) return r.error();
  return Status::success();
}

Result<std::optional<std::int64_t>> VnishClient::reboot(std::int64_t after_seconds) {
  json body = {{"after", after_seconds}};
  auto r = call(HttpRequest::Method::kPost, paths::kReboot, body.dump(), true);
  if (!r.ok()) return r.error();
  return parse_reboot(r->body, options_.limits);
}

Result<std::optional<bool>> VnishClient::find_miner() {
  auto r = call(HttpRequest::Method::kPost, paths::kFindMiner, "", true);
  if (!r.ok()) return r.error();
  if (r->body.empty()) return std::optional<bool>();
  return parse_find_miner(r->body, options_.limits);
}

Result<SaveConfigResult> VnishClient::switch_preset(const std::string& preset) {
  json body = {{"miner", {{"overclock", {{"preset", preset}}}}}};
  auto r = call(HttpRequest::Method::kPost, paths::kSettings, body.dump(), true);
  if (!r.ok()) return r.error();
  auto result = parse_save_config(r->body, options_.limits);
  if (!result.ok()) return result.error();
  auto now = settings();
  if (!now.ok()) return now.error();
  if (now->preset != preset) {
    return Error(ErrorKind::kFailedPrecondition, "/settings: preset is still '" + now->preset +
                                                     "' after switching to '" + preset + "'");
  }
  return result;
}

}  // namespace fleet::firmware
