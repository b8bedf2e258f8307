#include "relay_sim.h"

#include <stdexcept>

#include <httplib.h>

namespace fleet::test {

RelaySimProcess::RelaySimProcess(const std::string& broker, std::vector<std::string> args) {
  port_ = free_port();
  std::vector<std::string> all{"--broker", broker, "--control",
                               "127.0.0.1:" + std::to_string(port_)};
  for (const auto& a : args) {
    if (a == "--controller") ++controllers_;
  }
  all.insert(all.end(), args.begin(), args.end());
  process_ = std::make_unique<Process>(binary("relay-sim"), all);
}

bool RelaySimProcess::ready(std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        auto h = http_get(port_, "/health", std::chrono::seconds(1));
        if (h.status != 200) return false;
        auto j = nlohmann::json::parse(h.body, nullptr, false);
        return !j.is_discarded() && j["connected"] == controllers_;
      },
      timeout);
}

nlohmann::json RelaySimProcess::controller(const std::string& name) const {
  auto h = http_get(port_, "/controllers/" + name);
  if (h.status != 200) throw std::runtime_error("relay-sim: GET /controllers/" + name + " failed");
  return nlohmann::json::parse(h.body);
}

int RelaySimProcess::post(const std::string& path, const std::string& body) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(std::chrono::seconds(5));
  auto r = c.Post(path.c_str(), body, "application/json");
  return r ? r->status : 0;
}

}  // namespace fleet::test
