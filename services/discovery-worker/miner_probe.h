// The HTTP side of discovery, on an HttpTransport (many miners at once, no database):
//   identify()     GET /info of every host that accepted a TCP connection; keeps the Vnish
//                  miners with a MAC, counts everything else (other firmware, garbage, errors);
//   secure_keys()  for miners that need it: verify a stored key (/auth-check) and provision one
//                  when there is none or it is rejected (firmware/provisioning.h);
//   fetch_models() GET /model and /autotune/presets of one miner per model.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "firmware/http.h"
#include "firmware/payloads.h"
#include "firmware/vnish_api.h"
#include "netscan/cidr.h"

namespace fleet::discovery {

struct IdentifiedMiner {
  std::string ip;
  firmware::InfoPayload info;  // is_vnish() and info.mac set
};

struct IdentifyReport {
  std::vector<IdentifiedMiner> miners;  // one per MAC, in address order
  std::int64_t not_vnish = 0;           // answered /info, other firmware
  std::int64_t no_mac = 0;              // Vnish without a usable MAC
  std::int64_t duplicate_mac = 0;       // a MAC seen at a second address this sweep
  std::int64_t failed = 0;              // no usable /info answer (not HTTP, not JSON, errors)
  std::int64_t field_issues = 0;
};

IdentifyReport identify(firmware::HttpTransport& transport, const std::vector<netscan::Ipv4>& hosts,
                        int port, const firmware::ApiOptions& options,
                        const std::function<bool()>& stop);

// What one /info probe found.
struct Identification {
  enum class Kind { kMiner, kNotVnish, kNoMac, kFailed } kind = Kind::kFailed;
  std::optional<IdentifiedMiner> miner;  // set for kMiner
  std::int64_t field_issues = 0;
};

// Queues GET /info of one host; `done` runs from transport.run(). identify() is this for many.
void start_identify(firmware::HttpTransport& transport, const std::string& ip, int port,
                    const firmware::ApiOptions& options, std::function<void(Identification)> done);

struct KeyTask {
  std::string mac;
  firmware::MinerEndpoint miner;
  std::string password;
  std::optional<std::string> stored_key;  // verified first; provisioned only when rejected
};

struct KeyResult {
  std::string mac;
  std::optional<std::string> key;  // the key to store (new or re-found); nullopt: unchanged
  bool created = false;
  bool verified = false;       // the stored key was accepted
  std::optional<Error> error;  // provisioning failed
};

// Queues one miner's key task (verify the stored key, provision when there is none or it is
// rejected); `done` runs from transport.run(). secure_keys() is this for many.
void start_key_task(firmware::HttpTransport& transport, KeyTask task,
                    const firmware::ApiOptions& options, const std::string& description,
                    std::function<void(KeyResult)> done);

std::vector<KeyResult> secure_keys(firmware::HttpTransport& transport, std::vector<KeyTask> tasks,
                                   const firmware::ApiOptions& options,
                                   const std::string& description,
                                   const std::function<bool()>& stop);

struct ModelTask {
  std::string alias;
  firmware::MinerEndpoint miner;
  std::optional<std::string> api_key;  // for /autotune/presets (needs auth); none: skipped
  firmware::InfoPayload info;          // the fallback when /model is missing (old firmware)
};

struct ModelResult {
  firmware::ModelPayload model;
  std::optional<std::vector<firmware::Preset>> presets;  // nullopt: not fetched or failed
  std::vector<std::string> problems;
};

std::vector<ModelResult> fetch_models(firmware::HttpTransport& transport,
                                      std::vector<ModelTask> tasks,
                                      const firmware::ApiOptions& options,
                                      const std::function<bool()>& stop);

}  // namespace fleet::discovery
