#include "messages.h"

#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "core/strings.h"

namespace fleet::rules::text {
namespace {

using json = nlohmann::json;

std::string describe_terms(const std::vector<Term>& terms) {
  std::vector<std::string> parts;
  for (const Term& t : terms) {
    std::string value = t.number ? format_number(*t.number) : t.state ? *t.state : "no data";
    parts.push_back(t.expression + "=" + value);
  }
  return join(parts, ", ");
}

std::string alert(const CompiledRule& rule) {
  return "Alert " + std::to_string(rule.record.id);
}

}  // namespace

std::optional<double> simple_value(const CompiledRule& rule, const std::vector<Term>& terms) {
  if (!rule.condition.simple) return std::nullopt;
  for (const Term& t : terms) {
    if (t.expression == rule.condition.simple->metric) return t.number;
  }
  return std::nullopt;
}

std::string triggered(const CompiledRule& rule, const Episode& e, const std::vector<Term>& terms) {
  if (e.kind == EpisodeKind::kNoData) {
    return alert(rule) + " triggered: No data: " + describe_terms(terms) + " (older than " +
           format_duration(rule.record.spec.stale_after) + " or missing)";
  }
  const auto& simple = rule.condition.simple;
  if (auto v = simple_value(rule, terms); simple && v) {
    return alert(rule) + " triggered: Threshold exceeded: " + format_number(*v) + " " +
           std::string(to_string(simple->op)) + " " + format_number(simple->threshold);
  }
  return alert(rule) + " triggered: Condition met: " + rule.record.spec.condition + " [" +
         describe_terms(terms) + "]";
}

std::string resolved(const CompiledRule& rule, const Episode& e, const std::string& worker,
                     const std::vector<Term>& terms) {
  std::string why;
  switch (e.resolution.value_or(Resolution::kCleared)) {
    case Resolution::kCleared:
      if (rule.clear) {
        why = "clear condition met: " + *rule.record.spec.clear_condition;
      } else if (auto v = simple_value(rule, terms); rule.condition.simple && v) {
        why = "Threshold no longer exceeded: " + format_number(*v) + " " +
              std::string(to_string(rule.condition.simple->op)) + " " +
              format_number(rule.condition.simple->threshold) + " is false";
      } else {
        why = "condition no longer met";
      }
      break;
    case Resolution::kCancelled:
      why = "condition cleared before it held for " + format_duration(rule.timing.for_duration);
      break;
    case Resolution::kNoData:
      why = "no data (metrics stale or missing)";
      break;
    case Resolution::kDataReturned:
      why = "data returned";
      break;
    case Resolution::kRuleDisabled:
      why = "rule disabled or deleted";
      break;
    case Resolution::kOutOfScope:
      why = "worker no longer in the rule's scope";
      break;
  }
  const std::string verb = e.fired_at ? " resolved: " : " cancelled: ";
  std::string out = alert(rule) + verb + why + ", device " + worker;
  if (!terms.empty() && !rule.condition.simple) out += " [" + describe_terms(terms) + "]";
  return out;
}

std::string pending(const CompiledRule& rule, const std::string& worker,
                    const std::vector<Term>& terms) {
  return alert(rule) + " pending: condition met on device " + worker + ", fires if it holds for " +
         format_duration(rule.timing.for_duration) + " [" + describe_terms(terms) + "]";
}

std::string action(const CompiledRule& rule, const CommandRecord& c, const std::string& worker) {
  const std::string step = "escalation step " + std::to_string(c.step + 1) + " of " +
                           std::to_string(rule.record.spec.actions.size());
  if (c.skip_reason) {
    return alert(rule) + ": skipped " + c.action + " for device " + worker + " (" + step +
           "): " + *c.skip_reason;
  }
  return alert(rule) + ": queued " + c.action + " for device " + worker + " (" + step + ", via " +
         c.channel.value_or("?") + ")";
}

std::string escalation_notice(const CompiledRule& rule, const Episode& e, int step) {
  const auto& ladder = rule.record.spec.actions;
  std::string out = "still firing " +
                    format_duration(ladder[static_cast<std::size_t>(step)].after) +
                    " after it fired";
  if (static_cast<std::size_t>(step) + 1 == ladder.size()) {
    out += "; the escalation ladder has ended, a person must look at it";
  }
  (void)e;
  return out;
}

std::string payload(const CompiledRule& rule, const Episode& e, const WorkerInfo* worker,
                    const std::vector<Term>& terms) {
  json j = {{"rule_id", rule.record.id},
            {"rule", rule.record.spec.name},
            {"worker_id", e.worker_id},
            {"severity", std::string(to_string(e.severity))},
            {"kind", std::string(to_string(e.kind))},
            {"condition", rule.record.spec.condition},
            {"terms", json::parse(terms_json(terms))}};
  j["worker"] = worker ? json(worker->name) : json();
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace fleet::rules::text
