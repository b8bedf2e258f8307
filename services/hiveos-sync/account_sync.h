// One account's sync: GET /farms, then GET /farms/{id}/workers per farm (one request per farm:
// identity and stats come together), each request through the account's budget, written to a
// SyncSink. Each farm is stored on a thread of its own while the next farm is requested (one
// store at a time, in farm order); requests stay one after the other. Failures (HIVEOS-CONTRACT,
// docs/services/hiveos-sync.md):
//   401                          -> failing "HiveOS rejected the token (401)", stop
//   429 / 403 Too many requests  -> Budget::block(Retry-After), failing "rate limited by HiveOS
//                                   until <time>", stop
//   5xx / 521 / timeout / transport -> retried within the cycle (jittered backoff,
//   options.retries),
//                                   then failing with the last error
//   404 on a farm's workers      -> the farm is gone: skipped (its workers count as not seen)
//   anything else                -> failing with the error, stop
// A failing account changes no worker status: its rigs not read in this cycle are marked stale,
// and only a complete read marks missing workers removed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "hiveos/api.h"
#include "hiveos/budget.h"
#include "sync_options.h"
#include "sync_sink.h"

namespace fleet::hiveos_sync {

struct SyncEnv {
  hiveos::Api& api;
  hiveos::Budget& budget;
  SyncSink& sink;
  // Sleeps, returning false when the process is asked to stop.
  std::function<bool(std::chrono::milliseconds)> sleep_for;
  // The wall clock, Unix seconds (liveness, stats_age, "rate limited until").
  std::function<std::int64_t()> now_unix;
  std::function<void()> progress = [] {};
  std::uint64_t seed = 0;  // for the backoff's jitter
};

struct AccountOutcome {
  enum class State { kOk, kFailing, kStopped };  // kStopped: shutdown, nothing recorded
  State state = State::kOk;
  std::string reason;  // why failing
  std::int64_t requests = 0;
  std::int64_t retries = 0;
  std::int64_t farms = 0;
  std::int64_t workers = 0;
  std::int64_t live = 0;
  std::int64_t created = 0;
  std::int64_t removed = 0;
  std::int64_t metrics = 0;   // metrics_latest rows written
  std::int64_t readings = 0;  // rows appended to readings
  bool rate_limited = false;
  // Where the time went (for the log line and the benchmark): waiting for HiveOS's answers, and
  // writing them.
  std::int64_t http_ms = 0;
  std::int64_t store_ms = 0;
};

AccountOutcome sync_account(const Account& account, SyncEnv& env, const SyncOptions& options);

// "2026-12-04T14:30:00Z"
std::string utc_text(std::int64_t unix_seconds);

}  // namespace fleet::hiveos_sync
