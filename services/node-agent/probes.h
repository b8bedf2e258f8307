// The node-agent's probe server: /health, /ready (the last heartbeat accepted recently and Docker
// reachable), /metrics (Prometheus text).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "nodeagent/agent.h"

namespace fleet::nodeagent {

// Starts serving on address:port; fails when the port cannot be bound. `agent` must outlive it.
Result<std::shared_ptr<void>> start_probe_server(const std::string& address, int port,
                                                 const Agent& agent);

}  // namespace fleet::nodeagent
