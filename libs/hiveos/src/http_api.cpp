// The HiveOS API over HTTP (hiveos/api.h): one libcurl easy handle, reused for keep-alive, with
// timeouts, a body cap enforced while reading, no proxy from the environment, no redirects, TLS
// verification on. Errors name the method and path, never the token.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

#include <nlohmann/json.hpp>

#include "hiveos/api.h"

namespace fleet::hiveos {
namespace {

using json = nlohmann::json;

struct Answer {
  long status = 0;
  std::string body;
  std::optional<std::chrono::seconds> retry_after;
  bool too_large = false;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Retry-After: delta-seconds or an HTTP-date.
std::optional<std::chrono::seconds> parse_retry_after(std::string value) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
    value.pop_back();
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front())))
    value.erase(0, 1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (value.size() > 9) return std::chrono::seconds(86400);
    return std::chrono::seconds(std::min<long>(std::stol(value), 86400));
  }
  const time_t when = curl_getdate(value.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const auto delta = static_cast<long>(when - std::time(nullptr));
  return std::chrono::seconds(std::clamp<long>(delta, 0, 86400));
}

class HttpApi final : public Api {
 public:
  explicit HttpApi(HttpApiOptions options) : options_(std::move(options)) {
    while (!options_.base_url.empty() && options_.base_url.back() == '/')
      options_.base_url.pop_back();
    curl_ = curl_easy_init();
  }
  ~HttpApi() override {
    if (curl_) curl_easy_cleanup(curl_);
  }
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  ApiResult<bool> auth_check() override {
    auto a = call("GET", "/auth/check", "");
    if (auto* e = std::get_if<ApiError>(&a)) return *e;
    return true;
  }

  ApiResult<Parsed<Farm>> farms() override {
    return parsed<Parsed<Farm>>("GET", "/farms", "", [&](std::string_view body) {
      return parse_farms(body, options_.limits);
    });
  }

  ApiResult<Parsed<Worker>> workers(std::int64_t farm_id) override {
    return parsed<Parsed<Worker>>(
        "GET", "/farms/" + std::to_string(farm_id) + "/workers", "",
        [&](std::string_view body) { return parse_workers(body, farm_id, options_.limits); });
  }

  ApiResult<std::vector<SentCommand>> command(std::int64_t farm_id, std::int64_t worker_id,
                                              const Command& command) override {
    return parsed<std::vector<SentCommand>>(
        "POST",
        "/farms/" + std::to_string(farm_id) + "/workers/" + std::to_string(worker_id) + "/command",
        command_body(command), [&](std::string_view body) {
          return parse_command_response(body, worker_id, options_.limits);
        });
  }

  ApiResult<std::vector<SentCommand>> command_bulk(std::int64_t farm_id,
                                                   const std::vector<std::int64_t>& worker_ids,
                                                   const Command& command) override {
    return parsed<std::vector<SentCommand>>(
        "POST", "/farms/" + std::to_string(farm_id) + "/workers/command",
        bulk_command_body(worker_ids, command),
        [&](std::string_view body) { return parse_commands_response(body, options_.limits); });
  }

  ApiResult<Parsed<Message>> messages(std::int64_t farm_id, std::int64_t worker_id,
                                      std::optional<std::int64_t> since_unix) override {
    std::string path = "/farms/" + std::to_string(farm_id) + "/workers/" +
                       std::to_string(worker_id) + "/messages?page=1&per_page=50&with_payload=1";
    if (since_unix) path += "&start_time=" + std::to_string(*since_unix);
    return parsed<Parsed<Message>>("GET", path, "", [&](std::string_view body) {
      return parse_messages(body, options_.limits);
    });
  }

 private:
  template <class T, class Parse>
  ApiResult<T> parsed(const char* method, const std::string& path, const std::string& body,
                      Parse parse) {
    auto a = call(method, path, body);
    if (auto* e = std::get_if<ApiError>(&a)) return *e;
    auto r = parse(std::get<Answer>(a).body);
    if (!r) {
      return ApiError{ErrorKind::kDataLoss,
                      r.error().message() + " (" + method + " " + strip_query(path) + ")", 0,
                      std::nullopt};
    }
    return std::move(r).value();
  }

  static std::string strip_query(const std::string& path) { return path.substr(0, path.find('?')); }

