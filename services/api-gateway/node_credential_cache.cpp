#include "node_credential_cache.h"

#include "auth/credentials.h"
#include "auth/node_credentials.h"

namespace fleet::gateway {
namespace {

// A secret that matches neither cached hash is checked against the database again at most this
// often per node: a credential rotated on another replica works before its NOTIFY arrives, and a
// client guessing secrets cannot turn each guess into a query.
constexpr std::chrono::seconds kRecheckAfterMismatch{1};

Error unauthenticated(const char* why) {
  return Error(ErrorKind::kUnauthenticated, why);
}

}  // namespace

NodeCredentialCache::NodeCredentialCache(Load load, Clock& clock, std::chrono::seconds ttl)
    : load_(std::move(load)), clock_(clock), ttl_(ttl) {}

std::optional<NodeCredentialCache::Entry> NodeCredentialCache::load_entry(std::int64_t worker_id) {
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    generation = generation_;
    ++loads_;
  }
  std::optional<NodeCredentialState> state = load_(worker_id);
  if (!state) return std::nullopt;
  Entry entry{std::move(*state), clock_.steady_now()};
  std::lock_guard lock(mu_);
  // A forget that happened while we read may have been about this very change: do not cache.
  if (generation == generation_) {
    if (entries_.size() >= 200'000) entries_.clear();
    entries_[worker_id] = entry;
  }
  return entry;
}

Result<std::int64_t> NodeCredentialCache::verify(std::string_view credential) {
  const std::optional<std::int64_t> worker_id = auth::node_credential_worker(credential);
  if (!worker_id) return unauthenticated("malformed node credential");
  const std::string presented = auth::credential_hash(credential);
  const auto now = clock_.steady_now();

  std::optional<Entry> entry;
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(*worker_id);
        it != entries_.end() && now - it->second.loaded_at < ttl_) {
      entry = it->second;
    }
  }
  const bool from_cache = entry.has_value();
  if (!entry) entry = load_entry(*worker_id);
  if (!entry) return unauthenticated("unknown node credential");

  auto matches = [&](const NodeCredentialState& s) {
    if (auth::hashes_equal(s.hash, presented)) return true;
    return s.previous_hash && s.previous_valid_until &&
           clock_.wall_now() < *s.previous_valid_until &&
           auth::hashes_equal(*s.previous_hash, presented);
  };
  if (!entry->state.revoked && !matches(entry->state) && from_cache &&
      now - entry->loaded_at >= kRecheckAfterMismatch) {
    if (auto fresh = load_entry(*worker_id)) {
      entry = std::move(fresh);
    } else {
      return unauthenticated("unknown node credential");
    }
  }
  if (entry->state.revoked) return unauthenticated("node credential revoked");
  if (!matches(entry->state)) return unauthenticated("invalid node credential");
  return *worker_id;
}

void NodeCredentialCache::forget(std::int64_t worker_id) {
  std::lock_guard lock(mu_);
  ++generation_;
  entries_.erase(worker_id);
}

void NodeCredentialCache::forget_all() {
  std::lock_guard lock(mu_);
  ++generation_;
  entries_.clear();
}

std::uint64_t NodeCredentialCache::loads() const {
  std::lock_guard lock(mu_);
  return loads_;
}

}  // namespace fleet::gateway
