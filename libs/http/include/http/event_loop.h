// A single-threaded epoll event loop with cross-thread task posting and timers. One loop per
// worker thread; every socket and every miner belongs to exactly one loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <queue>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.h"

namespace fleet::http {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;

  // Something registered for readiness events. Handlers that close themselves while events are
  // pending hand themselves to retire(): they are destroyed after the current batch, so a stale
  // event in the same batch still finds a live (closed) object.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_event(uint32_t events) = 0;
  };

  static Result<std::unique_ptr<EventLoop>> create();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Loop thread (or before run()). Level-triggered epoll registration.
  Status add(int fd, uint32_t events, Handler* handler);
  Status modify(int fd, uint32_t events, Handler* handler);
  void remove(int fd);
  void retire(std::unique_ptr<Handler> handler);

  // Any thread: runs `fn` on the loop thread as soon as possible.
  void post(std::function<void()> fn);
  // Any thread: runs `fn` on the loop thread and waits for it. REQUIRES: not the loop thread,
  // and the loop is running.
  void run_sync(const std::function<void()>& fn);

  // Loop thread: a one-shot timer. Returns an id for cancel_timer.
  uint64_t add_timer(Clock::time_point when, std::function<void()> fn);
  void cancel_timer(uint64_t id);

  // Runs until stop() (from any thread). Drains posted tasks before returning.
  void run();
  void stop();
  bool in_loop_thread() const { return std::this_thread::get_id() == thread_id_; }

 private:
  EventLoop(int epoll_fd, int wake_fd);
  void wake();
  void run_posted();
  int next_timeout_ms();
  void run_timers();

  const int epoll_fd_;
  const int wake_fd_;
  std::thread::id thread_id_;
  bool stopping_ = false;  // loop thread only

  std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // guarded by mu_
  bool stop_requested_ = false;                // guarded by mu_

  // Loop thread only.
  struct TimerEntry {
    Clock::time_point when;
    uint64_t id;
    bool operator>(const TimerEntry& o) const { return when > o.when; }
  };
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timer_heap_;
  std::unordered_map<uint64_t, std::function<void()>> timers_;
  uint64_t next_timer_id_ = 1;
  std::vector<std::unique_ptr<Handler>> retired_;
};

}  // namespace fleet::http
