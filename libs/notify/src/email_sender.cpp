#include "notify/email_sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/strings.h"
#include "notify/email_render.h"

namespace fleet::notify {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMaxReplyBytes = 300;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EmailConfig {
  std::string smtp_url;
  bool starttls = true;
  std::string username;
  std::string from;
  std::vector<std::string> to;
  std::string ca_file;
  long timeout_ms = 15000;
};

Result<EmailConfig> parse_config(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error::invalid("config is not a JSON object");
  EmailConfig c;
  auto str = [&](const char* key, std::string& out) -> bool {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    return true;
  };
  if (!str("smtp_url", c.smtp_url) || c.smtp_url.empty()) {
    return Error::invalid("config.smtp_url is missing");
  }
  if (!starts_with(c.smtp_url, "smtp://") && !starts_with(c.smtp_url, "smtps://")) {
    return Error::invalid("config.smtp_url must be smtp:// or smtps://");
  }
  if (!str("username", c.username) || !str("from", c.from) || !str("ca_file", c.ca_file)) {
    return Error::invalid("config has a field of the wrong type");
  }
  if (auto it = j.find("starttls"); it != j.end() && it->is_boolean()) c.starttls = it->get<bool>();
  if (auto it = j.find("timeout_ms"); it != j.end() && it->is_number_integer()) {
    c.timeout_ms = std::clamp<long>(it->get<long>(), 100, 120000);
  }
  if (auto it = j.find("to"); it != j.end() && it->is_array()) {
    for (const auto& a : *it) {
      if (a.is_string()) c.to.push_back(a.get<std::string>());
    }
  }
  return c;
}

// What libcurl and the server said, gathered while the transfer runs.
struct Exchange {
  const std::string* message = nullptr;
  std::size_t offset = 0;
  bool data_sent = false;  // the whole message went out (DATA's payload)
  std::string last_reply;  // the server's last reply line
};

size_t read_message(char* buffer, size_t size, size_t count, void* user) {
  auto* x = static_cast<Exchange*>(user);
  const std::size_t room = size * count;
  const std::size_t left = x->message->size() - x->offset;
  const std::size_t n = std::min(room, left);
  std::copy_n(x->message->data() + x->offset, n, buffer);
  x->offset += n;
  if (x->offset == x->message->size()) x->data_sent = true;
  return n;
}

int on_debug(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* x = static_cast<Exchange*>(user);
  std::string line(data, std::min(size, kMaxReplyBytes));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
    line.pop_back();
  x->last_reply = sanitize_utf8(line);
  return 0;
}

class EmailSender final : public Sender {
 public:
  explicit EmailSender(EmailSenderOptions options) : options_(std::move(options)) {
    init_curl_once();
  }

  SendResult send(const ChannelSettings& channel, const OutgoingMessage& message) override {
    const auto started = Clock::now();
    SendResult result;
    auto finish = [&]() -> SendResult {
      result.latency =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
      return result;
    };
    auto config = parse_config(channel.config_json);
    if (!config.ok()) {
      result.permanent = true;
      result.error = "email channel " + channel.name + ": " + config.error().message();
      return finish();
    }
    EmailAddressing addressing{.from = config->from,
                               .to = config->to,
                               .idempotency_key = message.idempotency_key,
                               .date = std::time(nullptr)};
    if (!message.recipient.empty()) addressing.to = {message.recipient};
    auto mail = render_email(addressing, message.document_json);
    if (!mail.ok()) {
      result.permanent = true;
      result.error = "email channel " + channel.name + ": " + mail.error().message();
      return finish();
    }
    return transfer(*config, channel, addressing.to, mail->message, result, finish);
  }

 private:
  template <class Finish>
  SendResult transfer(const EmailConfig& c, const ChannelSettings& channel,
                      const std::vector<std::string>& to, const std::string& data,
                      SendResult& result, Finish finish) {
    CURL* easy = curl_easy_init();
    if (easy == nullptr) {
      result.error = "cannot start libcurl";
      return finish();
    }
    curl_slist* rcpt = nullptr;
    for (const auto& a : to)
      rcpt = curl_slist_append(rcpt, ("<" + a + ">").c_str());
    Exchange x{.message = &data};
    char error[CURL_ERROR_SIZE] = {0};
    std::string url = c.smtp_url;
    if (!options_.helo_domain.empty()) {
      // smtp://host:port/<domain>: libcurl's EHLO name.
      const auto scheme_end = url.find("://") + 3;
      if (url.find('/', scheme_end) == std::string::npos) url += "/" + options_.helo_domain;
    }
    curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy, CURLOPT_PROXY, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, c.timeout_ms);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, std::min(c.timeout_ms, 10000L));
    // The wait for the reply to the end of DATA is bounded by this (libcurl's default is 120 s
    // whatever CURLOPT_TIMEOUT says).
    curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                     std::max(1L, (c.timeout_ms + 999) / 1000));
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!c.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, c.ca_file.c_str());
    if (c.starttls) curl_easy_setopt(easy, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
    if (!c.username.empty()) {
      curl_easy_setopt(easy, CURLOPT_USERNAME, c.username.c_str());
      curl_easy_setopt(easy, CURLOPT_PASSWORD, channel.secret.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, ("<" + c.from + ">").c_str());
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, &read_message);
    curl_easy_setopt(easy, CURLOPT_READDATA, &x);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(data.size()));
    curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);  // only to feed on_debug the replies
    curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, &on_debug);
    curl_easy_setopt(easy, CURLOPT_DEBUGDATA, &x);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);

    const CURLcode code = curl_easy_perform(easy);
    long reply_code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply_code);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(easy);

    result.status = static_cast<int>(reply_code);
    result.reply = x.last_reply;
    if (code == CURLE_OK) {
      result.outcome = SendResult::Outcome::kDelivered;
      return finish();
    }
    // libcurl's text, minus anything secret-looking (it never holds the password itself).
    const std::string why = redact_secrets(error[0] != 0 ? error : curl_easy_strerror(code));
    result.error = "smtp " + c.smtp_url + ": " + why;
    if (!x.last_reply.empty()) result.error += " (server: " + x.last_reply + ")";
    const bool refused = reply_code >= 400;
    if (!refused && x.data_sent &&
        (code == CURLE_OPERATION_TIMEDOUT || code == CURLE_RECV_ERROR ||
         code == CURLE_GOT_NOTHING)) {
      result.outcome = SendResult::Outcome::kUncertain;
    } else {
      result.outcome = SendResult::Outcome::kFailed;
    }
    result.permanent = code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL;
    return finish();
  }

  EmailSenderOptions options_;
};

}  // namespace

std::unique_ptr<Sender> make_email_sender(EmailSenderOptions options) {
  return std::make_unique<EmailSender>(std::move(options));
}

}  // namespace fleet::notify
