// The relay channel: how the action-dispatcher makes relay controllers act over MQTT
// (docs/actions.md). One broker connection (fleet::mqtt), one thread of its own that matches
// acknowledgements, runs timeouts and calls completions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "mqtt/client.h"
#include "relay/request_tracker.h"
#include "relay/types.h"

namespace fleet::relay {

class RelayChannel {
 public:
  struct Options {
    mqtt::BrokerOptions broker;  // client_id "" = generated; no will (the dispatcher has none)
    std::string topic_prefix = "fleetward/relay";  // fleetward layout's first levels
  };

  // Checks the options and connects in the background; keeps reconnecting with backoff.
  static Result<std::unique_ptr<RelayChannel>> start(Options options);
  // Completes every request: queued ones kNotSent, published ones kNoAck; then disconnects.
  ~RelayChannel();
  RelayChannel(const RelayChannel&) = delete;
  RelayChannel& operator=(const RelayChannel&) = delete;

  // Subscribes the availability and state topics of these controllers (replaces the set).
  void set_controllers(std::vector<ControllerRef> controllers);

  // Thread-safe. `done` is called exactly once, from the channel's own thread (never inline).
  // kAcknowledged = the controller confirmed (state_json is its state).
  // kNotSent = not published (broker unreachable, channel busy): nothing reached the controller,
  //   safe to retry.
  // kControllerOffline = the controller's last will / status says offline: nothing published.
  // kNoAck = published, no acknowledgement within ack_timeout (after the op's duration), or the
  //   controller went offline meanwhile: the hardware may or may not have acted.
  // kRefused = the controller answered but refused (e.g. its minimum interval between cycles),
  //   or the request was invalid (nothing sent).
  void send(RelayRequest request, std::function<void(RelayResult)> done);

  bool connected() const;
  std::optional<bool> controller_online(std::int64_t controller_id) const;  // nullopt: not heard
  // Availability changes heard since the last call (controller id, online), oldest first.
  std::vector<std::pair<std::int64_t, bool>> take_availability_changes();
  RelayStats stats() const;

  struct Impl;

 private:
  explicit RelayChannel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fleet::relay
