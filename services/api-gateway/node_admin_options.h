// What the node administration routes need from the gateway's configuration (nodes.*).
#pragma once

#include <string>

namespace fleet::gateway {

struct NodeAdminOptions {
  // Base URL of this gateway as new hosts reach it, put into install commands and scripts
  // ("" = http://<the request's Host header>). No trailing '/'.
  std::string public_url;
  // The node-agent executable served by GET /api/nodes/agent-binary.
  std::string agent_binary;
};

}  // namespace fleet::gateway
