// Group commit of node heartbeats (issue 13): thousands of nodes heartbeat every few seconds, far
// more than one transaction per heartbeat allows. Requests hand heartbeats to submit() with what
// to do once stored (the gateway answers the heartbeat then, without a thread waiting); a few
// writer threads, each with its own database connection, take whatever has queued up
// while they were busy (up to max_batch) and write it in one transaction of set-based statements
// (jsonb_to_recordset): the nodes rows (load, counters, over-limit bookkeeping), workers'
// last_seen_at, metrics_latest, and readings (at most once per readings_min_interval per node).
// `done` runs after the batch commits, so an answered heartbeat is stored.
//
// A node is never in two batches at once (its rows are locked in one order by one writer), so
// writers cannot deadlock each other. A heartbeat of a revoked node is not stored (kRevoked).
//
// Thread-safe. `done` runs on a writer thread (keep it short), or on the caller's when the queue is
// full. The destructor stops the writers; heartbeats still queued get kFailed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/clock.h"
#include "db/connection_options.h"
#include "node_ingest.h"

namespace fleet::db {
class Session;
}

namespace fleet::gateway {

struct HeartbeatOutcome {
  enum class Kind {
    kStored,
    kRevoked,  // no such node, or its credential was revoked meanwhile: nothing stored
    kBusy,     // the queue is full: retry later
    kFailed,   // the database failed or did not answer in time
  };
  Kind kind = Kind::kFailed;
  std::string received_at;  // the database's time of the commit's transaction (RFC 3339 UTC)
  std::int64_t commands_pending = 0;
};

class HeartbeatBatcher {
 public:
  HeartbeatBatcher(db::ConnectionOptions database, NodeIngestOptions options,
                   Clock& clock = Clock::real());
  ~HeartbeatBatcher();
  HeartbeatBatcher(const HeartbeatBatcher&) = delete;
  HeartbeatBatcher& operator=(const HeartbeatBatcher&) = delete;

  using Done = std::function<void(HeartbeatOutcome)>;
  // Queues a heartbeat; `done` gets its outcome once its batch committed (or failed), or at once
  // (kBusy) when the queue is full.
  void submit(Heartbeat heartbeat, Done done);

  // Statistics (for metrics and the benchmark).
  std::uint64_t batches() const { return batches_.load(); }
  std::uint64_t stored() const { return stored_.load(); }

 private:
  struct Pending {
    Heartbeat heartbeat;
    Done done;
  };
  void run(std::size_t index);
  // Writes one batch with writer `writer`'s session; gives every heartbeat its outcome.
  void write(std::size_t writer, std::vector<Pending>& batch);

  const NodeIngestOptions options_;
  Clock& clock_;
  std::vector<std::unique_ptr<db::Session>> sessions_;  // one per writer
  // Per writer, used by that writer only: the connection its plan_cache_mode was set on.
  std::vector<const void*> configured_;

  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;                 // guarded by mu_
  std::unordered_set<std::int64_t> writing_;  // nodes in a batch being written; guarded by mu_
  bool stop_ = false;                         // guarded by mu_
  // When each node's metrics last went to readings (readings_min_interval); guarded by mu_.
  std::unordered_map<std::int64_t, Clock::SteadyTime> last_reading_;

  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> stored_{0};
  std::vector<std::thread> writers_;
};

}  // namespace fleet::gateway
