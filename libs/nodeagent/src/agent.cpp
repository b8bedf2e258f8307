#include "nodeagent/agent.h"

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include "core/duration.h"
#include "core/version.h"

namespace fleet::nodeagent {
namespace {

std::int64_t steady_ms(const Clock& c) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(c.steady_now().time_since_epoch())
      .count();
}

}  // namespace

Agent::Agent(AgentSettings settings, AgentEnv env)
    : settings_(std::move(settings)),
      env_(std::move(env)),
      gateway_(settings_.gateway),
      docker_(settings_.docker),
      sampler_(settings_.paths),
      metrics_(std::make_unique<metrics::Registry>()) {
  interval_ms_ = settings_.heartbeat_interval.count();
  if (!env_.unit_random) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    env_.unit_random = [rng] { return std::uniform_real_distribution<double>(0, 1)(*rng); };
  }
  const metrics::Labels svc = {{"service", "node-agent"}};
  auto& m = *metrics_;
  heartbeats_ok_ = &m.counter("fleet_node_agent_heartbeats_total", "heartbeats accepted",
                              {{"service", "node-agent"}, {"result", "accepted"}});
  heartbeats_failed_ = &m.counter("fleet_node_agent_heartbeats_total", "heartbeats accepted",
                                  {{"service", "node-agent"}, {"result", "failed"}});
  heartbeats_replaced_ =
      &m.counter("fleet_node_agent_heartbeats_replaced_total",
                 "unsent heartbeats replaced by a newer one while the gateway was away", svc);
  commands_ok_ = &m.counter("fleet_node_agent_commands_total", "agent commands carried out",
                            {{"service", "node-agent"}, {"result", "ok"}});
  commands_failed_ = &m.counter("fleet_node_agent_commands_total", "agent commands carried out",
                                {{"service", "node-agent"}, {"result", "failed"}});
  facts_reported_total_ =
      &m.counter("fleet_node_agent_facts_reports_total",
                 "host facts reported to the gateway (at start and on change)", svc);
  last_heartbeat_ts_ = &m.gauge("fleet_node_agent_last_heartbeat_timestamp_seconds",
                                "when the gateway last accepted a heartbeat", svc);
  docker_gauge_ = &m.gauge("fleet_node_agent_docker_up", "1 when the Docker API answered", svc);
  credential_gauge_ = &m.gauge("fleet_node_agent_credential_rejected",
                               "1 while the gateway refuses the credential (401)", svc);
  m.gauge("fleet_build_info", "build information",
          {{"service", "node-agent"}, {"version", std::string(version())}})
      .set(1);
}

Result<HeartbeatState> Agent::next_heartbeat() {
  auto load = sampler_.sample();
  if (!load.ok()) return load.error();
  HeartbeatState s;
  s.seq = ++seq_;
  s.sent_at = env_.clock->wall_now();
  s.load = *load;
  auto list = docker_.list_all();
  if (list.ok()) {
    s.containers = std::move(*list);
    if (!docker_up_.exchange(true))
      spdlog::info("the Docker API answers on {}", settings_.docker.socket);
  } else {
    if (docker_up_.exchange(false) || seq_ == 1) {
      spdlog::warn("the Docker API is unreachable ({}); heartbeats carry no containers",
                   list.error().message());
    }
  }
  docker_gauge_->set(docker_up_ ? 1 : 0);
  return s;
}

void Agent::note_unauthenticated(const Error& e) {
  if (!unauthenticated_.exchange(true)) {
    spdlog::error(
        "credential revoked or invalid: the gateway refused it ({}); retrying every {} — "
        "register this node again or rotate its credential",
        e.message(), format_duration(settings_.unauthorized_retry));
  }
  credential_gauge_->set(1);
}

std::string Agent::credential() const {
  std::lock_guard lock(mu_);
  return settings_.credential;
}

Status Agent::send(const HeartbeatState& state, std::int64_t* commands_pending) {
  auto reply = gateway_.heartbeat(settings_.node_id, credential(), heartbeat_body(state));
  if (!reply.ok()) {
    heartbeats_failed_->inc();
    if (reply.error().kind() == ErrorKind::kUnauthenticated) note_unauthenticated(reply.error());
    return reply.error();
  }
  heartbeats_ok_->inc();
  if (unauthenticated_.exchange(false)) spdlog::info("the gateway accepts the credential again");
  credential_gauge_->set(0);
  last_accepted_ms_ = steady_ms(*env_.clock);
  last_heartbeat_ts_->set(static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(env_.clock->wall_now().time_since_epoch())
          .count()));
  if (reply->heartbeat_interval_s > 0) {
    const std::int64_t ms = std::int64_t{reply->heartbeat_interval_s} * 1000;
    if (interval_ms_.exchange(ms) != ms) {
      spdlog::info("the gateway sets the heartbeat interval to {} s", reply->heartbeat_interval_s);
    }
  }
  spdlog::debug("heartbeat {} accepted ({} commands pending)", state.seq, reply->commands_pending);
  if (commands_pending != nullptr) *commands_pending = reply->commands_pending;
  return Status::success();
}

