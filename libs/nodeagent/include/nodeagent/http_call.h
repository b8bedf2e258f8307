// One blocking HTTP request through libcurl, over TCP (the gateway, http or https with
// verification on) or a unix socket (the Docker Engine API). Every call has a connect timeout, a
// total timeout and a cap on the reply size.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "core/result.h"

namespace fleet::nodeagent {

struct HttpCall {
  std::string method = "GET";
  std::string url;          // for a unix socket the host part is ignored: "http://docker/v1.41/..."
  std::string unix_socket;  // "" = connect over TCP
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when non-empty or method is POST/PUT
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds timeout{30'000};
  std::size_t max_reply_bytes = 4 << 20;  // a longer reply fails (kDataLoss)
  std::string ca_file;                    // https: trust these CAs instead of the system's
};

struct HttpReply {
  int status = 0;
  std::string body;
};

// Performs the call. A reply with any status is a success; failures are the transport's:
// kUnavailable (refused, reset, no such socket), kDeadlineExceeded (timed out), kDataLoss (reply
// over the cap), kInvalidArgument (a bad URL or TLS setup).
Result<HttpReply> perform(const HttpCall& call);

// Sets up libcurl once for the process. Call from main() before threads start.
void init_http();

}  // namespace fleet::nodeagent
