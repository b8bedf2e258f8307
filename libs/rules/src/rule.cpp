#include "rules/rule.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "core/strings.h"
#include "rules/parser.h"

namespace fleet::rules {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kComparisonOps{">", "<", ">=", "<=", "==", "!="};

std::string canonical(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A duration field: "5m" or a number of seconds.
Result<std::chrono::milliseconds> duration_field(const json& v, const std::string& field) {
  if (v.is_number()) {
    const double seconds = v.get<double>();
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 365.0 * 86400) {
      return Error::invalid(field + ": must be between 0 and 365 days");
    }
    return std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
  }
  if (v.is_string()) {
    auto d = parse_duration(v.get<std::string>());
    if (!d.ok()) return Error::invalid(field + ": " + d.error().message());
    return *d;
  }
  return Error::invalid(field + ": must be a duration such as \"5m\" or a number of seconds");
}

Result<std::string> string_field(const json& v, const std::string& field) {
  if (!v.is_string()) return Error::invalid(field + ": must be a string");
  return v.get<std::string>();
}

Result<std::int64_t> id_field(const json& v, const std::string& field) {
  if (!v.is_number_integer()) return Error::invalid(field + ": must be an integer id");
  if (v.is_number_unsigned() && v.get<std::uint64_t>() > 9'000'000'000'000'000'000ULL) {
    return Error::invalid(field + ": out of range");
  }
  const auto id = v.get<std::int64_t>();
  if (id < 1) return Error::invalid(field + ": must be a positive id");
  return id;
}

Status reject_unknown(const json& object, const std::vector<std::string>& known,
                      const std::string& prefix) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      std::string message = prefix + sanitize_utf8(key) + ": unknown field";
      const std::string close = closest_match(key, known);
      if (!close.empty()) message += " (did you mean '" + close + "'?)";
      return Error::invalid(message);
    }
  }
  return Status::success();
}

}  // namespace

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "";
}

std::optional<Severity> severity_from(std::string_view text) {
  if (text == "info") return Severity::kInfo;
  if (text == "warning") return Severity::kWarning;
  if (text == "critical") return Severity::kCritical;
  return std::nullopt;
}

std::string_view to_string(NoDataPolicy policy) {
  return policy == NoDataPolicy::kAlert ? "alert" : "ignore";
}

std::optional<NoDataPolicy> no_data_from(std::string_view text) {
  if (text == "ignore") return NoDataPolicy::kIgnore;
  if (text == "alert") return NoDataPolicy::kAlert;
  return std::nullopt;
}

Result<Labels> labels_from_json(std::string_view text, std::string_view field) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::invalid(std::string(field) + ": must be a JSON object of labels");
  }
  Labels out;
  for (const auto& [key, value] : j.items())
    out.emplace_back(key, canonical(value));
  std::sort(out.begin(), out.end());
  return out;
}

std::string labels_to_json(const Labels& labels) {
  json j = json::object();
  for (const auto& [key, value] : labels) {
    json v = json::parse(value, nullptr, false);
    j[key] = v.is_discarded() ? json(value) : v;
  }
  return canonical(j);
}

Result<std::pair<std::string, std::string>> label_from_assignment(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Error::invalid("label '" + sanitize_utf8(text) + "': expected key=value");
  }
  std::string key(trim(text.substr(0, eq)));
  std::string raw(trim(text.substr(eq + 1)));
  json v = json::parse(raw, nullptr, false);
  if (v.is_discarded() || v.is_object() || v.is_array() || v.is_string()) v = raw;
  return std::pair{key, canonical(v)};
}

bool labels_match(const Labels& labels, const Labels& selector) {
  for (const auto& want : selector) {
    auto it = std::lower_bound(labels.begin(), labels.end(), want,
                               [](const auto& a, const auto& b) { return a.first < b.first; });
    if (it == labels.end() || it->first != want.first || it->second != want.second) return false;
  }
  return true;
}

bool is_hardware_action(std::string_view action) {
  return action != "notify";
}

