#include "nodeagent/http_call.h"

#include <curl/curl.h>

#include <memory>

namespace fleet::nodeagent {
namespace {

struct Sink {
  std::string body;
  std::size_t max = 0;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * count;
  if (sink->body.size() + n > sink->max) {
    sink->too_large = true;
    return 0;
  }
  sink->body.append(data, n);
  return n;
}

}  // namespace

void init_http() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

Result<HttpReply> perform(const HttpCall& call) {
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) return Error::internal("curl_easy_init failed");
  CURL* e = easy.get();
  Sink sink;
  sink.max = call.max_reply_bytes;
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const auto& h : call.headers)
    headers = curl_slist_append(headers, h.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                           curl_slist_free_all);
  curl_easy_setopt(e, CURLOPT_URL, call.url.c_str());
  if (!call.unix_socket.empty()) {
    curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, call.unix_socket.c_str());
  }
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!call.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, call.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(call.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout.count()));
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(call.max_reply_bytes));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  if (!call.body.empty() || call.method == "POST" || call.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, call.body.c_str());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  }
  const CURLcode code = curl_easy_perform(e);
  const std::string what = std::string(curl_easy_strerror(code)) + (error[0] ? ": " : "") + error;
  if (sink.too_large || code == CURLE_FILESIZE_EXCEEDED) {
    return Error(ErrorKind::kDataLoss,
                 "reply larger than " + std::to_string(call.max_reply_bytes) + " bytes");
  }
  switch (code) {
    case CURLE_OK:
      break;
    case CURLE_OPERATION_TIMEDOUT:
      return Error(ErrorKind::kDeadlineExceeded, what);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_SSL_CACERT_BADFILE:
      return Error::invalid(what);
    default:
      return Error::unavailable(what);
  }
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  return HttpReply{.status = static_cast<int>(status), .body = std::move(sink.body)};
}

}  // namespace fleet::nodeagent
