#include "webhook_receiver.h"

#include <stdexcept>

namespace fleet::test {

WebhookReceiver::WebhookReceiver(const std::string& secret, const std::string& log_file) {
  port_ = free_port();
  std::vector<std::string> args{"--port", std::to_string(port_)};
  if (!log_file.empty()) {
    args.push_back("--log-file");
    args.push_back(log_file);
  }
  Process::Options options;
  if (!secret.empty()) options.env["WEBHOOK_SECRET"] = secret;
  process_ = std::make_unique<Process>(binary("webhook-receiver"), args, options);
  if (!eventually([&] { return http_get(port_, "/control/count").status == 200; },
                  std::chrono::seconds(10))) {
    throw std::runtime_error("webhook-receiver did not start: " + process_->err());
  }
}

std::string WebhookReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

bool WebhookReceiver::set(const std::string& query) const {
  return http_get(port_, "/control/set?" + query).status == 200;
}

bool WebhookReceiver::reset() const {
  return http_get(port_, "/control/reset").status == 200;
}

nlohmann::json WebhookReceiver::received() const {
  const auto h = http_get(port_, "/control/received");
  if (h.status != 200) throw std::runtime_error("webhook-receiver: /control/received failed");
  return nlohmann::json::parse(h.body);
}

std::size_t WebhookReceiver::count() const {
  const auto h = http_get(port_, "/control/count");
  return h.status == 200 ? std::stoul(h.body) : 0;
}

}  // namespace fleet::test
