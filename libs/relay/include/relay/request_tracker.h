// The relay channel's logic without threads or a network: it sends requests through a Transport,
// matches the controllers' answers to them, and decides timeouts from the times it is given.
// RelayChannel (relay/channel.h) drives it from its own thread; unit tests drive it directly.
//
// One request at a time per (controller, channel): Tasmota answers carry no request id, so a
// second request on a busy channel is not sent (kNotSent, safe to retry later).
//
// Not thread-safe: one caller at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "relay/codec.h"
#include "relay/types.h"

namespace fleet::relay {

class Transport {
 public:
  virtual ~Transport() = default;
  // Fails when the message was not handed to a connected broker (nothing was sent).
  virtual Status publish(const OutMessage& message) = 0;
  virtual void subscribe(const std::string& filter) = 0;
  virtual void unsubscribe(const std::string& filter) = 0;
};

struct RelayStats {
  std::uint64_t published = 0;  // requests whose command reached the broker
  std::uint64_t acknowledged = 0;
  std::uint64_t no_ack = 0;
  std::uint64_t offline_fast = 0;  // kControllerOffline: failed without publishing
  std::uint64_t not_sent = 0;
  std::uint64_t refused = 0;
  std::uint64_t bad_messages = 0;      // malformed, oversize, unknown field/topic/channel
  std::uint64_t stale_states = 0;      // a state for a busy channel with another request id
  std::uint64_t ignored_messages = 0;  // e.g. Tasmota RESULT, retained Tasmota POWER
  std::uint64_t oversize_dropped = 0;  // dropped by the MQTT client before decoding (channel only)
};

class RequestTracker {
 public:
  using Time = std::chrono::steady_clock::time_point;
  using Done = std::function<void(RelayResult)>;
  struct Completion {
    Done done;
    RelayResult result;
  };

  RequestTracker(std::string topic_prefix, Transport& transport);

  // Replaces the set of controllers: subscribes the new ones' topics, unsubscribes the removed
  // ones' (a controller with a request in flight stays subscribed until it completes).
  void set_controllers(std::vector<ControllerRef> controllers);

  // Starts a request; returns what completed at once (invalid, offline, busy, not sent).
  std::vector<Completion> submit(RelayRequest request, Done done, Time now);
  // One incoming MQTT message. Bad input is counted and logged (rate-limited), changes nothing.
  std::vector<Completion> on_message(std::string_view topic, std::string_view payload,
                                     bool retained, Time now);
  // Times out requests and sends a Tasmota cycle's power-on when its off time is over.
  std::vector<Completion> on_tick(Time now);
  // Completes every request in flight (shutdown): kNoAck, they were published.
  std::vector<Completion> abandon_all(const std::string& why);

  // When on_tick() has something to do next; nullopt = nothing in flight.
  std::optional<Time> next_deadline() const;

  std::optional<bool> online(std::int64_t controller_id) const;
  std::vector<std::pair<std::int64_t, bool>> take_availability_changes();
  const RelayStats& stats() const { return stats_; }
  std::size_t in_flight() const { return pending_.size(); }

 private:
  enum class Phase {
    kAwaitAck,  // command published, waiting for the acknowledging state
    kOffWait,   // Tasmota cycle: OFF sent, waiting for the off time to pass
    kOnRetry,   // Tasmota cycle: the power-on could not be sent yet, retrying
  };
  struct Pending {
    RelayRequest request;
    Done done;
    Phase phase = Phase::kAwaitAck;
    Time deadline{};             // ack deadline (kAwaitAck), end of the off time, next retry
    Time give_up{};              // kOnRetry: stop retrying the power-on here
    bool off_confirmed = false;  // Tasmota cycle: stat OFF seen during the off time
  };
  using Key = std::pair<std::int64_t, int>;  // controller id, channel

  void subscribe_controller(const ControllerRef& c);
  void unsubscribe_controller(const ControllerRef& c);
  void rebuild_map();
  Completion finish(Key key, RelayResult::Kind kind, std::string reason, std::string state_json);
  void log_bad(std::string_view what);
  std::string where(const RelayRequest& r) const;

  std::string prefix_;
  Transport& transport_;
  std::vector<ControllerRef> controllers_;
  TopicMap map_;
  std::map<Key, Pending> pending_;
  std::map<std::int64_t, bool> online_;
  std::vector<std::pair<std::int64_t, bool>> availability_changes_;
  RelayStats stats_;
  Time last_bad_log_{};
  bool bad_logged_ = false;
  std::uint64_t bad_unlogged_ = 0;
};

// "10 s", "0.3 s": how reasons state a timeout.
std::string seconds_text(std::chrono::milliseconds d);

}  // namespace fleet::relay
