// Credentials of container host nodes (issue 13): registration tokens that an admin hands to the
// install script, and the per-node credential the agent presents on every call. Both are random
// and stored only as the hex SHA-256 of the whole string (the API key scheme, credentials.h).
// No database access here.
//
// Thread-safety: every function is safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fleet::auth {

// "fwr_<12 alphanumeric token id>_<43-char URL-safe secret>" (256 bits in the secret).
struct NewRegistrationToken {
  std::string token;     // shown once to the admin
  std::string token_id;  // stored (registration_tokens.token_id), shown in listings
  std::string hash;      // stored: hex SHA-256 of the whole token
};
NewRegistrationToken generate_registration_token();
// The token id of a presented token; nullopt when it is not shaped like one of ours.
std::optional<std::string> registration_token_id(std::string_view token);

// "fwn_<worker id>_<43-char URL-safe secret>"; stored as nodes.credential_hash.
struct NewNodeCredential {
  std::string credential;  // handed to the agent once
  std::string hash;        // stored: hex SHA-256 of the whole credential
};
// REQUIRES: worker_id >= 1.
NewNodeCredential generate_node_credential(std::int64_t worker_id);
// The worker id a presented credential names; nullopt when it is not shaped like a node
// credential (the secret is not checked here: compare credential_hash()).
std::optional<std::int64_t> node_credential_worker(std::string_view credential);

// Hex SHA-256 of a token or credential, as stored.
std::string credential_hash(std::string_view text);

}  // namespace fleet::auth
