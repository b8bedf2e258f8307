// Builds the relay channel from the mqtt.* / relay.* settings (helper of main.cpp).
#pragma once

#include <memory>

#include "dispatch/job.h"
#include "dispatch/options.h"
#include "runtime/worker.h"

namespace fleet::dispatch {

// Throws runtime::ConfigError when the settings cannot make a channel.
std::unique_ptr<Channel> make_relay_channel(const MqttSettings& settings,
                                            const runtime::Setup& setup);

}  // namespace fleet::dispatch
