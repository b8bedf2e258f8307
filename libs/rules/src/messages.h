// Log lines, notification texts and JSON fragments of the engine's decisions (private).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rules/engine.h"

namespace fleet::rules::text {

// The value of the simple form's metric among the captured terms.
std::optional<double> simple_value(const CompiledRule& rule, const std::vector<Term>& terms);

std::string triggered(const CompiledRule& rule, const Episode& e, const std::vector<Term>& terms);
std::string resolved(const CompiledRule& rule, const Episode& e, const std::string& worker,
                     const std::vector<Term>& terms);
std::string pending(const CompiledRule& rule, const std::string& worker,
                    const std::vector<Term>& terms);
std::string action(const CompiledRule& rule, const CommandRecord& c, const std::string& worker);
std::string escalation_notice(const CompiledRule& rule, const Episode& e, int step);

// {"rule_id", "rule", "worker_id", "worker", "severity", "kind", "condition", "terms"}
std::string payload(const CompiledRule& rule, const Episode& e, const WorkerInfo* worker,
                    const std::vector<Term>& terms);

}  // namespace fleet::rules::text