  static std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* self = static_cast<HttpApi*>(user);
    const std::size_t len = size * n;
    if (self->answer_.body.size() + len > self->options_.limits.max_body_bytes) {
      self->answer_.too_large = true;
      return 0;  // aborts the transfer
    }
    self->answer_.body.append(data, len);
    return len;
  }

  static std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* self = static_cast<HttpApi*>(user);
    const std::size_t len = size * n;
    std::string line(data, std::min<std::size_t>(len, 512));
    const auto colon = line.find(':');
    if (colon != std::string::npos && lower(line.substr(0, colon)) == "retry-after") {
      self->answer_.retry_after = parse_retry_after(line.substr(colon + 1));
    }
    return len;
  }

  std::variant<Answer, ApiError> call(const char* method, const std::string& path,
                                      const std::string& body) {
    const std::string what = std::string(method) + " " + strip_query(path);
    if (!curl_) return ApiError{ErrorKind::kInternal, "libcurl could not be initialised", 0, {}};
    answer_ = Answer{};
    curl_easy_reset(curl_);
    const std::string url = options_.base_url + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl_, CURLOPT_PROXY, "");
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYPEER, options_.verify_tls ? 1L : 0L);
    curl_easy_setopt(curl_, CURLOPT_SSL_VERIFYHOST, options_.verify_tls ? 2L : 0L);
    // gzip only: brotli costs the sender about 1 s per farm-sized answer (seen with hiveos-sim).
    curl_easy_setopt(curl_, CURLOPT_ACCEPT_ENCODING, "gzip");
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &HttpApi::on_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &HttpApi::on_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this);
    curl_slist* headers = nullptr;
    const std::string auth = "Authorization: Bearer " + options_.token;
    headers = curl_slist_append(headers, auth.c_str());
    headers = curl_slist_append(headers, "Accept: application/json");
    if (std::string_view(method) == "POST") {
      headers = curl_slist_append(headers, "Content-Type: application/json");
      curl_easy_setopt(curl_, CURLOPT_POST, 1L);
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    const CURLcode rc = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, nullptr);
    if (answer_.too_large) {
      return ApiError{ErrorKind::kDataLoss,
                      "HiveOS answer to " + what + " is over the cap of " +
                          std::to_string(options_.limits.max_body_bytes) + " bytes",
                      0, std::nullopt};
    }
    if (rc != CURLE_OK) {
      const ErrorKind kind =
          rc == CURLE_OPERATION_TIMEDOUT ? ErrorKind::kDeadlineExceeded : ErrorKind::kUnavailable;
      return ApiError{kind,
                      std::string("HiveOS unreachable for ") + what + ": " + curl_easy_strerror(rc),
                      0, std::nullopt};
    }
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &answer_.status);
    const int status = static_cast<int>(answer_.status);
    if (status >= 200 && status < 300) return std::move(answer_);
    const std::string head = "HTTP " + std::to_string(status) + " from " + what;
    std::string said;
    json j = json::parse(answer_.body, nullptr, false);
    if (j.is_object() && j.contains("message") && j["message"].is_string()) {
      said = j["message"].get<std::string>().substr(0, 200);
    }
    const bool too_many =
        status == 429 ||
        (status == 403 &&
         (lower(said).find("too many") != std::string::npos ||
          lower(answer_.body.substr(0, 500)).find("too many requests") != std::string::npos));
    if (too_many) {
      auto after = answer_.retry_after.value_or(options_.default_retry_after);
      return ApiError{
          ErrorKind::kResourceExhausted,
          head + ": too many requests, retry after " + std::to_string(after.count()) + " s", status,
          after};
    }
    ErrorKind kind = ErrorKind::kInvalidArgument;
    if (status == 401)
      kind = ErrorKind::kUnauthenticated;
    else if (status == 403)
      kind = ErrorKind::kPermissionDenied;
    else if (status == 404)
      kind = ErrorKind::kNotFound;
    else if (status >= 500 || status == 408)
      kind = ErrorKind::kUnavailable;
    std::string message = head;
    if (status == 401) message += ": the token was rejected";
    if (!said.empty()) message += ": " + said;
    return ApiError{kind, message, status,
                    kind == ErrorKind::kUnavailable ? answer_.retry_after : std::nullopt};
  }

  HttpApiOptions options_;
  CURL* curl_ = nullptr;
  Answer answer_;
};

}  // namespace

std::unique_ptr<Api> make_http_api(HttpApiOptions options) {
  return std::make_unique<HttpApi>(std::move(options));
}

}  // namespace fleet::hiveos
