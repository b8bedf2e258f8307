// The node-agent's main loop: a heartbeat every interval (±10 % jitter) with the host's load and
// its containers, retries with backoff while the gateway is away (the newest unsent heartbeat
// replaces an older one), command polls, and the state the probes report.
//
// Commands run on their own thread (started by run()): a container stop that waits out its
// timeout, or a slow image pull, must never hold back the heartbeats — a node whose heartbeats
// stop is declared offline and its containers moved away.
//
// Thread-safety: run() on one thread; stop(), ready() and metrics_text() from any other.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "core/backoff.h"
#include "core/clock.h"
#include "core/result.h"
#include "metrics/registry.h"
#include "nodeagent/commands.h"
#include "nodeagent/docker.h"
#include "nodeagent/gateway.h"
#include "nodeagent/heartbeat.h"
#include "nodeagent/settings.h"

namespace fleet::nodeagent {

struct AgentEnv {
  const Clock* clock = &Clock::real();
  std::function<double()> unit_random;  // [0, 1); default: a seeded mt19937
  std::string config_path;              // re-read for a rotated credential after a 401 ("" = never)
  std::function<Status(const std::string&)> power = run_systemctl_power;
};

struct ReadyAnswer {
  bool ready = false;
  std::string reason;  // why not
};

class Agent {
 public:
  Agent(AgentSettings settings, AgentEnv env);

  // Samples load and containers and builds the next heartbeat (seq + 1). Docker being away
  // leaves the container fields empty (logged).
  Result<HeartbeatState> next_heartbeat();

  // --once: one heartbeat, sent now; commands it announces are carried out. Fails as the send.
  Status send_once();

  // Runs until stop(). Never throws.
  void run();
  void stop();

  ReadyAnswer ready() const;
  std::string metrics_text() const;

 private:
  // Sends one heartbeat; `commands_pending` gets the gateway's count of waiting commands.
  Status send(const HeartbeatState& state, std::int64_t* commands_pending = nullptr);
  // Reads the host's facts and reports them when they differ from the last ones the gateway
  // accepted (always the first time). Fails as the report; success when nothing changed.
  Status report_facts_if_changed();
  void poll_commands();  // claims and carries out this node's commands (the command thread)
  void request_poll();   // wakes the command thread
  void command_loop();   // the command thread: polls when asked, until stop()
  std::string credential() const;
  bool wait(std::chrono::milliseconds d);  // false when stopping
  void note_unauthenticated(const Error& e);

  AgentSettings settings_;
  AgentEnv env_;
  GatewayClient gateway_;
  DockerClient docker_;
  LoadSampler sampler_;
  HeartbeatBuffer buffer_;
  std::int64_t seq_ = 0;
  std::atomic<std::int64_t> interval_ms_{
      30000};  // the heartbeat interval in force (the gateway may change it)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;        // guarded by mu_
  bool poll_requested_ = false;  // guarded by mu_
  // settings_.credential is replaced (a rotated one re-read after a 401) under mu_: read it
  // through credential().

  std::atomic<bool> unauthenticated_{false};
  std::atomic<bool> docker_up_{false};
  std::atomic<std::int64_t> last_accepted_ms_{-1};  // steady ms of the last accepted heartbeat
  // The facts the gateway last accepted (the main loop's thread only).
  std::optional<std::pair<HostFacts, EngineFacts>> facts_reported_;
  bool facts_unsupported_ = false;  // the gateway has no facts route: stop asking

  std::unique_ptr<metrics::Registry> metrics_;
  metrics::Counter* heartbeats_ok_;
  metrics::Counter* heartbeats_failed_;
  metrics::Counter* heartbeats_replaced_;
  metrics::Counter* commands_ok_;
  metrics::Counter* commands_failed_;
  metrics::Counter* facts_reported_total_;
  metrics::Gauge* last_heartbeat_ts_;
  metrics::Gauge* docker_gauge_;
  metrics::Gauge* credential_gauge_;
};

}  // namespace fleet::nodeagent