Status Agent::report_facts_if_changed() {
  if (facts_unsupported_) return Status::success();
  auto facts = collect_host_facts(settings_.paths);
  if (!facts.ok()) return facts.error();
  EngineFacts engine{.engine = "unknown", .agent_version = std::string(version())};
  if (auto v = docker_.version(); v.ok()) {
    engine.engine = v->engine;
    engine.engine_version = v->version;
  } else if (facts_reported_) {
    // Docker away for a moment is not a change of engine: keep what was reported.
    engine = facts_reported_->second;
  }
  std::vector<std::string> changed;
  if (facts_reported_) {
    changed = changed_facts(facts_reported_->first, facts_reported_->second, *facts, engine);
    if (changed.empty()) return Status::success();
  }
  Status s = gateway_.report_facts(settings_.node_id, credential(), facts_body(*facts, engine));
  if (!s.ok()) {
    if (s.error().kind() == ErrorKind::kNotFound) {
      facts_unsupported_ = true;
      spdlog::info("{}; the facts given at registration stay", s.error().message());
      return Status::success();
    }
    if (s.error().kind() == ErrorKind::kUnauthenticated) note_unauthenticated(s.error());
    return s.error();
  }
  facts_reported_total_->inc();
  if (changed.empty()) {
    spdlog::info("host facts reported: {} address(es), {} cores, {} MB, {} GB, {} {}",
                 facts->addresses.size(), facts->cpu_cores, facts->memory_mb, facts->disk_gb,
                 engine.engine, engine.engine_version);
  } else {
    std::string names;
    for (const auto& c : changed)
      names += (names.empty() ? "" : ", ") + c;
    spdlog::info("host facts changed ({}): reported to the gateway", names);
  }
  facts_reported_ = std::make_pair(std::move(*facts), std::move(engine));
  return Status::success();
}

void Agent::request_poll() {
  {
    std::lock_guard lock(mu_);
    poll_requested_ = true;
  }
  cv_.notify_all();
}

void Agent::command_loop() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || poll_requested_; });
      if (stopping_) return;
      poll_requested_ = false;
    }
    try {
      poll_commands();
    } catch (const std::exception& e) {
      spdlog::error("command loop: {}", e.what());
    }
  }
}

void Agent::poll_commands() {
  auto claimed = gateway_.claim_commands(settings_.node_id, credential());
  if (!claimed.ok()) {
    if (claimed.error().kind() == ErrorKind::kUnauthenticated) {
      note_unauthenticated(claimed.error());
    } else {
      spdlog::warn("command poll failed: {}", claimed.error().message());
    }
    return;
  }
  CommandPolicy policy{.ulimits = settings_.ulimits,
                       .host_power = settings_.host_power,
                       .power = env_.power,
                       .publish_address = settings_.publish_address};
  for (const auto& c : *claimed) {
    spdlog::info("command {} ({}): carrying it out", c.id, c.action);
    CommandOutcome outcome = execute_command(c, docker_, policy);
    (outcome.ok ? commands_ok_ : commands_failed_)->inc();
    if (outcome.ok) {
      spdlog::info("command {} ({}) succeeded: {}", c.id, c.action, outcome.result_json);
    } else {
      spdlog::warn("command {} ({}) failed: {}", c.id, c.action, outcome.error);
    }
    // The result is retried a few times: the command's lease would otherwise run it again.
    for (int attempt = 1;; ++attempt) {
      Status s = gateway_.post_result(settings_.node_id, credential(), c.id, outcome);
      if (s.ok()) break;
      if (!s.error().transient() || attempt >= 3) {
        spdlog::warn("command {}: the result could not be reported: {}", c.id, s.error().message());
        break;
      }
      if (!wait(std::chrono::seconds(attempt))) break;
    }
  }
}

Status Agent::send_once() {
  if (Status f = report_facts_if_changed(); !f.ok()) {
    spdlog::warn("host facts not reported: {}", f.error().message());
  }
  auto hb = next_heartbeat();
  if (!hb.ok()) return hb.error();
  std::int64_t pending = 0;
  Status s = send(*hb, &pending);
  if (s.ok() && pending > 0) poll_commands();
  return s;
}

bool Agent::wait(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return stopping_; });
  return !stopping_;
}

