// An HttpTransport that answers from a function instead of the network, recording every request:
// flows (provisioning, polling) are tested step by step without sockets.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "firmware/http.h"

namespace fleet::test {

class ScriptedTransport final : public firmware::HttpTransport {
 public:
  using Handler = std::function<firmware::HttpResponse(const firmware::HttpRequest&)>;
  explicit ScriptedTransport(Handler handler) : handler_(std::move(handler)) {}

  void submit(firmware::HttpRequest request, Callback done) override {
    queue_.emplace_back(std::move(request), std::move(done));
  }
  using HttpTransport::run;
  void run(const RunHooks& hooks) override {
    bool open = static_cast<bool>(hooks.refill);
    while (true) {
      if (open && queue_.size() < std::max<size_t>(hooks.low_water, 1)) {
        const size_t before = queue_.size();
        open = hooks.refill() && (queue_.size() > before || hooks.refill_may_wait);
      }
      if (queue_.empty()) return;
      auto [request, done] = std::move(queue_.front());
      queue_.pop_front();
      requests.push_back(request);
      if (hooks.stop && hooks.stop()) {
        firmware::HttpResponse r;
        r.failure = firmware::TransportFailure::kCancelled;
        done(std::move(r));
        continue;
      }
      done(handler_(request));
    }
  }
  std::size_t pending() const override { return queue_.size(); }

  std::vector<firmware::HttpRequest> requests;  // in the order they were answered

  // Paths of the answered requests, relative to /api/v1 ("/unlock").
  std::vector<std::string> paths() const {
    std::vector<std::string> out;
    for (const auto& r : requests) {
      const auto at = r.url.find("/api/v1");
      out.push_back(at == std::string::npos ? r.url : r.url.substr(at + 7));
    }
    return out;
  }

 private:
  Handler handler_;
  std::deque<std::pair<firmware::HttpRequest, Callback>> queue_;
};

inline firmware::HttpResponse answer(int status, std::string body) {
  firmware::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

inline firmware::HttpResponse failed(firmware::TransportFailure failure) {
  firmware::HttpResponse r;
  r.failure = failure;
  r.error = "scripted failure";
  return r;
}

inline std::string path_of(const firmware::HttpRequest& r) {
  const auto at = r.url.find("/api/v1");
  return at == std::string::npos ? r.url : r.url.substr(at + 7);
}

inline bool has_header(const firmware::HttpRequest& r, const std::string& header) {
  for (const auto& h : r.headers) {
    if (h == header) return true;
  }
  return false;
}

}  // namespace fleet::test