std::optional<std::string> channel_for(std::string_view action, std::string_view kind) {
  if (action == "power_cycle") return std::string("relay");
  if (kind == "asic" &&
      (action == "restart_mining" || action == "reboot" || action == "shutdown")) {
    return std::string("firmware");
  }
  if (kind == "rig" && (action == "restart_mining" || action == "reboot" || action == "shutdown")) {
    return std::string("hiveos");
  }
  if (kind == "node" && (action == "reboot" || action == "shutdown")) return std::string("agent");
  return std::nullopt;
}

Result<std::vector<EscalationStep>> ladder_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) {
    return Error::invalid("actions: must be a JSON array of steps");
  }
  if (j.size() > kMaxEscalationSteps) {
    return Error::invalid("actions: at most " + std::to_string(kMaxEscalationSteps) + " steps");
  }
  std::vector<EscalationStep> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string field = "actions[" + std::to_string(i) + "]";
    const json& step = j[i];
    EscalationStep s;
    if (step.is_string()) {
      s.action = step.get<std::string>();
    } else if (step.is_object()) {
      if (Status st = reject_unknown(step, {"action", "after", "params"}, field + "."); !st.ok()) {
        return st.error();
      }
      if (!step.contains("action")) return Error::invalid(field + ".action: missing");
      auto action = string_field(step["action"], field + ".action");
      if (!action.ok()) return action.error();
      s.action = *action;
      if (step.contains("after")) {
        auto after = duration_field(step["after"], field + ".after");
        if (!after.ok()) return after.error();
        s.after = *after;
      }
      if (step.contains("params")) {
        if (!step["params"].is_object())
          return Error::invalid(field + ".params: must be an object");
        s.params_json = canonical(step["params"]);
      }
    } else {
      return Error::invalid(field + ": must be an action name or an object");
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string ladder_to_json(const std::vector<EscalationStep>& ladder) {
  json j = json::array();
  for (const auto& s : ladder) {
    json step = {{"action", s.action}, {"after", format_duration(s.after)}};
    json params = json::parse(s.params_json, nullptr, false);
    if (!params.is_discarded() && params.is_object() && !params.empty()) step["params"] = params;
    j.push_back(step);
  }
  return canonical(j);
}

std::string format_number(double value) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "?";
  std::string out(buf, ptr);
  if (std::isfinite(value) && out.find_first_of(".en") == std::string::npos) out += ".0";
  return out;
}

Result<std::string> simple_condition(std::string_view metric, std::string_view op,
                                     double threshold) {
  if (std::find(kComparisonOps.begin(), kComparisonOps.end(), op) == kComparisonOps.end()) {
    return Error::invalid("operator: must be one of >, <, >=, <=, ==, != (not '" +
                          sanitize_utf8(op) + "')");
  }
  if (!std::isfinite(threshold)) return Error::invalid("threshold: must be a finite number");
  if (metric.empty()) return Error::invalid("metric: missing");
  std::string text = std::string(metric) + " " + std::string(op) + " ";
  // A negative threshold reads as unary minus: "temperature < -5".
  text += format_number(threshold);
  return text;
}