void Agent::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void Agent::run() {
  using std::chrono::milliseconds;
  using namespace std::chrono_literals;
  Backoff retry(send_retry_policy(settings_.heartbeat_interval),
                static_cast<std::uint64_t>(env_.unit_random() * 1e18));
  auto now = [&] { return env_.clock->steady_now(); };
  auto next_heartbeat_at = now();
  auto next_send_at = now();
  auto next_poll_at = now() + settings_.command_poll;
  auto next_facts_at = now();
  std::thread commands([this] { command_loop(); });
  spdlog::info("node {}: heartbeats to {} every {} (±10 %), command polls every {}",
               settings_.node_id, settings_.gateway.url,
               format_duration(settings_.heartbeat_interval),
               format_duration(settings_.command_poll));
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    try {
      const milliseconds interval(interval_ms_.load());
      if (now() >= next_heartbeat_at) {
        auto hb = next_heartbeat();
        if (hb.ok()) {
          if (buffer_.pending()) {
            heartbeats_replaced_->inc();
            spdlog::info("heartbeat {} replaces the unsent heartbeat {}", hb->seq,
                         buffer_.pending()->seq);
          }
          buffer_.offer(std::move(*hb));
        } else {
          spdlog::error("cannot sample the host: {}", hb.error().message());
        }
        next_heartbeat_at = now() + jittered_interval(interval, env_.unit_random());
      }
      if (buffer_.pending() && now() >= next_send_at) {
        const HeartbeatState state = *buffer_.pending();
        std::int64_t pending = 0;
        Status s = send(state, &pending);
        if (s.ok()) {
          if (pending > 0) request_poll();
          if (retry.failures() > 0) {
            spdlog::info("the gateway is back: heartbeat {} delivered after {} failed attempts",
                         state.seq, retry.failures());
          }
          buffer_.sent(state.seq);
          retry.reset();
          next_send_at = now();
        } else if (s.error().kind() == ErrorKind::kUnauthenticated) {
          std::string fresh = env_.config_path.empty() ? "" : stored_credential(env_.config_path);
          if (!fresh.empty() && fresh != credential()) {
            spdlog::info("the config file holds a new credential: using it");
            {
              std::lock_guard lock(mu_);
              settings_.credential = fresh;
            }
            next_send_at = now();
          } else {
            next_send_at = now() + settings_.unauthorized_retry;
            // No newer heartbeat is built until the retry: it would replace this one anyway.
            next_heartbeat_at = std::max(next_heartbeat_at, next_send_at);
          }
        } else {
          const milliseconds delay = retry.fail();
          spdlog::warn("heartbeat {} not delivered ({}); retrying in {}", state.seq,
                       s.error().message(), format_duration(delay));
          next_send_at = now() + delay;
        }
      }
      if (now() >= next_facts_at) {
        // Reported at start and whenever they change (a new address from DHCP, an engine
        // upgrade, more memory); a failure is tried again about a heartbeat interval later.
        Status f = unauthenticated_ ? Status(Error::unavailable("credential refused"))
                                    : report_facts_if_changed();
        if (!f.ok() && !unauthenticated_) {
          spdlog::warn("host facts not reported: {}", f.error().message());
        }
        next_facts_at =
            now() + (f.ok() ? settings_.facts_interval
                            : std::min<milliseconds>(settings_.facts_interval, interval));
      }
      if (now() >= next_poll_at) {
        if (!unauthenticated_ && last_accepted_ms_ >= 0) request_poll();
        next_poll_at = now() + settings_.command_poll;
      }
    } catch (const std::exception& e) {
      spdlog::error("agent loop: {}", e.what());
      next_send_at = now() + 1s;
    }
    auto next = std::min({next_heartbeat_at, next_poll_at, next_facts_at});
    if (buffer_.pending()) next = std::min(next, next_send_at);
    const auto d = std::chrono::duration_cast<milliseconds>(next - now());
    if (!wait(std::clamp<milliseconds>(d, 0ms, 1s))) break;
  }
  // A command in flight finishes (within its own timeout) before the agent exits.
  stop();
  commands.join();
  spdlog::info("node-agent stopping: {} heartbeats accepted, {} failed", heartbeats_ok_->value(),
               heartbeats_failed_->value());
}

ReadyAnswer Agent::ready() const {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return {false, "shutting down"};
  }
  if (unauthenticated_) return {false, "credential revoked or invalid (401 from the gateway)"};
  const std::int64_t last = last_accepted_ms_;
  if (last < 0) return {false, "no heartbeat accepted yet"};
  const std::int64_t interval = interval_ms_;
  const auto age = steady_ms(*env_.clock) - last;
  if (age > 3 * interval + 10'000) {
    return {false, "the last accepted heartbeat is " + std::to_string(age / 1000) + " s old"};
  }
  if (!docker_up_) return {false, "the Docker API is unreachable"};
  return {true, ""};
}

std::string Agent::metrics_text() const {
  return metrics_->render();
}

}  // namespace fleet::nodeagent
