// The dispatcher's side of the `commands` table (sql/0012_outboxes.sql, 0039): claiming due
// commands with the safety decisions taken under one lock for every replica, recording outcomes
// with retries and backoff, renewing leases of commands in flight, and rescuing the commands of
// a dispatcher that died.
//
// A command is marked `sent` (attempts + 1, sent_at, a lease) in the transaction that claims it,
// before anything reaches the device. So a dispatcher that dies leaves `sent` rows whose lease
// runs out: an idempotent one is queued again, any other fails with result.uncertain = true
// (whether the device acted is unknown; it is never sent twice).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/transaction_base>

#include "dispatch/job.h"
#include "dispatch/safety.h"

namespace fleet::dispatch {

struct StoreOptions {
  std::string owner;  // this process (service_instances id)
  std::chrono::milliseconds lease{std::chrono::seconds(60)};
  std::vector<std::string> channels;  // channels this dispatcher serves
  std::chrono::milliseconds retry_initial{std::chrono::seconds(2)};
  std::chrono::milliseconds retry_max{std::chrono::seconds(60)};
};

struct ClaimResult {
  std::vector<CommandJob> jobs;  // marked sent: carry them out
  // Claimed and already decided before sending (e.g. a miner without an address): record them.
  std::vector<std::pair<CommandJob, Outcome>> settled;
  int due = 0;  // due commands examined
  int held = 0;
  int skipped = 0;
};

// Under --dry-run: one line per decision (JSON object text).
using Emit = std::function<void(const std::string&)>;

// Expires queued commands past expires_at and rescues the in-flight commands of dispatchers
// whose lease ran out. Returns how many rows changed.
int sweep(pqxx::transaction_base& tx, const StoreOptions& options);

// Examines up to `limit` due commands: holds or skips those the safety limits refuse (with the
// reason on the row) and marks the rest sent, returning them as jobs. With `emit` set (dry run)
// nothing is locked or written and each decision is emitted instead.
ClaimResult claim(pqxx::transaction_base& tx, const StoreOptions& options,
                  const SafetyLimits& limits, int limit, const Emit& emit = {});

// Moves the lease of these in-flight commands forward.
void renew(pqxx::transaction_base& tx, const StoreOptions& options,
           const std::vector<std::int64_t>& ids);

// Records outcomes: succeeded / failed, or queued again with backoff (kRetry while attempts are
// left; kUncertain only for idempotent actions). Final failures and skips by reboot-loop
// protection also write a notification.
void record(pqxx::transaction_base& tx, const StoreOptions& options,
            const std::vector<std::pair<CommandJob, Outcome>>& outcomes);

// Stores the miner API keys re-provisioned while carrying commands out (sealed), in their own
// transaction: a failure there must not lose the outcomes. Returns the rows updated.
int store_new_keys(pqxx::transaction_base& tx,
                   const std::vector<std::pair<CommandJob, Outcome>>& outcomes);

// How long before the next attempt after `attempt` failed (exponential, with jitter).
std::chrono::milliseconds retry_delay(const StoreOptions& options, int attempt, double unit_random);

}  // namespace fleet::dispatch
