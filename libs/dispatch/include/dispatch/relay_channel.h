// The relay channel of the dispatcher: power actions (relay_plan.h) carried out by relay
// controllers over MQTT through relay::RelayChannel (docs/actions.md), step by step, each step
// acknowledged by the controller. Keeps the controllers' subscriptions current and writes their
// availability (relay_controllers.online) from a thread with its own database session.
//
//   acknowledged            -> next step, or succeeded (result: the controller's state per step)
//   not sent (broker down)  -> retry (nothing reached the controller) — first step only
//   controller offline      -> failed at once, with the last will as the reason
//   no acknowledgement      -> uncertain: failed, never repeated (the relay may have switched)
//   refused by controller   -> failed with its reason (e.g. its minimum interval)
#pragma once

#include <memory>

#include "core/result.h"
#include "db/connection_options.h"
#include "dispatch/job.h"
#include "dispatch/options.h"

namespace fleet::dispatch {

Result<std::unique_ptr<Channel>> make_relay_channel(const MqttSettings& settings,
                                                    db::ConnectionOptions database,
                                                    std::string client_id);

}  // namespace fleet::dispatch
