// The api-gateway as a node sees it (NODES-CONTRACT "API"): registration with a token, then
// heartbeats, command polling, results and credential rotation with the node credential.
//
// Failures: kUnauthenticated for 401 (a revoked or wrong credential, a bad token: retrying the
// same request does not help), kPermissionDenied for 403, kInvalidArgument for other 4xx,
// kUnavailable for 5xx and transport failures (retry with backoff).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "nodeagent/commands.h"
#include "nodeagent/host_facts.h"

namespace fleet::nodeagent {

struct GatewayOptions {
  std::string url;      // "https://fleet.example.com" (no trailing path)
  std::string ca_file;  // https: CA bundle to trust ("" = the system's)
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{15'000};
};

struct Registration {
  std::int64_t node_id = 0;
  std::string name;
  std::string credential;
  int heartbeat_interval_s = 30;
  int command_poll_s = 5;
};

struct HeartbeatReply {
  int heartbeat_interval_s = 0;  // 0 = not given
  std::int64_t commands_pending = 0;
};

struct EngineFacts {
  std::string engine;
  std::string engine_version;
  std::string agent_version;
};

// The registration request body. Pure; exposed for tests.
std::string registration_body(const std::string& token, const HostFacts& facts,
                              const EngineFacts& engine);
// The body of PUT /api/nodes/{id}/facts: what registration sends, without the token and the
// machine id (a node's identity does not change). Pure; exposed for tests.
std::string facts_body(const HostFacts& facts, const EngineFacts& engine);
// The names of the facts that differ between two readings ("addresses", "memory_mb", ...), in
// the order of the body's fields. Pure.
std::vector<std::string> changed_facts(const HostFacts& before, const EngineFacts& engine_before,
                                       const HostFacts& after, const EngineFacts& engine_after);

class GatewayClient {
 public:
  explicit GatewayClient(GatewayOptions options) : options_(std::move(options)) {}

  Result<Registration> register_node(const std::string& token, const HostFacts& facts,
                                     const EngineFacts& engine) const;
  Result<HeartbeatReply> heartbeat(std::int64_t node_id, const std::string& credential,
                                   const std::string& body) const;
  // Reports the host's facts again (addresses, capacity, versions). kNotFound when the gateway
  // does not know the route (older than the agent).
  Status report_facts(std::int64_t node_id, const std::string& credential,
                      const std::string& body) const;
  // Returns the new credential.
  Result<std::string> rotate_credential(std::int64_t node_id, const std::string& credential) const;
  Result<std::vector<AgentCommand>> claim_commands(std::int64_t node_id,
                                                   const std::string& credential) const;
  Status post_result(std::int64_t node_id, const std::string& credential, std::int64_t command_id,
                     const CommandOutcome& outcome) const;

 private:
  GatewayOptions options_;
};

}  // namespace fleet::nodeagent
