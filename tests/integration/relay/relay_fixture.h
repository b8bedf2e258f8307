// A broker, relay-sim with one fleetward and one Tasmota controller, and a RelayChannel that
// knows both: the setting of the relay integration tests.
#pragma once

#include <future>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "mosquitto.h"
#include "process.h"
#include "relay/channel.h"
#include "relay_sim.h"

namespace fleet::test {

// Collects one RelayResult; wait() fails the test if `done` is not called within the timeout.
class ResultWaiter {
 public:
  std::function<void(relay::RelayResult)> callback();
  relay::RelayResult wait(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  int calls() const { return *calls_; }

 private:
  std::shared_ptr<std::promise<relay::RelayResult>> promise_ =
      std::make_shared<std::promise<relay::RelayResult>>();
  std::shared_ptr<std::atomic<int>> calls_ = std::make_shared<std::atomic<int>>(0);
};

struct RelayRig {
  static constexpr std::int64_t kRackA = 11;
  static constexpr std::int64_t kPlug = 12;

  RelayRig();
  relay::ControllerRef rack_a() const {
    return {kRackA, "rack-a", relay::Driver::kFleetward, "rack-a", 4};
  }
  relay::ControllerRef plug() const {
    return {kPlug, "plug", relay::Driver::kTasmota, "plug-1", 4};
  }
  relay::RelayRequest request(const relay::ControllerRef& c, int channel, relay::Op op,
                              std::chrono::milliseconds duration, std::string id) const;
  // Sends and waits for the result.
  relay::RelayResult send(relay::RelayRequest r);
  // Both controllers heard online by the channel.
  bool both_online(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  std::unique_ptr<MosquittoBroker> broker;
  std::unique_ptr<RelaySimProcess> sim;
  std::unique_ptr<relay::RelayChannel> channel;
};

mqtt::BrokerOptions broker_options(const MosquittoBroker& broker);

}  // namespace fleet::test
