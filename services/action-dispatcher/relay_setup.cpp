#include "relay_setup.h"

namespace fleet::dispatch {

std::unique_ptr<Channel> make_relay_channel(const MqttSettings&, const runtime::Setup&) {
  throw runtime::ConfigError("mqtt.port is set, but this build has no relay channel yet");
}

}  // namespace fleet::dispatch
