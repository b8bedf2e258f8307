// One discovery cycle (seed 003 §1, §3): sweep the configured networks (plus addresses asked for
// by rescan requests) with a light TCP dial, identify Vnish miners by /info, provision API keys
// where missing, read /model and presets for models not yet known, and write it all in one
// set-based transaction: new and moved miners, models, keys, miners gone offline, rescans handled.
// Runs on one replica at a time (leader lease "discovery-worker").
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "asic/firmware_config.h"
#include "config/config.h"
#include "netscan/cidr.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace fleet::firmware {
class HttpTransport;
}

namespace fleet::discovery {

struct DiscoveryOptions {
  std::vector<netscan::Cidr> networks;
  int port = 80;
  std::chrono::milliseconds dial_timeout{400};  // seed 003: 300-500 ms
  std::size_t max_dials = 2048;                 // TCP connects in flight
  std::uint64_t max_addresses = 1 << 18;
  asic::FirmwareSettings firmware;
  std::chrono::milliseconds model_refresh{6 * 3'600'000};
  bool manage_new = false;  // new miners start managed (polled) or wait for an operator
  bool provision = true;
  int max_provisions = 1000;
  double partition_share = 0.5;
  std::chrono::milliseconds provision_backoff_max{6 * 3'600'000};
};

void declare_config(config::Schema& schema);
DiscoveryOptions options_from(const config::Config& config);  // throws runtime::ConfigError

class DiscoveryCycle {
 public:
  DiscoveryCycle(DiscoveryOptions options, secrets::SecretBox box, std::string instance,
                 std::unique_ptr<firmware::HttpTransport> transport);
  ~DiscoveryCycle();

  runtime::CycleReport run(runtime::CycleContext& ctx);

 private:
  DiscoveryOptions options_;
  secrets::SecretBox box_;
  std::string instance_;
  std::unique_ptr<firmware::HttpTransport> transport_;
};

}  // namespace fleet::discovery
