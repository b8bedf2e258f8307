#include "session.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "client/errors.h"
#include "core/backoff.h"
#include "core/clock.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;

// A token this close to its expiry is renewed before use rather than sent and refused.
constexpr std::int64_t kExpirySkewSeconds = 30;

bool has_header(const std::vector<std::pair<std::string, std::string>>& headers, const char* name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string encode_query(const std::string& value) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Query& Query::add(const char* name, const std::string& value) {
  if (first_) {
    text_ += text_.find('?') == std::string::npos ? '?' : '&';
    first_ = false;
  } else {
    text_ += '&';
  }
  text_ += std::string(name) + "=" + encode_query(value);
  return *this;
}

Session::Session(ClientOptions options) : options_(std::move(options)) {
  const BaseUrl base = parse_base_url(options_.base_url);
  prefix_ = base.prefix;
  if (options_.max_retries < 0) throw ConfigurationError("max_retries must be 0 or more");
  if (options_.api_key.empty() && !options_.username.empty() && options_.password.empty()) {
    throw ConfigurationError("a user name was given without a password (FLEET_API_PASSWORD)");
  }
  transport_ = options_.transport;
  if (!transport_) {
    transport_ = make_http_transport({.base_url = base.origin,
                                      .connect_timeout = options_.connect_timeout,
                                      .timeout = options_.timeout});
  }
}

std::int64_t Session::unix_now() const {
  const Clock& clock = options_.clock != nullptr ? *options_.clock : Clock::real();
  return std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch())
      .count();
}

void Session::login(const std::string& username, const std::string& password) {
  HttpRequest req{.method = "POST",
                  .target = url("/api/auth/login"),
                  .headers = {{"Accept", "application/json"}},
                  .body = dump(json{{"username", username}, {"password", password}})};
  HttpResponse res = transport_->send(req);
  if (res.status >= 400) throw_api_error(res.status, res.body, res.retry_after);
  json doc = json::parse(res.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("token") || !doc["token"].is_string()) {
    throw ProtocolError("the login answer has no token");
  }
  token_ = doc["token"].get<std::string>();
  token_expires_ = doc.contains("expires_at") && doc["expires_at"].is_number_integer()
                       ? doc["expires_at"].get<std::int64_t>()
                       : unix_now() + 3600;
  options_.username = username;
  options_.password = password;
}

void Session::logout() {
  if (token_.empty()) return;
  call_text("POST", "/api/auth/logout", "");
  token_.clear();
  token_expires_ = 0;
}

void Session::ensure_credentials() {
  if (!options_.api_key.empty() || options_.username.empty()) return;
  if (token_.empty() || token_expires_ - kExpirySkewSeconds <= unix_now()) {
    login(options_.username, options_.password);
  }
}

void Session::add_credentials(std::vector<std::pair<std::string, std::string>>& headers) const {
  if (!options_.api_key.empty()) {
    headers.emplace_back("X-API-Key", options_.api_key);
  } else if (!token_.empty()) {
    headers.emplace_back("Authorization", "Bearer " + token_);
  }
}

std::chrono::milliseconds Session::retry_delay(int attempt, const std::string& retry_after) {
  // xorshift: jitter without a shared random engine; determinism does not matter here.
  jitter_state_ ^= jitter_state_ << 13;
  jitter_state_ ^= jitter_state_ >> 7;
  jitter_state_ ^= jitter_state_ << 17;
  const double unit = static_cast<double>(jitter_state_ % 1000) / 1000.0;
  auto delay = backoff_delay({.initial = options_.retry_initial,
                              .max = options_.retry_max,
                              .multiplier = 2.0,
                              .jitter = 0.5},
                             attempt, unit);
  long long seconds = 0;
  auto [ptr, ec] =
      std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds);
  if (ec == std::errc() && ptr == retry_after.data() + retry_after.size() && seconds > 0) {
    delay = std::max(delay, std::chrono::milliseconds(seconds * 1000));
  }
  return std::min(delay, options_.retry_max);
}

std::string Session::call_text(const std::string& method, const std::string& target,
                               const std::string& body,
                               std::vector<std::pair<std::string, std::string>> headers) {
  const bool retry_safe = method == "GET" || has_header(headers, "Idempotency-Key");
  headers.emplace_back("Accept", "application/json");
  bool renewed = false;
  int attempt = 0;
  while (true) {
    ensure_credentials();
    HttpRequest req{.method = method, .target = url(target), .headers = headers, .body = body};
    const bool with_token = options_.api_key.empty() && !token_.empty();
    add_credentials(req.headers);
    HttpResponse res;
    try {
      res = transport_->send(req);
    } catch (const ConnectionError&) {
      if (!retry_safe || attempt >= options_.max_retries) throw;
      ++attempt;
      const auto delay = retry_delay(attempt, "");
      options_.sleep ? options_.sleep(delay) : std::this_thread::sleep_for(delay);
      continue;
    }
    if (res.status == 503 && retry_safe && attempt < options_.max_retries) {
      ++attempt;
      const auto delay = retry_delay(attempt, res.retry_after);
      options_.sleep ? options_.sleep(delay) : std::this_thread::sleep_for(delay);
      continue;
    }
    // The session token expired or was revoked: log in again, once per call.
    if (res.status == 401 && with_token && !renewed && !options_.username.empty()) {
      renewed = true;
      token_.clear();
      continue;
    }
    if (res.status >= 400) throw_api_error(res.status, res.body, res.retry_after);
    return std::move(res.body);
  }
}

json Session::call(const std::string& method, const std::string& target, const json* body,
                   std::vector<std::pair<std::string, std::string>> headers) {
  std::string text =
      call_text(method, target, body != nullptr ? dump(*body) : "", std::move(headers));
  if (text.empty()) return nullptr;
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded())
    throw ProtocolError("the API answered " + target + " with something that is not JSON");
  return doc;
}

}  // namespace fleet::client
