#include "alerting/condition_probe.h"

#include "alerting/snapshot.h"

namespace fleet::alerting {

Result<ProbeResult> probe_rule(pqxx::transaction_base& tx, const rules::RuleSpec& rule) {
  const rules::Time now = database_now(tx);
  rules::RuleSet set = rules::RuleSet::compile({{0, rule}}, load_catalogue(tx));
  if (!set.failures().empty()) return Error::invalid(set.failures().front().message);
  const rules::CompiledRule& compiled = set.rules().front();
  rules::FleetValues fleet;
  for (auto& worker : load_workers(tx)) {
    if (rules::in_scope(rule.scope, worker)) fleet.workers.push_back(std::move(worker));
  }
  load_values(tx, set, fleet, now);
  ProbeResult out;
  for (std::size_t w = 0; w < fleet.workers.size(); ++w) {
    ProbeRow row;
    row.worker = fleet.workers[w];
    rules::EvalContext ctx{.now_ms = now.time_since_epoch().count(),
                           .stale_after_ms = compiled.stale_after_ms,
                           .words = &set.slots().words(),
                           .capture = &row.terms};
    row.result = rules::evaluate(compiled.condition.condition, fleet.row(w), ctx);
    if (row.result == rules::Truth::kTrue) ++out.matched;
    if (row.result == rules::Truth::kNoData) ++out.no_data;
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace fleet::alerting
