#include "hiveos_sim.h"

#include <stdexcept>

#include <httplib.h>

namespace fleet::test {

HiveosSimProcess::HiveosSimProcess(std::vector<std::string> args) {
  port_ = free_port();
  std::vector<std::string> all{"--listen", "127.0.0.1:" + std::to_string(port_)};
  all.insert(all.end(), args.begin(), args.end());
  process_ = std::make_unique<Process>(binary("hiveos-sim"), all);
}

bool HiveosSimProcess::ready(std::chrono::milliseconds timeout) {
  return eventually(
      [&] { return http_get(port_, "/health", std::chrono::seconds(1)).status == 200; }, timeout);
}

std::string HiveosSimProcess::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/api/v2";
}

nlohmann::json HiveosSimProcess::get(const std::string& path) const {
  auto h = http_get(port_, path, std::chrono::seconds(5));
  if (h.status != 200) throw std::runtime_error("hiveos-sim: GET " + path + " failed");
  return nlohmann::json::parse(h.body);
}

int HiveosSimProcess::post(const std::string& path, const nlohmann::json& body) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(std::chrono::seconds(2));
  c.set_read_timeout(std::chrono::seconds(5));
  auto r = c.Post(path.c_str(), body.dump(), "application/json");
  return r ? r->status : 0;
}

int HiveosSimProcess::del(const std::string& path) const {
  httplib::Client c("127.0.0.1", port_);
  c.set_connection_timeout(std::chrono::seconds(2));
  c.set_read_timeout(std::chrono::seconds(5));
  auto r = c.Delete(path.c_str());
  return r ? r->status : 0;
}

}  // namespace fleet::test
