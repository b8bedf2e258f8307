// A shard is one event-loop thread with the miners it owns: their listening sockets, their
// connections, and the transport faults (slow, reset, timeout, offline, reboot). The control API
// runs on a shard of its own without miners.
//
// Thread-safety: everything here runs on the shard's loop thread, except where noted; other
// threads reach a shard through loop().post()/run_sync().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "control_api.h"
#include "http.h"
#include "http/event_loop.h"
#include "miner.h"
#include "telemetry.h"

namespace fleet::minersim {

using EventLoop = ::fleet::http::EventLoop;

class Shard;

// What to do with a request once its answer is computed.
enum class Disposition { kSend, kDelay, kHang, kReset };

class Connection final : public EventLoop::Handler {
 public:
  enum class State { kReading, kDelaying, kHanging, kWriting, kClosed };

  Connection(Shard& shard, int fd, int miner, uint64_t id);
  ~Connection() override;
  void on_event(uint32_t events) override;

  // Closes now; `abortive` sends a TCP RST instead of a FIN.
  void close(bool abortive = false);

  int miner() const { return miner_; }
  uint64_t id() const { return id_; }
  State state() const { return state_; }
  bool idle() const { return state_ == State::kReading && in_.empty(); }
  std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }

 private:
  friend class Shard;
  void read_available();
  void try_process();
  void start_write();
  void flush();
  void finish_response();
  void want_write(bool on);

  Shard& shard_;
  int fd_;
  const int miner_;  // -1: control connection
  const uint64_t id_;
  State state_ = State::kReading;
  bool peer_closed_ = false;
  bool writing_registered_ = false;
  std::chrono::steady_clock::time_point last_activity_;
  std::string in_;
  http::Request req_;
  http::Response response_;
  std::string head_;
  size_t head_off_ = 0;
  size_t seg_ = 0;
  uint64_t seg_off_ = 0;
  uint64_t body_sent_ = 0;
  uint64_t timer_ = 0;
};

class Listener final : public EventLoop::Handler {
 public:
  Listener(Shard& shard, int fd, int miner) : shard_(shard), fd_(fd), miner_(miner) {}
  ~Listener() override;
  void on_event(uint32_t events) override;
  int fd() const { return fd_; }
  void close();

 private:
  Shard& shard_;
  int fd_;
  const int miner_;  // -1: the control API
};

struct ShardConfig {
  uint16_t port = 80;
  http::Limits limits;
  std::chrono::seconds idle_timeout{60};
  std::chrono::seconds hang_limit{600};
  std::chrono::seconds reboot_time{10};
  size_t max_connections = 1000;  // this shard's share of the file-descriptor budget
  // Which miners this shard owns: index % shard_count == shard_index.
  int shard_index = 0;
  int shard_count = 1;
  double churn_per_hour = 0;  // --churn: spontaneous events per miner per hour (0 = none)
  uint64_t seed = 42;
};

class Shard {
 public:
  // `miners` is the whole fleet (indexed by miner index); this shard owns those with
  // index % shard_count == shard_index. `control` is set only on the control shard.
  Shard(std::unique_ptr<EventLoop> loop, ShardConfig config,
        std::vector<std::unique_ptr<Miner>>* miners, ControlApi* control);
  ~Shard();

  EventLoop& loop() { return *loop_; }
  const ShardConfig& config() const { return config_; }

  // Binds miner `index`'s address (or the control address with index -1) and accepts on it.
  // Callable before the loop runs. Error (kUnavailable) names the address and the reason.
  Status open_listener(int index, uint32_t ip, uint16_t port);
  uint16_t bound_port(int index) const;
  // Opens or closes miner `index`'s listener to match Miner::reachable(); closing also drops its
  // connections. Idempotent.
  void sync_listener(int index);
  // Moves miner `index` to `ip` (rebinding); on failure it stays where it was.
  Status move(int index, uint32_t ip);
  // Applies a fault (events happen now; others are stored). Callable before the loop runs.
  Status apply_fault(int index, const Fault& fault);
  void schedule_reboot(int index, std::chrono::milliseconds after, std::chrono::milliseconds down);
  // Starts the once-a-second housekeeping (idle connections, hung connections, churn).
  void start_housekeeping();
  // --churn moves a miner through this (SimServer picks a free address and keeps its registry).
  // Called on the loop thread.
  std::function<void(int index)> churn_move;

  Miner& miner(int index) { return *(*miners_)[index]; }
  size_t connection_count() const { return connections_.size(); }
  bool listening(int index) const { return listeners_.count(index) > 0; }

 private:
  friend class Connection;
  friend class Listener;
  void accept_from(Listener& l, int lfd, int miner);
  void pause_listener(Listener& l, int index);
  // Computes the answer to `req` on `c` into c.response_; returns what to do with it.
  Disposition handle(Connection& c, std::chrono::milliseconds& delay);
  void on_closed(Connection& c);
  bool evict_idle_connection();
  void close_miner_connections(int index);
  void close_listener(int index);
  void housekeeping();
  void churn(uint64_t tick);

  std::unique_ptr<EventLoop> loop_;
  ShardConfig config_;
  std::vector<std::unique_ptr<Miner>>* miners_;
  ControlApi* control_;
  std::unordered_map<int, Listener*> listeners_;  // miner index (-1 control) -> owned below
  std::unordered_map<int, uint16_t> bound_ports_;
  std::unordered_map<uint64_t, Connection*> connections_;
  uint64_t next_connection_id_ = 1;
  Readings scratch_;
};

}  // namespace fleet::minersim
