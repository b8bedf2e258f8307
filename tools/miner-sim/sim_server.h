// The running simulator: the fleet of miners, one listening socket per miner on its own loopback
// address, N event-loop threads serving them, and the control API on a thread of its own.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "control_api.h"
#include "fleet_control.h"
#include "shard.h"
#include "sim_options.h"

namespace fleet::minersim {

class SimServer final : public FleetControl {
 public:
  // Validates `options`, raises RLIMIT_NOFILE to its hard limit, builds the miners, applies the
  // --fault specs, binds every listener and the control API, and starts the threads. When it
  // returns, every reachable miner accepts connections.
  // Errors: kInvalidArgument (bad options, naming the flag), kResourceExhausted (not enough file
  // descriptors), kUnavailable (an address could not be bound).
  static Result<std::unique_ptr<SimServer>> start(const SimOptions& options);
  ~SimServer() override;

  // Stops every thread and closes every socket. Idempotent.
  void stop();

  uint16_t control_port() const { return control_port_; }
  std::string control_url() const;
  // "miner-sim: N miners on BASE..LAST:PORT, control http://127.0.0.1:P"
  std::string ready_line() const;
  size_t connection_budget() const { return connection_budget_; }

  // FleetControl
  int count() const override { return static_cast<int>(miners_.size()); }
  std::vector<MinerView> list() override;
  Result<MinerView> get(int index) override;
  Status add_fault(int index, const Fault& fault) override;
  Status clear_faults(int index, std::optional<FaultKind> kind) override;
  Status set_online(int index, bool online) override;
  Status reboot(int index, std::optional<std::chrono::seconds> down) override;
  Status move(int index, uint32_t ip) override;
  Result<std::vector<int>> add_fault_bulk(const Selector& selector, const Fault& fault) override;
  void clear_all_faults() override;
  StatsView stats() override;
  void reset_stats() override;

 private:
  explicit SimServer(const SimOptions& options) : options_(options) {}
  Shard& shard_of(int index) { return *shards_[static_cast<size_t>(index) % shards_.size()]; }
  Status check_index(int index) const;
  // Runs `fn` on the loop thread of miner `index`'s shard; kUnavailable after stop().
  Status on_owner(int index, const std::function<Status(Shard&)>& fn);
  MinerView make_view(int index, bool detail);
  // Address registry: reserve `ip` for `index` (false + owner when another miner has it), and
  // after a move attempt release whichever address the miner does not use.
  bool reserve_ip(int index, uint32_t ip, std::string& taken_by);
  void settle_ip(int index, uint32_t old_ip, uint32_t new_ip, bool moved);
  // --churn: move miner `index` to a spare address. On `shard`'s loop thread.
  void churn_move(Shard& shard, int index);

  SimOptions options_;
  std::vector<std::unique_ptr<Miner>> miners_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<ControlApi> control_api_;
  std::unique_ptr<Shard> control_shard_;
  std::vector<std::thread> threads_;  // [0] control, then one per shard
  uint16_t control_port_ = 0;
  size_t connection_budget_ = 0;
  std::atomic<bool> running_{false};

  std::mutex ip_mu_;
  std::unordered_map<uint32_t, int> ip_owner_;  // guarded by ip_mu_
  uint32_t next_spare_ip_ = 0;                  // guarded by ip_mu_
};

}  // namespace fleet::minersim
