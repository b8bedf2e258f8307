// The heartbeat a node sends (NODES-CONTRACT: POST /api/nodes/{id}/heartbeat), its pacing, and the
// one-slot buffer that keeps the newest unsent state while the gateway is away.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/backoff.h"
#include "nodeagent/docker.h"
#include "nodeagent/host_facts.h"

namespace fleet::nodeagent {

// The gateway refuses longer lists.
constexpr std::size_t kMaxContainerList = 500;

struct HeartbeatState {
  std::int64_t seq = 0;
  std::chrono::system_clock::time_point sent_at;
  LoadSample load;
  std::vector<ContainerSummary> containers;
};

// The request body: counts over every container, the list cut at kMaxContainerList, percents
// clamped to 0..100 and rounded to 0.01.
std::string heartbeat_body(const HeartbeatState& state);

// "2026-12-04T08:46:24Z" (UTC, whole seconds).
std::string format_rfc3339_utc(std::chrono::system_clock::time_point t);

// The time until the next heartbeat: `base` spread by ±10 % with `unit_random` in [0, 1)
// (0 -> 0.9 × base, 0.5 -> base, just below 1 -> 1.1 × base). Pure.
std::chrono::milliseconds jittered_interval(std::chrono::milliseconds base, double unit_random);

// The retry delays after failed sends: from 1 s doubling, with jitter, never above the heartbeat
// interval (a gateway that is back receives the state within one interval).
BackoffPolicy send_retry_policy(std::chrono::milliseconds heartbeat_interval);

// Holds at most one heartbeat waiting to be sent: a newer one replaces it (the gateway wants the
// current state, not a history). Not thread-safe.
class HeartbeatBuffer {
 public:
  // Keeps `state`, replacing (and counting) one that was not sent yet.
  void offer(HeartbeatState state);
  const std::optional<HeartbeatState>& pending() const { return pending_; }
  // The pending heartbeat with this seq was accepted: drop it (a newer one stays).
  void sent(std::int64_t seq);
  std::uint64_t replaced() const { return replaced_; }

 private:
  std::optional<HeartbeatState> pending_;
  std::uint64_t replaced_ = 0;
};

}  // namespace fleet::nodeagent
