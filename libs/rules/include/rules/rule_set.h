// The rules of one evaluation, compiled: conditions parsed, checked against the catalogue and
// bound to the slots their data will be loaded into. A rule that does not compile is kept aside
// with its reason; it never stops the others.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rules/catalogue.h"
#include "rules/checker.h"
#include "rules/episode.h"
#include "rules/evaluator.h"
#include "rules/rule.h"

namespace fleet::rules {

struct RuleRecord {
  std::int64_t id = 0;
  RuleSpec spec;
};

struct RuleFailure {
  std::int64_t rule_id = 0;
  std::string name;
  std::string message;  // "condition: column 5: unknown metric 'temprature' ..."
};

struct CompiledRule {
  RuleRecord record;
  CheckedCondition condition;             // bound
  std::optional<CheckedCondition> clear;  // bound
  Timing timing;
  std::int64_t stale_after_ms = 300'000;
  bool reads_worker_status = false;  // a dependency rule: not muted while the worker is offline
};

class RuleSet {
 public:
  // Compiles the enabled rules. `load_failures` are rules the loader could not even read (bad
  // JSON in a column); they are reported like rules that do not compile.
  static RuleSet compile(std::vector<RuleRecord> enabled, const MetricCatalogue& catalogue,
                         std::vector<RuleFailure> load_failures = {});

  const std::vector<CompiledRule>& rules() const { return rules_; }
  const std::vector<RuleFailure>& failures() const { return failures_; }
  const SlotMap& slots() const { return slots_; }
  SlotMap& slots() { return slots_; }

  // Enabled (whether or not it compiled). Open episodes of other rules are resolved.
  bool enabled(std::int64_t rule_id) const { return enabled_.count(rule_id) > 0; }
  // Enabled but not compiled: its open episodes are left alone until it is fixed.
  bool failed(std::int64_t rule_id) const { return failed_.count(rule_id) > 0; }
  // Metrics whose values come from the workers row rather than metrics_latest.
  bool worker_metric(const std::string& name) const { return worker_metrics_.count(name) > 0; }

 private:
  std::vector<CompiledRule> rules_;
  std::vector<RuleFailure> failures_;
  SlotMap slots_;
  std::set<std::int64_t> enabled_;
  std::set<std::int64_t> failed_;
  std::set<std::string> worker_metrics_;
};

}  // namespace fleet::rules
