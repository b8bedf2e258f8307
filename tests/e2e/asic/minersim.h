// Runs tools/miner-sim for a test: N simulated Vnish miners on loopback addresses, a control API
// for faults, moves and request statistics (contract: /tmp/miner-sim-contract.md).
#pragma once

#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "process.h"

namespace fleet::test {

class MinerSim {
 public:
  struct Options {
    int count = 8;
    std::string base_ip = "127.21.0.1";
    std::vector<std::string> extra_args;  // e.g. {"--fault", "3:timeout"}
  };

  explicit MinerSim(Options options) : options_(std::move(options)), port_(free_port()) {
    dir_ = make_temp_dir("fleet-minersim");
    std::vector<std::string> args = {"--count",        std::to_string(options_.count),
                                     "--base-ip",      options_.base_ip,
                                     "--port",         std::to_string(port_),
                                     "--control",      "127.0.0.1:0",
                                     "--threads",      "2",
                                     "--seed",         "7",
                                     "--init-seconds", "0",
                                     "--ready-file",   dir_ + "/ready"};
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    process_ = std::make_unique<Process>(binary("miner-sim"), args);
    const bool ready =
        eventually([&] { return !read_file(dir_ + "/ready").empty() || !process_->running(); },
                   std::chrono::seconds(20));
    if (!ready || !process_->running()) {
      throw std::runtime_error("miner-sim did not start: " + process_->err());
    }
    std::string url = read_file(dir_ + "/ready");
    while (!url.empty() && (url.back() == '\n' || url.back() == ' '))
      url.pop_back();
    control_port_ = std::stoi(url.substr(url.rfind(':') + 1));
  }
  ~MinerSim() {
    if (process_ && process_->running()) {
      process_->signal(SIGTERM);
      process_->wait(std::chrono::seconds(10));
    }
  }

  int port() const { return port_; }
  // The /24 holding the miners' addresses (tests keep count below 250).
  std::string network() const {
    return options_.base_ip.substr(0, options_.base_ip.rfind('.')) + ".0/24";
  }

  nlohmann::json get(const std::string& path) const {
    httplib::Client c("127.0.0.1", control_port_);
    auto r = c.Get(path.c_str());
    if (!r || r->status != 200) throw std::runtime_error("miner-sim GET " + path + " failed");
    return nlohmann::json::parse(r->body);
  }
  void post(const std::string& path, const nlohmann::json& body = nlohmann::json::object()) const {
    httplib::Client c("127.0.0.1", control_port_);
    auto r = c.Post(path.c_str(), body.dump(), "application/json");
    if (!r || r->status >= 300) {
      throw std::runtime_error("miner-sim POST " + path +
                               " failed: " + (r ? r->body : std::string("no answer")));
    }
  }
  void fault(int miner, const std::string& kind,
             std::optional<long long> arg = std::nullopt) const {
    nlohmann::json body = {{"kind", kind}};
    if (arg) body["arg"] = *arg;
    post("/miners/" + std::to_string(miner) + "/faults", body);
  }
  void clear_faults(int miner) const {
    httplib::Client c("127.0.0.1", control_port_);
    auto r = c.Delete(("/miners/" + std::to_string(miner) + "/faults").c_str());
    if (!r || r->status >= 300) throw std::runtime_error("miner-sim: clearing faults failed");
  }
  // Requests miner i received for `path` ("/api/v1/summary") since the last reset.
  long long requests(int miner, const std::string& path) const {
    auto s = get("/stats");
    auto per = s["per_miner"];
    auto it = per.find(std::to_string(miner));
    if (it == per.end()) return 0;
    return it->value(path, 0LL);
  }
  void reset_stats() const { post("/stats/reset"); }
  // Lower-case MACs of all simulated miners, by index.
  std::vector<std::string> macs() const {
    std::vector<std::string> out;
    for (const auto& m : get("/miners")) {
      std::string mac = m["mac"];
      for (auto& c : mac)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.push_back(mac);
    }
    return out;
  }

 private:
  Options options_;
  int port_;
  int control_port_ = 0;
  std::string dir_;
  std::unique_ptr<Process> process_;
};

}  // namespace fleet::test
