// An interruptible sleep for the worker loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace fleet::runtime {

class Sleeper {
 public:
  enum class End { kElapsed, kNudged, kStopping };

  // Sleeps up to `d`, calling `tick` at least once a second (liveness). Ends early with kStopping
  // once wake_all() was called (the process is stopping) and, when `nudgeable`, with kNudged when
  // nudge() was called since the last nudged sleep ended (the nudge is consumed).
  End sleep_until_nudged(std::chrono::milliseconds d, const std::function<void()>& tick,
                         bool nudgeable = true) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    std::unique_lock lock(mu_);
    auto interrupted = [&] { return woken_ || (nudgeable && nudged_); };
    while (!interrupted()) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return End::kElapsed;
      const auto slice =
          std::min<std::chrono::steady_clock::duration>(deadline - now, std::chrono::seconds(1));
      cv_.wait_for(lock, slice, interrupted);
      if (tick) tick();
    }
    if (woken_) return End::kStopping;
    nudged_ = false;
    return End::kNudged;
  }

  // Sleeps up to `d` (nudges do not end it). Returns false when woken by wake_all() (the process
  // is stopping), true when the full time passed.
  bool sleep(std::chrono::milliseconds d, const std::function<void()>& tick) {
    return sleep_until_nudged(d, tick, false) == End::kElapsed;
  }

  // Ends the current (or the next) nudgeable sleep early. Thread-safe; cheap when called often.
  void nudge() {
    {
      std::lock_guard lock(mu_);
      if (nudged_) return;
      nudged_ = true;
    }
    cv_.notify_all();
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
  bool woken_ = false;   // guarded by mu_
  bool nudged_ = false;  // guarded by mu_
};

}  // namespace fleet::runtime
