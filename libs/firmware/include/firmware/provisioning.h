// API-key provisioning (seed 003 §2): unlock with the password, list the miner's keys with the
// bearer token, reuse the key whose description is ours, else create a new 32-lowercase-hex key.
// Later requests authenticate with x-api-key only.
//
// The flow is asynchronous on an HttpTransport, so discovery provisions hundreds of miners at once;
// provision() wraps it for one miner.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "firmware/http.h"
#include "firmware/vnish_api.h"

namespace fleet::firmware {

struct ProvisionRequest {
  MinerEndpoint miner;
  std::string password = "admin";         // the unlock password (Vnish default "admin")
  std::string description = "fleetward";  // how our key is found again on the miner
};

struct ProvisionedKey {
  std::string key;       // 32 lowercase hex characters
  bool created = false;  // false: an existing key with our description was reused
};

using ProvisionCallback = std::function<void(Result<ProvisionedKey>)>;

// Starts the flow; `done` runs once from transport.run(). Errors per classify(): a wrong password
// is kPermissionDenied, an unreachable miner kUnavailable / kDeadlineExceeded, a garbled answer
// kDataLoss. The password and keys never appear in error messages.
void start_provisioning(HttpTransport& transport, ProvisionRequest request,
                        const ApiOptions& options, ProvisionCallback done);

// Runs the flow for one miner on a transport with nothing else pending.
Result<ProvisionedKey> provision(HttpTransport& transport, ProvisionRequest request,
                                 const ApiOptions& options);

// A new key: 32 lowercase hex characters from a cryptographic random source.
std::string generate_api_key();

// True for exactly 32 lowercase hex characters (the format the firmware accepts).
bool is_valid_api_key(std::string_view key);

}  // namespace fleet::firmware
