// The action-dispatcher's configuration keys (dispatch.*, relay.*, mqtt.*, hiveos.* and the shared
// firmware.* keys), documented in docs/services/action-dispatcher.md.
#pragma once

#include <chrono>
#include <string>

#include "config/config.h"
#include "dispatch/dispatcher.h"
#include "dispatch/firmware_channel.h"
#include "dispatch/hiveos_channel.h"

namespace fleet::dispatch {

// The broker the relay channel uses; port 0 = no relay channel.
struct MqttSettings {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string client_id;  // "" = fleetward-dispatcher-<instance>
  std::string username;
  std::string password;  // secret
  bool tls = false;
  std::string ca_file, cert_file, key_file;
  std::chrono::milliseconds keepalive{std::chrono::seconds(30)};
  std::string topic_prefix = "fleetward/relay";
  std::chrono::milliseconds ack_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds controller_refresh{std::chrono::seconds(30)};
};

struct Settings {
  DispatcherOptions dispatcher;
  FirmwareChannelOptions firmware;
  bool firmware_enabled = true;
  MqttSettings mqtt;
  HiveosChannelOptions hiveos;
  bool hiveos_enabled = true;
};

void declare_config(config::Schema& schema);
// Throws runtime::ConfigError for combinations the schema cannot check.
Settings settings_from(const config::Config& config);

}  // namespace fleet::dispatch
