// The firmware's HTTP API for one miner: routing, authentication, status codes and error bodies,
// payloads and body faults. Transport faults (slow, reset, timeout, offline) are the server's.
//
// Authentication as observed on real units (external-apis.md §1.2, seed 003):
//   none:   /info /model /status /chains /chips /perf-summary /find-miner /logs/* and GET /
//   bearer: /lock, /lock/others, /apikeys, /apikeys/delete (a fresh unlock token)
//   key:    GET /settings (x-api-key only, per the spec)
//   either: /summary, /auth-check, /autotune/presets, POST /settings, /mining/*, /system/reboot
// A bearer is "Authorization: Bearer <token>" or, as pyasic sends it, "Authorization: <token>".
#pragma once

#include <chrono>
#include <optional>

#include "endpoints.h"
#include "http.h"
#include "miner.h"
#include "telemetry.h"

namespace fleet::minersim {

// What the server must do after answering (things that outlive the request).
struct ApiEffects {
  // The miner asked to reboot: go offline after this delay (POST /system/reboot).
  std::optional<std::chrono::milliseconds> reboot_after;
};

// Answers `req` (to endpoint `e`, see classify_path) as miner `m` would at `now`, into `out`.
// `scratch` holds readings between calls to avoid allocations. Body faults of the miner that
// match the path are applied to 200 answers.
ApiEffects handle_vnish(Miner& m, const http::Request& req, Endpoint e, Now now,
                        http::Response& out, Readings& scratch);

// The token in an Authorization header ("Bearer X" or bare "X"); "" when absent.
std::string_view bearer_token(std::string_view authorization);

}  // namespace fleet::minersim
