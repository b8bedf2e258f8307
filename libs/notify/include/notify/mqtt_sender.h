// The MQTT channel (kind "mqtt"): publishes the notification document, as is, to the channel's
// topic with QoS 1; a message is delivered when the broker's PUBACK for it arrives within the
// channel's timeout.
//
// Channel config (validated by the API, docs/notifications-channels.md):
//   {"host": "127.0.0.1", "port": 1883, "topic": "fleetward/notifications",
//    "username"?: "...", "tls"?: false, "ca_file"?: "/path", "retain"?: false,
//    "timeout_ms": 5000}
// The channel secret is the MQTT password.
//
// One connection per channel is kept and reused (libmosquitto's network thread keeps it alive);
// a connection whose settings changed, that the broker refused, or that did not come up in time
// is dropped and made again at the next send. Outcomes: PUBACK -> delivered; not connected in
// time, refused by the broker (reason code in status), publish refused -> failed; no PUBACK in
// time after the PUBLISH was written -> uncertain (QoS 1 is at-least-once: the payload carries
// the idempotency key in "id" for receivers to drop a duplicate); a config the sender cannot
// use -> failed, permanent.
#pragma once

#include <memory>

#include "notify/sender.h"

namespace fleet::notify {

// Thread-safe; sends to one channel are made one after the other on its connection.
std::unique_ptr<Sender> make_mqtt_sender();

}  // namespace fleet::notify
