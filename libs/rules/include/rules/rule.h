// A rule as people write it (docs/rules.md): condition, scope, timing, severity, no-data policy
// and escalation ladder; its JSON form (fleetctl --file, the API); and the checks it must pass
// before it is saved. Pure: no database.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "rules/catalogue.h"
#include "rules/checker.h"

namespace fleet::rules {

enum class Severity { kInfo, kWarning, kCritical };
enum class NoDataPolicy { kIgnore, kAlert };

std::string_view to_string(Severity severity);
std::optional<Severity> severity_from(std::string_view text);
std::string_view to_string(NoDataPolicy policy);
std::optional<NoDataPolicy> no_data_from(std::string_view text);

// Label key -> the value as canonical JSON text ("\"A\"", "3", "true"), sorted by key. Equal JSON
// values have equal text, so matching is string comparison.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Parses a JSON object of labels. Fails (naming `field`) on anything but an object.
Result<Labels> labels_from_json(std::string_view json, std::string_view field = "labels");
std::string labels_to_json(const Labels& labels);
// "rack=A" -> ("rack", "\"A\""); a value that is valid JSON (3, true) keeps its type.
Result<std::pair<std::string, std::string>> label_from_assignment(std::string_view text);
// True when every label of `selector` is in `labels` with the same value (jsonb @>).
bool labels_match(const Labels& labels, const Labels& selector);

// Which workers a rule applies to: every filter that is set must match; none set = all workers.
struct Scope {
  std::optional<std::string> kind;  // asic, rig, node, device
  std::optional<std::int64_t> farm_id;
  Labels labels;
  std::optional<std::int64_t> worker_id;
};

inline const std::vector<std::string>& worker_kinds() {
  static const std::vector<std::string> kinds{"asic", "rig", "node", "device"};
  return kinds;
}

// Actions a ladder may name. notify writes a notification; the others write a commands row.
inline const std::vector<std::string>& known_actions() {
  static const std::vector<std::string> actions{"restart_mining", "reboot", "power_cycle",
                                                "shutdown", "notify"};
  return actions;
}
bool is_hardware_action(std::string_view action);

// How an action reaches a worker of a kind: firmware, hiveos, relay or agent; nullopt when that
// kind cannot do it (e.g. restart_mining on a sensor device).
std::optional<std::string> channel_for(std::string_view action, std::string_view kind);

struct EscalationStep {
  std::string action;
  std::chrono::milliseconds after{0};  // since the episode fired
  std::string params_json = "{}";      // a JSON object handed to the dispatcher
};

inline constexpr std::size_t kMaxEscalationSteps = 10;

Result<std::vector<EscalationStep>> ladder_from_json(std::string_view json);
std::string ladder_to_json(const std::vector<EscalationStep>& ladder);

struct RuleSpec {
  std::string name;
  std::string description;
  bool enabled = true;
  std::string condition;
  std::optional<std::string> clear_condition;  // hysteresis; default: condition is false
  Scope scope;
  std::chrono::milliseconds for_duration{0};     // pending this long before firing
  std::chrono::milliseconds keep_firing_for{0};  // stay firing this long after clearing
  std::chrono::milliseconds stale_after{std::chrono::minutes(5)};  // older metrics: no data
  Severity severity = Severity::kWarning;
  NoDataPolicy no_data = NoDataPolicy::kIgnore;
  bool notify = true;
  std::vector<EscalationStep> actions;
};

// Seed 001's simple form: `metric operator threshold` -> "temperature > 82".
Result<std::string> simple_condition(std::string_view metric, std::string_view op,
                                     double threshold);

// A reason a rule cannot be saved. `where` points into the condition (or clear condition) text.
struct RuleProblem {
  std::string field;  // "condition", "clear", "actions[1].after", ...
  std::string message;
  std::optional<ConditionError> where;
};

// Everything wrong with a rule, in field order; empty when it may be saved.
std::vector<RuleProblem> validate_rule(const RuleSpec& rule, const MetricCatalogue& catalogue);

// The JSON form:
//   {"name": "asic-hot", "condition": "chip_temp_max > 85", "clear": "chip_temp_max < 75",
//    "scope": {"kind": "asic", "farm_id": 1, "labels": {"rack": "A"}, "worker_id": 7},
//    "for": "2m", "keep_firing_for": "5m", "stale_after": "5m", "severity": "critical",
//    "no_data": "alert", "notify": true, "enabled": true, "description": "...",
//    "actions": [{"action": "restart_mining"}, {"action": "reboot", "after": "10m"}]}
// Seed 001's form is accepted instead of "condition": "metric", "operator", "threshold".
// Unknown keys and wrong types are errors naming the field. Durations are "5m" or seconds.
Result<RuleSpec> rule_from_json(std::string_view json);
std::string rule_to_json(const RuleSpec& rule);

// Shortest text that reads back as the same double, with ".0" on whole numbers (seed 001 prints
// "85.2 > 82.0").
std::string format_number(double value);

}  // namespace fleet::rules
