// A thread that runs tasks at their due time (steady clock). Tasks still waiting when the object
// is destroyed are dropped, never run.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace fleet::relaysim {

class Timers {
 public:
  Timers();
  ~Timers();
  Timers(const Timers&) = delete;
  Timers& operator=(const Timers&) = delete;

  // Runs `task` on the timer thread after `delay` (0 = as soon as possible, in order).
  void after(std::chrono::milliseconds delay, std::function<void()> task);

 private:
  void run();
  std::mutex mu_;
  std::condition_variable wake_;
  std::multimap<std::chrono::steady_clock::time_point, std::function<void()>> tasks_;  // mu_
  bool stopping_ = false;                                                              // mu_
  std::thread thread_;
};

}  // namespace fleet::relaysim
