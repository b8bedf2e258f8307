// Rules and silences in the database, for the operator's tools (fleetctl now, the API later).
// Every write is validated first — conditions against the metric catalogue, scope ids against the
// tables — and a rule with problems is not written at all.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "core/result.h"
#include "rules/rule.h"

namespace fleet::alerting {

struct StoredRule {
  std::int64_t id = 0;
  rules::RuleSpec spec;
  std::string created_by;
  std::string created_at;  // "2024-05-01 12:00:00Z"
  std::string updated_at;
  std::int64_t pending = 0;  // open episodes now
  std::int64_t firing = 0;
};

struct SaveOutcome {
  std::optional<std::int64_t> id;            // set when written
  std::vector<rules::RuleProblem> problems;  // set when refused
};

// Validates and inserts. A name in use, an unknown farm or worker are problems like a bad
// condition.
SaveOutcome add_rule(pqxx::transaction_base& tx, const rules::RuleSpec& rule,
                     const std::string& created_by);

// Validates and replaces every field of rule `id` (kNotFound when there is none). The outcome's
// problems are set, and nothing written, when the new form is refused.
Result<SaveOutcome> update_rule(pqxx::transaction_base& tx, std::int64_t id,
                                const rules::RuleSpec& rule);

std::vector<StoredRule> list_rules(pqxx::transaction_base& tx);

// By id ("12") or by name. kNotFound when neither matches.
Result<StoredRule> find_rule(pqxx::transaction_base& tx, const std::string& id_or_name);

Status set_rule_enabled(pqxx::transaction_base& tx, std::int64_t id, bool enabled);

// Deletes the rule with its episodes and events; commands it queued keep their row (rule_id NULL).
Status delete_rule(pqxx::transaction_base& tx, std::int64_t id);

// A worker or farm by id or name. kNotFound names what was looked for.
Result<std::int64_t> resolve_worker(pqxx::transaction_base& tx, const std::string& id_or_name);
Result<std::int64_t> resolve_farm(pqxx::transaction_base& tx, const std::string& id_or_name);

struct OpenAlert {
  std::int64_t id = 0;
  std::int64_t worker_id = 0;
  std::string worker;
  std::string state;  // pending, firing
  std::string kind;
  double age_seconds = 0;  // since it started
  std::optional<double> value;
  std::optional<std::string> suppressed_by;
  int next_step = 0;
};
std::vector<OpenAlert> open_alerts_of_rule(pqxx::transaction_base& tx, std::int64_t rule_id);

struct SilenceRequest {
  std::optional<std::int64_t> worker_id;
  std::optional<std::int64_t> farm_id;
  std::optional<std::int64_t> rule_id;
  rules::Labels labels;
  std::chrono::milliseconds starts_in{0};  // from now
  std::chrono::milliseconds duration{0};   // from the start
  std::string reason;
  std::string created_by;
};

Result<std::int64_t> add_silence(pqxx::transaction_base& tx, const SilenceRequest& request);

struct StoredSilence {
  std::int64_t id = 0;
  std::string matchers;  // "worker=miner-7 rule=asic-hot"
  std::string starts_at;
  std::string ends_at;
  std::string state;  // active, scheduled, ended
  std::string reason;
  std::string created_by;
};
std::vector<StoredSilence> list_silences(pqxx::transaction_base& tx, bool include_ended);

// Ends an active silence now (or cancels a scheduled one). kNotFound / kFailedPrecondition when
// there is no such silence or it has ended already.
Status end_silence(pqxx::transaction_base& tx, std::int64_t id, const std::string& ended_by);

}  // namespace fleet::alerting
