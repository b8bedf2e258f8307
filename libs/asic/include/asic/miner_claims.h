// Work splitting across replicas (DESIGN §2): status-poller and telemetry-worker claim due miners
// in batches with FOR UPDATE SKIP LOCKED and a lease (owner + expiry), poll them, and record the
// outcome, which clears the lease and sets when the miner is due next. A miner is polled once per
// interval however many replicas run; a replica that dies leaves leases that expire.
//
// Which miners: seed 003's filter — managed, with an IP, and a model whose max_preset is set.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "core/result.h"

namespace fleet::db {
class Session;
}

namespace fleet::asic {

// Which loop claims: each has its own due time, lease and failure count in `miners`.
enum class ClaimKind { kStatusPoll, kTelemetry };

struct ClaimedMiner {
  std::int64_t worker_id = 0;
  std::string ip;  // the worker's current IP
  int port = 80;
  std::optional<std::string> api_key_enc;  // sealed
  std::string api_key_state;               // missing | active | rejected
  std::optional<std::string> unlock_pass_enc;
  std::string hr_measure;              // GH/s | MH/s
  int failures = 0;                    // consecutive failures before this claim
  bool may_provision = false;          // the provisioning backoff has passed
  std::optional<int> num_chains;       // of the model, when known
  std::optional<int> poll_latency_ms;  // /summary latency estimate (poll_schedule.h), if any
  std::optional<std::chrono::system_clock::time_point> readings_at;  // last history append
  std::string mac;  // identity; the sealed secrets are bound to it
};

// Claims up to `limit` due miners for `owner` for `lease`. Commit `tx` for the claim to hold.
std::vector<ClaimedMiner> claim_due_miners(pqxx::transaction_base& tx, ClaimKind kind,
                                           const std::string& owner, int limit,
                                           std::chrono::milliseconds lease);

// The miners that are due, without claiming anything (--dry-run).
std::vector<ClaimedMiner> list_due_miners(pqxx::transaction_base& tx, ClaimKind kind, int limit);

// Hands one cycle its due miners a batch at a time: claims them (under --dry-run only lists them,
// once: nothing can be claimed) until the cycle has `max_per_cycle` or no more are due. A failed
// claim ends the feed and is kept in error().
class DueMinerFeed {
 public:
  struct Options {
    ClaimKind kind = ClaimKind::kStatusPoll;
    std::string owner;
    int batch = 1000;
    int max_per_cycle = 100'000;
    std::chrono::milliseconds lease{0};
    bool dry_run = false;
  };
  explicit DueMinerFeed(Options options) : options_(std::move(options)) {}

  // The next batch; empty once the feed is done.
  std::vector<ClaimedMiner> next(db::Session& session);
  const std::optional<Error>& error() const { return error_; }

 private:
  Options options_;
  int taken_ = 0;
  bool done_ = false;
  std::optional<Error> error_;
};

// What happened to one claimed miner.
struct ClaimOutcome {
  std::int64_t worker_id = 0;
  bool ok = false;
  std::chrono::system_clock::time_point observed_at;
  std::chrono::system_clock::time_point next_at;  // when it is due again
  std::string error;                              // "" when ok; never holds a secret
  // status-poller only:
  std::optional<std::int64_t> status_id;
  std::optional<std::string> worker_status;    // new workers.status, or unchanged
  std::string status_reason;                   // why, when worker_status changes it
  std::optional<std::string> api_key_enc;      // a re-provisioned key (sealed)
  std::optional<std::string> api_key_state;    // active | rejected | missing, or unchanged
  std::optional<std::string> provision_error;  // a failed re-provisioning
  std::optional<std::chrono::system_clock::time_point> provision_after;
  std::optional<int> latency_ms;  // the miner's new latency estimate, after an answer
  std::optional<std::chrono::system_clock::time_point> readings_at;  // metrics went to readings
};

// Records outcomes of miners this owner claimed (other owners' rows are left alone) in one
// statement, plus the workers' status/last_seen_at for status polls.
void record_outcomes(pqxx::transaction_base& tx, ClaimKind kind, const std::string& owner,
                     const std::vector<ClaimOutcome>& outcomes);

// Gives claims back without an outcome (e.g. on shutdown), so another replica can take them now.
void release_claims(pqxx::transaction_base& tx, ClaimKind kind, const std::string& owner,
                    const std::vector<std::int64_t>& worker_ids);

}  // namespace fleet::asic