std::vector<RuleProblem> validate_rule(const RuleSpec& rule, const MetricCatalogue& catalogue) {
  std::vector<RuleProblem> problems;
  auto problem = [&](std::string field, std::string message) {
    problems.push_back({std::move(field), std::move(message), std::nullopt});
  };
  if (trim(rule.name).empty()) problem("name", "missing");
  if (rule.name.size() > 200) problem("name", "longer than 200 characters");
  if (!is_valid_utf8(rule.name)) problem("name", "not valid UTF-8");
  if (rule.description.size() > 2000) problem("description", "longer than 2000 characters");
  if (rule.scope.kind && std::find(worker_kinds().begin(), worker_kinds().end(),
                                   *rule.scope.kind) == worker_kinds().end()) {
    problem("scope.kind", "must be one of asic, rig, node, device (not '" +
                              sanitize_utf8(*rule.scope.kind) + "')");
  }
  CheckOptions options;
  if (rule.scope.kind) options.kind = rule.scope.kind;
  auto check = [&](const std::string& field, const std::string& text) {
    CheckResult r = compile_condition(text, catalogue, options);
    if (auto* e = std::get_if<ConditionError>(&r)) {
      problems.push_back({field, e->message, *e});
    }
  };
  check("condition", rule.condition);
  if (rule.clear_condition) check("clear", *rule.clear_condition);
  const auto week = std::chrono::milliseconds(7LL * 86'400'000);
  if (rule.for_duration.count() < 0 || rule.for_duration > week) {
    problem("for", "must be between 0s and 7d");
  }
  if (rule.keep_firing_for.count() < 0 || rule.keep_firing_for > week) {
    problem("keep_firing_for", "must be between 0s and 7d");
  }
  if (rule.stale_after < std::chrono::seconds(1) || rule.stale_after > week) {
    problem("stale_after", "must be between 1s and 7d");
  }
  if (rule.actions.size() > kMaxEscalationSteps) {
    problem("actions", "at most " + std::to_string(kMaxEscalationSteps) + " steps");
  }
  for (std::size_t i = 0; i < rule.actions.size(); ++i) {
    const auto& step = rule.actions[i];
    const std::string field = "actions[" + std::to_string(i) + "]";
    if (std::find(known_actions().begin(), known_actions().end(), step.action) ==
        known_actions().end()) {
      std::string message = "unknown action '" + sanitize_utf8(step.action) + "'; expected " +
                            join(known_actions(), ", ");
      const std::string close = closest_match(step.action, known_actions());
      if (!close.empty()) message += " (did you mean '" + close + "'?)";
      problem(field + ".action", message);
      continue;
    }
    if (step.after.count() < 0 || step.after > week) {
      problem(field + ".after", "must be between 0s and 7d");
    }
    if (i > 0 && step.after < rule.actions[i - 1].after) {
      problem(field + ".after", "steps must be in order: " + format_duration(step.after) +
                                    " comes before the previous step's " +
                                    format_duration(rule.actions[i - 1].after));
    }
    if (rule.scope.kind && is_hardware_action(step.action) &&
        !channel_for(step.action, *rule.scope.kind)) {
      problem(field + ".action",
              "workers of kind '" + *rule.scope.kind + "' cannot " + step.action);
    }
  }
  return problems;
}

