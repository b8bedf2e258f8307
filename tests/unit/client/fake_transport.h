// A scripted Transport: records every request and answers with a handler.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"

namespace fleet::test {

class FakeTransport final : public client::Transport {
 public:
  using Handler = std::function<client::HttpResponse(const client::HttpRequest&)>;
  explicit FakeTransport(Handler handler) : handler_(std::move(handler)) {}

  client::HttpResponse send(const client::HttpRequest& request) override {
    requests.push_back(request);
    return handler_(request);
  }

  // The value of header `name` in request `i` ("" when absent).
  std::string header(size_t i, const std::string& name) const {
    for (const auto& [k, v] : requests.at(i).headers) {
      if (k == name) return v;
    }
    return "";
  }

  std::vector<client::HttpRequest> requests;

 private:
  Handler handler_;
};

// A client with an API key over `transport`, sleeping nowhere (sleeps are recorded).
inline client::ClientOptions fake_options(
    std::shared_ptr<FakeTransport> transport,
    std::vector<std::chrono::milliseconds>* sleeps = nullptr) {
  client::ClientOptions o;
  o.api_key = "fwk_test_secret_key";
  o.transport = std::move(transport);
  o.sleep = [sleeps](std::chrono::milliseconds d) {
    if (sleeps != nullptr) sleeps->push_back(d);
  };
  return o;
}

inline client::HttpResponse ok(std::string body, int status = 200) {
  return {status, std::move(body), ""};
}

}  // namespace fleet::test
