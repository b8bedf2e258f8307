// Per-channel sending lanes: each channel has its own queue and its own threads (at most
// `per_channel`, started when the channel first has work), so a receiver that hangs or crawls
// holds only its own channel's messages — each attempt bounded by the channel's timeout — and
// every other channel keeps sending. Jobs of one channel run in the order submitted, up to
// `per_channel` at once.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fleet::notifier {

class SendLanes {
 public:
  using Job = std::function<void()>;

  explicit SendLanes(int per_channel);
  // Lets running jobs finish (each is bounded by its channel's timeout) and drops queued ones.
  ~SendLanes();
  SendLanes(const SendLanes&) = delete;
  SendLanes& operator=(const SendLanes&) = delete;

  // Queues `job` on `channel`'s lane; returns at once. Thread-safe.
  void submit(std::int64_t channel, Job job);

  // Jobs of `channel` queued or running. Thread-safe.
  std::size_t load(std::int64_t channel) const;

 private:
  struct Lane {
    std::deque<Job> queue;
    std::size_t running = 0;
    std::condition_variable cv;
    std::vector<std::thread> threads;
  };
  void loop(Lane& lane);

  const int per_channel_;
  mutable std::mutex mu_;
  std::map<std::int64_t, std::unique_ptr<Lane>> lanes_;  // guarded by mu_
  bool stop_ = false;                                    // guarded by mu_
};

}  // namespace fleet::notifier