Result<RuleSpec> rule_from_json(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error::invalid("rule: not valid JSON");
  if (!j.is_object()) return Error::invalid("rule: must be a JSON object");
  const std::vector<std::string> known{"name",     "description", "enabled",         "condition",
                                       "clear",    "metric",      "operator",        "threshold",
                                       "scope",    "for",         "keep_firing_for", "stale_after",
                                       "severity", "no_data",     "notify",          "actions"};
  if (Status st = reject_unknown(j, known, ""); !st.ok()) return st.error();
  RuleSpec rule;
  auto str = [&](const char* key, std::string& out) -> Status {
    if (!j.contains(key)) return Status::success();
    auto v = string_field(j[key], key);
    if (!v.ok()) return v.error();
    out = *v;
    return Status::success();
  };
  auto flag = [&](const char* key, bool& out) -> Status {
    if (!j.contains(key)) return Status::success();
    if (!j[key].is_boolean()) return Error::invalid(std::string(key) + ": must be true or false");
    out = j[key].get<bool>();
    return Status::success();
  };
  auto dur = [&](const char* key, std::chrono::milliseconds& out) -> Status {
    if (!j.contains(key)) return Status::success();
    auto v = duration_field(j[key], key);
    if (!v.ok()) return v.error();
    out = *v;
    return Status::success();
  };
  for (Status st :
       {str("name", rule.name), str("description", rule.description),
        str("condition", rule.condition), flag("enabled", rule.enabled),
        flag("notify", rule.notify), dur("for", rule.for_duration),
        dur("keep_firing_for", rule.keep_firing_for), dur("stale_after", rule.stale_after)}) {
    if (!st.ok()) return st.error();
  }
  if (!j.contains("name")) return Error::invalid("name: missing");
  const bool simple = j.contains("metric") || j.contains("operator") || j.contains("threshold");
  if (simple && j.contains("condition")) {
    return Error::invalid(
        "condition: give either a condition or metric/operator/threshold, not both");
  }
  if (simple) {
    if (!j.contains("metric") || !j.contains("operator") || !j.contains("threshold")) {
      return Error::invalid(std::string(!j.contains("metric")     ? "metric"
                                        : !j.contains("operator") ? "operator"
                                                                  : "threshold") +
                            ": missing (the simple form needs metric, operator and threshold)");
    }
    auto metric = string_field(j["metric"], "metric");
    if (!metric.ok()) return metric.error();
    auto op = string_field(j["operator"], "operator");
    if (!op.ok()) return op.error();
    if (!j["threshold"].is_number()) return Error::invalid("threshold: must be a number");
    auto simple_text = simple_condition(*metric, *op, j["threshold"].get<double>());
    if (!simple_text.ok()) return simple_text.error();
    rule.condition = *simple_text;
  } else if (!j.contains("condition")) {
    return Error::invalid("condition: missing");
  }
  if (j.contains("clear") && !j["clear"].is_null()) {
    auto clear = string_field(j["clear"], "clear");
    if (!clear.ok()) return clear.error();
    rule.clear_condition = *clear;
  }
  if (j.contains("severity")) {
    auto s = string_field(j["severity"], "severity");
    if (!s.ok()) return s.error();
    auto sev = severity_from(*s);
    if (!sev) return Error::invalid("severity: must be info, warning or critical");
    rule.severity = *sev;
  }
  if (j.contains("no_data")) {
    auto s = string_field(j["no_data"], "no_data");
    if (!s.ok()) return s.error();
    auto p = no_data_from(*s);
    if (!p) return Error::invalid("no_data: must be ignore or alert");
    rule.no_data = *p;
  }
  if (j.contains("scope") && !j["scope"].is_null()) {
    const json& scope = j["scope"];
    if (!scope.is_object()) return Error::invalid("scope: must be an object");
    if (Status st = reject_unknown(scope, {"kind", "farm_id", "labels", "worker_id"}, "scope.");
        !st.ok()) {
      return st.error();
    }
    if (scope.contains("kind") && !scope["kind"].is_null()) {
      auto kind = string_field(scope["kind"], "scope.kind");
      if (!kind.ok()) return kind.error();
      rule.scope.kind = *kind;
    }
    if (scope.contains("farm_id") && !scope["farm_id"].is_null()) {
      auto id = id_field(scope["farm_id"], "scope.farm_id");
      if (!id.ok()) return id.error();
      rule.scope.farm_id = *id;
    }
    if (scope.contains("worker_id") && !scope["worker_id"].is_null()) {
      auto id = id_field(scope["worker_id"], "scope.worker_id");
      if (!id.ok()) return id.error();
      rule.scope.worker_id = *id;
    }
    if (scope.contains("labels") && !scope["labels"].is_null()) {
      auto labels = labels_from_json(canonical(scope["labels"]), "scope.labels");
      if (!labels.ok()) return labels.error();
      rule.scope.labels = *labels;
    }
  }
  if (j.contains("actions") && !j["actions"].is_null()) {
    auto ladder = ladder_from_json(canonical(j["actions"]));
    if (!ladder.ok()) return ladder.error();
    rule.actions = *ladder;
  }
  return rule;
}

std::string rule_to_json(const RuleSpec& rule) {
  json j = {{"name", rule.name},
            {"description", rule.description},
            {"enabled", rule.enabled},
            {"condition", rule.condition},
            {"for", format_duration(rule.for_duration)},
            {"keep_firing_for", format_duration(rule.keep_firing_for)},
            {"stale_after", format_duration(rule.stale_after)},
            {"severity", std::string(to_string(rule.severity))},
            {"no_data", std::string(to_string(rule.no_data))},
            {"notify", rule.notify},
            {"actions", json::parse(ladder_to_json(rule.actions))}};
  j["clear"] = rule.clear_condition ? json(*rule.clear_condition) : json();
  json scope = json::object();
  if (rule.scope.kind) scope["kind"] = *rule.scope.kind;
  if (rule.scope.farm_id) scope["farm_id"] = *rule.scope.farm_id;
  if (rule.scope.worker_id) scope["worker_id"] = *rule.scope.worker_id;
  if (!rule.scope.labels.empty()) scope["labels"] = json::parse(labels_to_json(rule.scope.labels));
  j["scope"] = scope;
  return canonical(j);
}

}  // namespace fleet::rules
