// Configuration every ASIC worker shares: how to talk to the firmware.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "config/config.h"
#include "firmware/curl_transport.h"
#include "firmware/vnish_api.h"

namespace fleet::asic {

struct FirmwareSettings {
  firmware::ApiOptions api;            // timeouts and payload limits per request
  std::size_t max_concurrency = 4096;  // requests in flight at once, at most
  bool adaptive_concurrency = false;   // fewer while answers are slow (concurrency_limit.h)
  std::chrono::milliseconds latency_target{1000};
  std::string default_password = "admin";     // unlock password when the miner has none of its own
  std::string key_description = "fleetward";  // how our API key is found on a miner
};

// Declares firmware.password (env FLEET_MINER_PASSWORD, secret), firmware.api_key_description,
// firmware.connect_timeout, firmware.request_timeout, firmware.max_body_bytes,
// firmware.max_depth, firmware.max_concurrency, firmware.adaptive_concurrency and
// firmware.latency_target. `adaptive_concurrency` is the default of firmware.adaptive_concurrency
// (on for discovery's bursts of provisioning; the poll loops keep a steady, measured number).
// `request_timeout` is the default of firmware.request_timeout (3 s for the status loop, longer for
// /chains).
void declare_firmware_config(config::Schema& schema,
                             std::chrono::milliseconds request_timeout = std::chrono::seconds(3),
                             std::size_t max_body_bytes = 1 << 20,
                             bool adaptive_concurrency = false);
FirmwareSettings firmware_settings_from(const config::Config& config);

firmware::CurlTransportOptions transport_options(const FirmwareSettings& settings);

}  // namespace fleet::asic
