#include "notify/webhook_sender.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <mutex>

#include <nlohmann/json.hpp>

namespace fleet::notify {
namespace {

using json = nlohmann::json;

struct Reply {
  std::string body;
  std::size_t limit = 0;
  bool cut = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* r = static_cast<Reply*>(user);
  const size_t n = size * count;
  if (r->body.size() + n > r->limit) {
    r->body.append(data, r->limit - r->body.size());
    r->cut = true;
    return 0;  // stops reading: CURLE_WRITE_ERROR, judged by the status already received
  }
  r->body.append(data, n);
  return n;
}

size_t discard_header(char*, size_t size, size_t count, void*) {
  return size * count;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

// One handle per thread, reused: libcurl keeps its connections alive between requests.
CURL* thread_handle() {
  thread_local std::unique_ptr<CURL, EasyDeleter> handle{curl_easy_init()};
  return handle.get();
}

// "https://host:port/path?q" -> "host:port", for errors (never a path or query).
std::string host_of(std::string_view url) {
  if (auto p = url.find("://"); p != std::string_view::npos) url.remove_prefix(p + 3);
  return std::string(url.substr(0, url.find_first_of("/?#")));
}

std::string excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  return out;
}

class WebhookSender final : public Sender {
 public:
  explicit WebhookSender(WebhookOptions options) : options_(std::move(options)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  SendResult send(const ChannelSettings& channel, const OutgoingMessage& message) override {
    SendResult r;
    auto config = parse_webhook_config(channel.config_json);
    if (!config.ok()) {
      r.permanent = true;
      r.error = config.error().message();
      return r;
    }
    CURL* curl = thread_handle();
    if (curl == nullptr) {
      r.error = "libcurl: no handle";
      return r;
    }
    curl_easy_reset(curl);
    const std::int64_t t = options_.unix_now
                               ? options_.unix_now()
                               : std::chrono::duration_cast<std::chrono::seconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
    const std::string& body = message.document_json;
    curl_slist* headers = nullptr;
    const std::string delivery = "X-Fleetward-Delivery: " + message.idempotency_key;
    const std::string stamp = "X-Fleetward-Timestamp: " + std::to_string(t);
    const std::string signature =
        "X-Fleetward-Signature: " + webhook_signature(channel.secret, t, body);
    for (const std::string* h : {&delivery, &stamp, &signature}) {
      headers = curl_slist_append(headers, h->c_str());
    }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "User-Agent: fleetward-notifier/1");
    headers = curl_slist_append(headers, "Expect:");
    Reply reply{.limit = options_.max_reply_bytes};
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, config->url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROXY, "");  // never a proxy from the environment
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!options_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(config->timeout_ms));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config->timeout_ms));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, discard_header);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);

    const auto began = std::chrono::steady_clock::now();
    const CURLcode code = curl_easy_perform(curl);
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - began);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_off_t uploaded = 0;
    curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &uploaded);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    curl_slist_free_all(headers);

    r.status = static_cast<int>(status);
    r.reply = excerpt(reply.body, options_.max_excerpt);
    const bool answered =
        status > 0 && (code == CURLE_OK || (code == CURLE_WRITE_ERROR && reply.cut));
    if (answered) {
      if (status >= 200 && status < 300) {
        r.outcome = SendResult::Outcome::kDelivered;
      } else {
        r.error = "HTTP " + std::to_string(status) + " from " + host_of(config->url);
      }
      if (reply.cut)
        r.error += (r.error.empty() ? "" : "; ") + std::string("reply cut at ") +
                   std::to_string(options_.max_reply_bytes) + " bytes";
      return r;
    }
    const std::string what = error[0] != 0 ? std::string(error) : curl_easy_strerror(code);
    r.error = host_of(config->url) + ": " + what;
    const bool body_sent = uploaded >= static_cast<curl_off_t>(body.size());
    if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
      r.permanent = true;
    } else if (body_sent && (code == CURLE_OPERATION_TIMEDOUT || code == CURLE_GOT_NOTHING ||
                             code == CURLE_RECV_ERROR || code == CURLE_PARTIAL_FILE)) {
      r.outcome = SendResult::Outcome::kUncertain;
    }
    return r;
  }

 private:
  WebhookOptions options_;
};

}  // namespace

Result<WebhookConfig> parse_webhook_config(std::string_view config_json) {
  const json j = json::parse(config_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::invalid("config: not a JSON object");
  WebhookConfig c;
  const auto url = j.find("url");
  if (url == j.end() || !url->is_string()) return Error::invalid("config.url: missing");
  c.url = url->get<std::string>();
  if (!(c.url.starts_with("https://") || c.url.starts_with("http://")) || host_of(c.url).empty()) {
    return Error::invalid("config.url: must be http(s)://host[:port]/path");
  }
  if (c.url.find_first_of(" \r\n\t") != std::string::npos || c.url.size() > 2048) {
    return Error::invalid("config.url: invalid characters or too long");
  }
  if (const auto t = j.find("timeout_ms"); t != j.end()) {
    if (!t->is_number_integer() || t->get<std::int64_t>() < 100 ||
        t->get<std::int64_t>() > 60'000) {
      return Error::invalid("config.timeout_ms: an integer from 100 to 60000");
    }
    c.timeout_ms = static_cast<int>(t->get<std::int64_t>());
  }
  return c;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

std::string webhook_signature(std::string_view secret, std::int64_t unix_seconds,
                              std::string_view body) {
  std::string signed_text = std::to_string(unix_seconds);
  signed_text += '.';
  signed_text += body;
  return "t=" + std::to_string(unix_seconds) + ",v1=" + hmac_sha256_hex(secret, signed_text);
}

std::unique_ptr<Sender> make_webhook_sender(WebhookOptions options) {
  return std::make_unique<WebhookSender>(std::move(options));
}

}  // namespace fleet::notify
