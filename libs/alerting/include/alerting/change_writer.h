// Writes one evaluation's changes in the caller's transaction (the transactional outbox, DESIGN
// §3): episode rows, their events, commands and notifications commit together or not at all.
// Set-based: each table gets one statement whatever the number of changes (rows travel as one
// JSON parameter; nothing from rule text is spliced into SQL).
//
// Concurrency: updates name the revision they read and inserts meet the one-open-episode-per-pair
// index, so a second writer racing this one makes the whole transaction fail (WriteConflict or a
// unique violation) instead of double-firing; the next cycle reads the new state and carries on.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "rules/engine.h"

namespace fleet::alerting {

// Another writer changed an episode since it was read. Roll back and evaluate again.
class WriteConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WriteOutcome {
  std::vector<std::int64_t> alert_ids;  // per Evaluation::writes entry
  std::int64_t episodes = 0;
  std::int64_t events = 0;
  std::int64_t commands = 0;  // queued and skipped
  std::int64_t notifications = 0;
};

// `requested_by` goes into commands.requested_by (the evaluator's instance id).
WriteOutcome write_evaluation(pqxx::transaction_base& tx, const rules::Evaluation& evaluation,
                              const std::string& requested_by);

}  // namespace fleet::alerting
