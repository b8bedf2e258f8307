// Persisting a batch of polled summaries in one transaction: statuses, status_fans and
// chain_snapshots by COPY, metrics_latest and readings, and the claim outcomes (which set
// miners.latest_status_id, clear the leases and schedule the next polls).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "asic/miner_claims.h"
#include "firmware/payloads.h"

namespace fleet::poller {

struct PolledStatus {
  std::int64_t worker_id = 0;
  std::chrono::system_clock::time_point observed_at;
  firmware::SummaryPayload summary;
  std::size_t outcome = 0;  // index of this miner's outcome in StatusBatch::outcomes
  bool history = true;      // its metrics also go to readings (poll.readings_interval)
};

struct StatusBatch {
  std::vector<PolledStatus> statuses;
  std::vector<asic::ClaimOutcome> outcomes;  // one per claimed miner, answered or not
};

struct StoreCounts {
  std::int64_t statuses = 0;
  std::int64_t fans = 0;
  std::int64_t chains = 0;
  std::int64_t metrics = 0;
};

// Writes `batch` (filling outcomes[..].status_id). `owner` is the claiming instance.
StoreCounts store_status_batch(pqxx::transaction_base& tx, StatusBatch& batch,
                               const std::string& owner, bool readings);

}  // namespace fleet::poller
