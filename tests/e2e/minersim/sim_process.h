// Starting miner-sim for end-to-end tests: a process on its own base address and a free port,
// ready when its --ready-file appears.
#pragma once

#include <signal.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "process.h"
#include "raw_http.h"

namespace fleet::test {

class SimProcess {
 public:
  // `base` is the first miner's address, e.g. "127.21.1.1" (tests use different ones so they can
  // run in parallel).
  SimProcess(int count, const std::string& base, std::vector<std::string> extra = {})
      : base_(base), port_(free_port()) {
    dir_ = make_temp_dir("minersim-e2e");
    ready_ = dir_ + "/ready";
    std::vector<std::string> args = {"--count",      std::to_string(count),
                                     "--base-ip",    base,
                                     "--port",       std::to_string(port_),
                                     "--ready-file", ready_,
                                     "--threads",    "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    proc_ = std::make_unique<Process>(binary("miner-sim"), args);
    ready_ok_ = eventually([&] { return std::filesystem::exists(ready_) || !proc_->running(); },
                           std::chrono::seconds(20)) &&
                std::filesystem::exists(ready_);
    if (ready_ok_) {
      url_ = read_file(ready_);
      while (!url_.empty() && url_.back() == '\n')
        url_.pop_back();
      control_port_ = std::stoi(url_.substr(url_.rfind(':') + 1));
    }
  }
  ~SimProcess() {
    if (proc_ && proc_->running()) {
      proc_->signal(SIGTERM);
      proc_->wait(std::chrono::seconds(5));
    }
    std::filesystem::remove_all(dir_);
  }

  bool ready() const { return ready_ok_; }
  Process& process() { return *proc_; }
  int port() const { return port_; }
  const std::string& control_url() const { return url_; }
  const std::string& ready_file() const { return ready_; }

  // Address of miner i at start.
  std::string ip(int i) const {
    unsigned a, b, c, d;
    std::sscanf(base_.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d);
    const uint32_t v = ((a << 24) | (b << 16) | (c << 8) | d) + static_cast<uint32_t>(i);
    return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." +
           std::to_string((v >> 8) & 255) + "." + std::to_string(v & 255);
  }

  RawAnswer get(int miner, const std::string& path, const std::string& key = "",
                std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    return request(ip(miner), port_, "GET", path, "", key, "", timeout);
  }
  RawAnswer post(int miner, const std::string& path, const std::string& body,
                 const std::string& key = "", const std::string& bearer = "") const {
    return request(ip(miner), port_, "POST", path, body, key, bearer);
  }
  // The control API.
  RawAnswer control(const std::string& method, const std::string& path,
                    const std::string& body = "") const {
    return request("127.0.0.1", control_port_, method, path, body);
  }

 private:
  std::string base_;
  int port_;
  std::string dir_;
  std::string ready_;
  std::string url_;
  int control_port_ = 0;
  bool ready_ok_ = false;
  std::unique_ptr<Process> proc_;
};

}  // namespace fleet::test
