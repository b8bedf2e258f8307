// An interruptible sleep for the worker loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace fleet::runtime {

class Sleeper {
 public:
  // Sleeps up to `d`, calling `tick` at least once a second (liveness). Returns false when woken
  // by wake_all() (the process is stopping), true when the full time passed.
  bool sleep(std::chrono::milliseconds d, const std::function<void()>& tick) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    std::unique_lock lock(mu_);
    while (!woken_) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return true;
      const auto slice = std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                       std::chrono::seconds(1));
      cv_.wait_for(lock, slice, [&] { return woken_; });
      if (tick) tick();
    }
    return false;
  }

  // Ends every current and future sleep at once. Thread-safe.
  void wake_all() {
    {
      std::lock_guard lock(mu_);
      woken_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;  // guarded by mu_
};

}  // namespace fleet::runtime
