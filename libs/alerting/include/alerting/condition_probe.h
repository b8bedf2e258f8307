// "Which workers would this rule match right now?" (fleetctl rules test, POST /api/rules/test).
// Reads the fleet the way the evaluator does and evaluates the rule once per worker in scope,
// recording every term's value. Writes nothing.
#pragma once

#include <cstdint>
#include <vector>

#include <pqxx/transaction_base>

#include "core/result.h"
#include "rules/engine.h"
#include "rules/rule.h"

namespace fleet::alerting {

struct ProbeRow {
  rules::WorkerInfo worker;
  rules::Truth result = rules::Truth::kNoData;
  std::vector<rules::Term> terms;
};

struct ProbeResult {
  std::vector<ProbeRow> rows;  // every worker in scope, by id
  std::int64_t matched = 0;
  std::int64_t no_data = 0;
};

// kInvalidArgument (with the first problem) when the rule does not validate; callers that want
// every problem with its position run rules::validate_rule first.
Result<ProbeResult> probe_rule(pqxx::transaction_base& tx, const rules::RuleSpec& rule);

}  // namespace fleet::alerting
