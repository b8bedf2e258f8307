// One simulated relay controller on MQTT (docs/tools/relay-sim.md): its own broker connection
// with a retained availability message and a last will, per-channel relay state, honest timing
// (a cycle is off for its whole off time before it is acknowledged), a minimum interval between
// power actions per channel, and faults: drop or delay acknowledgements, go away uncleanly.
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "mqtt/client.h"
#include "relay/codec.h"
#include "relay/types.h"
#include "timers.h"

namespace fleet::relaysim {

struct ControllerSpec {
  std::string name;
  relay::Driver driver = relay::Driver::kFleetward;
  std::string topic;
  int channels = 4;
};
// NAME:DRIVER:TOPIC:CHANNELS, e.g. "rack-a:fleetward:rack-a:8". Errors name the part.
Result<ControllerSpec> parse_controller_spec(std::string_view text);

struct SimSettings {
  mqtt::BrokerOptions
      broker;  // host, port, credentials, TLS; client id and will are set per controller
  std::string topic_prefix = "fleetward/relay";
  std::chrono::milliseconds min_cycle_interval{30'000};  // between pulse/hold/cycle on a channel
  bool boot_on = true;  // every channel's state at start (mains powered)
};

struct ChannelView {
  int channel = 0;
  bool on = false;
  std::map<std::string, std::uint64_t> counts;  // pulse, hold, cycle, on, off, refused
  std::int64_t last_pulse_ms = 0;               // Tasmota: PulseTime in force at the last ON
};

struct ControllerView {
  ControllerSpec spec;
  bool connected = false;
  bool away = false;
  bool drop_acks = false;
  std::int64_t ack_delay_ms = 0;
  std::uint64_t bad_commands = 0;
  std::uint64_t duplicates = 0;  // commands with a request id seen before: not acted on again
  std::uint64_t dropped_acks = 0;
  std::vector<std::string> request_ids;  // every request id received, oldest first (max 1000)
  std::vector<ChannelView> channels;
};

class SimController {
 public:
  SimController(ControllerSpec spec, SimSettings settings);
  ~SimController();
  SimController(const SimController&) = delete;
  SimController& operator=(const SimController&) = delete;

  // Connects (in the background: an unreachable broker is retried).
  Status connect();
  // Drops the connection without DISCONNECT: the broker publishes the will (offline).
  void go_away();
  // Connects again after go_away(); the retained status becomes online again.
  Status come_back();
  void set_faults(bool drop_acks, std::chrono::milliseconds ack_delay);

  ControllerView view() const;
  const ControllerSpec& spec() const { return spec_; }

 private:
  struct Channel {
    bool on = true;
    std::map<std::string, std::uint64_t> counts;
    std::optional<std::chrono::steady_clock::time_point> last_power_action;
    bool busy = false;
    int pulse_time_units = 0;  // Tasmota
    std::int64_t last_pulse_ms = 0;
    std::optional<std::string> published_state;  // fleetward: the last state sent (retained)
  };

  mqtt::BrokerOptions broker_options() const;
  void on_connection(bool connected);
  void on_message(const mqtt::Message& message);
  void on_fleetward_command(int channel, const std::string& payload);
  void on_tasmota_command(const std::string& leaf, const std::string& payload);
  // Publishes an answer subject to the faults. REQUIRES: mu_ held.
  void answer(const std::string& topic, const std::string& payload, bool retain);
  void publish_locked(const std::string& topic, const std::string& payload, bool retain);
  void finish_fleetward(int channel, relay::Op op, const std::string& request_id);
  void tasmota_power(int channel, bool on);
  std::string fleetward_state(int channel, const std::string& action, const std::string& request_id,
                              bool refused, const std::string& reason) const;

  // Constant after construction.
  const ControllerSpec spec_;
  const SimSettings settings_;

  mutable std::mutex mu_;
  std::unique_ptr<mqtt::Client> client_;    // mu_ (swapped, never destroyed, under it)
  std::map<int, Channel> channels_;         // mu_
  bool away_ = false;                       // mu_
  bool drop_acks_ = false;                  // mu_
  std::chrono::milliseconds ack_delay_{0};  // mu_
  std::uint64_t bad_commands_ = 0, duplicates_ = 0, dropped_acks_ = 0;  // mu_
  std::vector<std::string> request_ids_;                                // mu_
  std::set<std::string> seen_ids_;                                      // mu_
  std::map<std::string, std::pair<int, std::string>> answers_;  // req id -> channel, state; mu_

  Timers timers_;  // last: destroyed first, so no task runs on a dead object
};

}  // namespace fleet::relaysim
