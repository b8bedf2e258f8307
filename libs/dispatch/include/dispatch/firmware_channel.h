// The firmware channel: carries commands out through a miner's Vnish HTTP API (external-apis.md
// §1.10–1.11) on a pool of threads, each with its own libcurl transport.
//
//   restart_mining / start_mining / stop_mining / pause_mining / resume_mining   POST /mining/<x>
//   reboot         POST /system/reboot {"after": 3}; the miner goes away and comes back
//   shutdown       POST /mining/stop (Vnish has no power-off call; the relay's power_off has)
//   find_miner     POST /find-miner (a toggle); params {"on": true|false} toggles until it is so
//   set_preset     POST /settings, verified by reading GET /settings back: a firmware that says
//                  "saved" but still runs the old preset fails the command with that reason
//
// Authentication with the miner's sealed API key; a key the firmware rejects (401) is
// re-provisioned once with the unlock password (as the status-poller does) and the call retried;
// the new key is returned sealed with the outcome. Failures are classified: nothing reached the
// miner (refused, connect timeout) -> retry; sent without an answer (timeout, reset) -> uncertain;
// the firmware said no (4xx, {"err"}) or answered garbage -> failed, with its reason.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/result.h"
#include "dispatch/job.h"
#include "firmware/curl_transport.h"
#include "firmware/vnish_api.h"
#include "secrets/secret_box.h"

namespace fleet::dispatch {

struct FirmwareChannelOptions {
  int threads = 16;  // commands carried out at once
  firmware::ApiOptions api;
  std::string default_password = "admin";
  std::string key_description = "fleetward";
  bool reprovision = true;
  std::int64_t reboot_after_seconds = 3;
};

// Creates the channel with its threads started. Fails when a transport cannot be made.
Result<std::unique_ptr<Channel>> make_firmware_channel(FirmwareChannelOptions options,
                                                       secrets::SecretBox box);

// Carries out one firmware command on `transport` (blocking; nothing else pending on it). The
// pool's per-job step, exposed for tests with a scripted transport.
Outcome carry_out_firmware(firmware::HttpTransport& transport,
                           const FirmwareChannelOptions& options, const secrets::SecretBox& box,
                           const CommandJob& job);

}  // namespace fleet::dispatch
