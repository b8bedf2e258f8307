// Verification of node credentials ("Authorization: Bearer fwn_<id>_<secret>", issue 13) without
// a database query per request: each node's stored hashes are cached, and a presented credential
// is hashed and compared (constant time) against them. Node agents send ~10,000 requests/s in
// total, so the cache is what keeps authentication off the database.
//
// Revocation and rotation take effect at once: the replica that makes the change calls forget(),
// every other replica forgets on NOTIFY fleet_node_credentials (payload: the worker id), and
// forget_all() after the listener (re)connects. A load that raced with a forget is not cached.
// Entries also expire after `ttl` in case a notification is lost.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/result.h"

namespace fleet::gateway {

// What the database holds about a node's credential.
struct NodeCredentialState {
  std::string hash;                          // nodes.credential_hash
  std::optional<std::string> previous_hash;  // valid until previous_valid_until (rotation grace)
  std::optional<Clock::WallTime> previous_valid_until;
  bool revoked = false;  // nodes.credential_revoked_at is set
};

class NodeCredentialCache {
 public:
  // Reads a node's state; nullopt when there is no such node. May throw (database errors).
  using Load = std::function<std::optional<NodeCredentialState>(std::int64_t worker_id)>;

  NodeCredentialCache(Load load, Clock& clock, std::chrono::seconds ttl);

  // The worker id of a valid credential; otherwise a kUnauthenticated error with a reason safe to
  // show ("node credential revoked", ...). Never says which part of a secret was wrong.
  Result<std::int64_t> verify(std::string_view credential);

  void forget(std::int64_t worker_id);
  void forget_all();
  // Database loads so far (for tests and metrics).
  std::uint64_t loads() const;

 private:
  struct Entry {
    NodeCredentialState state;
    Clock::SteadyTime loaded_at;
  };
  std::optional<Entry> load_entry(std::int64_t worker_id);

  const Load load_;
  Clock& clock_;
  const std::chrono::seconds ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::int64_t, Entry> entries_;  // guarded by mu_
  std::uint64_t generation_ = 0;                     // guarded by mu_; bumped by every forget
  std::uint64_t loads_ = 0;                          // guarded by mu_
};

}  // namespace fleet::gateway
