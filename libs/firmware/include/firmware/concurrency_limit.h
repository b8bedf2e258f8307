// How many requests a transport keeps in flight, sized from the answers' latency: many while
// answers come fast, fewer when they slow down because someone is queueing them (our own CPU, the
// network, a shared gateway). A fixed 4,096 let discovery time out on miners that were merely
// waiting behind thousands of other requests.
//
// A gradient limit in the manner of TCP Vegas: each window of answers compares their mean latency
// with `latency_target`. Under the target the limit doubles per window until the first window over
// it (a slow start), then grows by its square root; over the target it shrinks by the ratio (at
// most halving per window).
// Requests that get no answer (timeouts, refused) say nothing about queueing and are not samples,
// so a tenth of the fleet hanging does not throttle the rest. Pure, so it is tested without a
// clock.
#pragma once

#include <chrono>
#include <cstddef>

namespace fleet::firmware {

class ConcurrencyLimit {
 public:
  struct Options {
    std::size_t min = 16;
    std::size_t max = 4096;
    std::size_t initial = 512;
    std::chrono::microseconds latency_target{1'000'000};  // the mean latency to stay under
  };
  explicit ConcurrencyLimit(Options options);

  // One answered request and how long it took (from leaving the queue to the full answer).
  void on_answer(std::chrono::microseconds latency);
  std::size_t limit() const { return limit_; }

 private:
  void end_window();

  Options options_;
  std::size_t limit_;
  bool congested_ = false;  // a window has been over the target (slow start is over)
  std::size_t window_samples_ = 0;
  double window_sum_us_ = 0;
};

}  // namespace fleet::firmware
