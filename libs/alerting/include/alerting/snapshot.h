// Reads everything one evaluation needs, set-based: a fixed number of queries whatever the number
// of rules and workers (rules, catalogue, workers, the latest values of the metrics the rules
// name, one query per distinct (metric, window) for window functions, open episodes, active
// silences, recent actions). Never one query per rule or per worker.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include <pqxx/transaction_base>

#include "rules/action_ledger.h"
#include "rules/catalogue.h"
#include "rules/engine.h"
#include "rules/rule_set.h"

namespace fleet::alerting {

// The database's clock (now() of the transaction): every replica and every poller share it, so
// staleness does not depend on the evaluator host's clock.
rules::Time database_now(pqxx::transaction_base& tx);

rules::MetricCatalogue load_catalogue(pqxx::transaction_base& tx);

// Enabled rules (all rules when `include_disabled`). A rule whose stored columns cannot be read
// (e.g. an actions array edited by hand into nonsense) becomes a RuleFailure.
struct LoadedRules {
  std::vector<rules::RuleRecord> rules;
  std::vector<rules::RuleFailure> failures;
};
LoadedRules load_rules(pqxx::transaction_base& tx, bool include_disabled = false);

// Workers that are not removed, by id.
std::vector<rules::WorkerInfo> load_workers(pqxx::transaction_base& tx);

// Fills fleet.latest and fleet.windows for every slot of `rules` (fleet.workers must be set).
// Only workers in the scope of some rule are read for windows.
void load_values(pqxx::transaction_base& tx, rules::RuleSet& rules, rules::FleetValues& fleet,
                 rules::Time now);

std::vector<rules::Episode> load_open_episodes(pqxx::transaction_base& tx);
std::vector<rules::SilenceInfo> load_active_silences(pqxx::transaction_base& tx);

// Hardware actions of the last 24 hours per worker, and across the fleet in the limit's window.
void load_action_history(pqxx::transaction_base& tx, rules::ActionLedger& ledger);

struct Snapshot {
  rules::Time now{};
  rules::RuleSet rules;
  rules::FleetValues fleet;
  std::vector<rules::Episode> open;
  std::vector<rules::SilenceInfo> silences;
  std::optional<rules::ActionLedger> ledger;
  std::int64_t enabled_rules = 0;
};

Snapshot load_snapshot(pqxx::transaction_base& tx, const rules::ActionLimits& limits);

}  // namespace fleet::alerting
