// The operations the control API offers on the simulated fleet. SimServer implements them; the
// control API (control_api.h) maps HTTP requests onto them. Every method is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "endpoints.h"
#include "fault.h"

namespace fleet::minersim {

struct MinerView {
  int index = 0;
  std::string ip;
  std::string mac;
  std::string model;
  std::string fw_version;
  bool online = false;              // accepting connections right now
  std::vector<std::string> faults;  // describe(fault), e.g. "slow=2000"
  // Detail (GET /miners/{i}):
  std::string hostname;
  std::string serial;
  std::string firmware_style;  // "legacy" | "current"
  std::string presets_shape;   // "bare" | "wrapped"
  std::string miner_state;
  std::string preset;
  size_t api_keys = 0;
  std::vector<std::string> api_key_descriptions;
  size_t tokens = 0;  // live unlock tokens
  int64_t uptime_s = 0;
  bool find_miner = false;
  bool rebooting = false;
};

struct StatsView {
  std::map<std::string, uint64_t> requests;                  // endpoint path -> count, whole fleet
  std::map<int, std::map<std::string, uint64_t>> per_miner;  // only miners with requests
};

class FleetControl {
 public:
  virtual ~FleetControl() = default;
  virtual int count() const = 0;
  virtual std::vector<MinerView> list() = 0;
  // kNotFound when there is no miner `index`.
  virtual Result<MinerView> get(int index) = 0;
  // kInvalidArgument when the fault does not fit the miner (e.g. chain 9 on a 3-chain model).
  virtual Status add_fault(int index, const Fault& fault) = 0;
  // All faults, or only those of `kind`. An offline miner comes back online.
  virtual Status clear_faults(int index, std::optional<FaultKind> kind) = 0;
  virtual Status set_online(int index, bool online) = 0;
  // Offline for `down` (default --reboot-seconds), then back with uptime reset.
  virtual Status reboot(int index, std::optional<std::chrono::seconds> down) = 0;
  // kAlreadyExists when another miner has the address; kInvalidArgument outside 127.0.0.0/8;
  // kUnavailable when the address cannot be bound (the miner stays where it was).
  virtual Status move(int index, uint32_t ip) = 0;
  // Applies `fault` to every miner the selector picks; returns their indices.
  virtual Result<std::vector<int>> add_fault_bulk(const Selector& selector, const Fault& fault) = 0;
  virtual void clear_all_faults() = 0;
  virtual StatsView stats() = 0;
  virtual void reset_stats() = 0;
};

}  // namespace fleet::minersim
