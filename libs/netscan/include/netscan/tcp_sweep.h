// The light scan of discovery (seed 003 §1): a TCP connect to one port of every address, with
// bounded concurrency and a short timeout, to find hosts worth probing with HTTP. Non-blocking
// sockets on one epoll instance: 65,536 addresses take about as long as the slowest timeout
// window, not 65,536 timeouts. A connection that completes is closed at once (nothing is sent).
//
// Not thread-safe per call; separate calls may run on separate threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "core/result.h"
#include "netscan/cidr.h"

namespace fleet::netscan {

struct SweepOptions {
  int port = 80;
  std::chrono::milliseconds timeout{400};  // seed 003: 300-500 ms per dial
  std::size_t max_in_flight = 1024;        // connects pending at once (file descriptors)
};

struct SweepResult {
  std::vector<Ipv4> open;       // ascending
  std::size_t refused = 0;      // RST: nothing listens there
  std::size_t timed_out = 0;    // no answer within the timeout (no host, or filtered)
  std::size_t unreachable = 0;  // other errors (no route, host unreachable)
  bool stopped = false;         // `stop` returned true before the end
  std::chrono::milliseconds elapsed{0};
};

// Sweeps `addresses`. `stop` (optional) is checked between batches of events. `on_open`
// (optional) is called, on the calling thread, for each open address as soon as it is found, so
// identification can start while the sweep goes on.
// Fails (kInternal / kResourceExhausted) only when no socket can be made at all.
Result<SweepResult> tcp_sweep(const std::vector<Ipv4>& addresses, const SweepOptions& options,
                              const std::function<bool()>& stop = {},
                              const std::function<void(Ipv4)>& on_open = {});

}  // namespace fleet::netscan
