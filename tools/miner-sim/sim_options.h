// Options of a miner-sim run (parsed from the command line by main.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "address.h"
#include "fault.h"
#include "models.h"

namespace fleet::minersim {

enum class FirmwareMix { kMixed, kLegacy, kCurrent };
enum class PresetsMix { kMixed, kBare, kWrapped };

struct SimOptions {
  int count = 100;                       // miners
  uint32_t base_ip = 0x7f140001;         // 127.20.0.1, host byte order
  uint16_t port = 80;                    // every miner listens on this port
  uint32_t control_ip = 0x7f000001;      // control API address
  uint16_t control_port = 0;             // 0 = any free port
  std::vector<const ModelSpec*> models;  // round-robin; empty = every model
  uint64_t seed = 42;
  std::string password = "admin";  // unlock password of every miner
  std::vector<FaultSpec> faults;   // applied at start
  std::string ready_file;          // written once every listener accepts connections
  int threads = 0;                 // event-loop threads; 0 = hardware concurrency
  std::chrono::seconds token_ttl{300};
  std::chrono::seconds reboot_time{10};       // offline time of a reboot
  std::chrono::milliseconds init_time{5000};  // "initializing" after boot / restart
  std::chrono::seconds idle_timeout{60};      // keep-alive connections idle this long close
  std::chrono::seconds hang_limit{600};       // "timeout" fault connections close after this
  double churn_per_hour = 0;   // spontaneous reboots/outages/moves/chain failures per miner-hour
  size_t max_connections = 0;  // open client connections at most (0 = what RLIMIT_NOFILE allows)
  FirmwareMix firmware = FirmwareMix::kMixed;  // mixed: 25% legacy 1.2.0-beta10 payloads
  PresetsMix presets = PresetsMix::kMixed;     // mixed: 20% wrap /autotune/presets
  std::string preset_api_key;                  // installed on every miner at start ("" = none)
  std::string preset_api_key_description = "fleetward";
};

}  // namespace fleet::minersim
