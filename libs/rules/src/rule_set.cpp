#include "rules/rule_set.h"

namespace fleet::rules {

RuleSet RuleSet::compile(std::vector<RuleRecord> enabled, const MetricCatalogue& catalogue,
                         std::vector<RuleFailure> load_failures) {
  RuleSet set;
  for (const auto& f : load_failures) {
    set.enabled_.insert(f.rule_id);
    set.failed_.insert(f.rule_id);
  }
  set.failures_ = std::move(load_failures);
  for (const auto& m : catalogue.metrics()) {
    if (m.source == MetricSource::kWorker) set.worker_metrics_.insert(m.name);
  }
  for (RuleRecord& record : enabled) {
    set.enabled_.insert(record.id);
    const auto problems = validate_rule(record.spec, catalogue);
    if (!problems.empty()) {
      set.failed_.insert(record.id);
      set.failures_.push_back(
          {record.id, record.spec.name, problems.front().field + ": " + problems.front().message});
      continue;
    }
    CheckOptions options;
    options.kind = record.spec.scope.kind;
    CompiledRule rule;
    // validate_rule compiled both conditions already; compiling again here cannot fail.
    rule.condition =
        std::get<CheckedCondition>(compile_condition(record.spec.condition, catalogue, options));
    bind(rule.condition.condition, set.slots_);
    if (record.spec.clear_condition) {
      rule.clear = std::get<CheckedCondition>(
          compile_condition(*record.spec.clear_condition, catalogue, options));
      bind(rule.clear->condition, set.slots_);
    }
    rule.timing = Timing{.for_duration = record.spec.for_duration,
                         .keep_firing_for = record.spec.keep_firing_for,
                         .has_clear = record.spec.clear_condition.has_value(),
                         .no_data = record.spec.no_data};
    rule.stale_after_ms = record.spec.stale_after.count();
    rule.reads_worker_status =
        rule.condition.reads_worker_status || (rule.clear && rule.clear->reads_worker_status);
    rule.record = std::move(record);
    set.rules_.push_back(std::move(rule));
  }
  return set;
}

}  // namespace fleet::rules
