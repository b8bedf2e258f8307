#include "rules_commands.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "alerting/condition_probe.h"
#include "alerting/rule_store.h"
#include "alerting/snapshot.h"
#include "core/duration.h"
#include "core/strings.h"
#include "rules/parser.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

Result<std::chrono::milliseconds> duration_flag(const std::string& flag, std::string text) {
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos) text += "s";
  auto d = parse_duration(text);
  if (!d.ok()) return Error::invalid(flag + ": " + d.error().message());
  return *d;
}

Result<rules::Scope> resolve_scope(pqxx::transaction_base& tx, const ScopeOptions& options,
                                   rules::Scope scope) {
  if (!options.kind.empty()) scope.kind = options.kind;
  if (!options.farm.empty()) {
    auto id = alerting::resolve_farm(tx, options.farm);
    if (!id.ok()) return Error::invalid("--farm: " + id.error().message());
    scope.farm_id = *id;
  }
  if (!options.worker.empty()) {
    auto id = alerting::resolve_worker(tx, options.worker);
    if (!id.ok()) return Error::invalid("--worker: " + id.error().message());
    scope.worker_id = *id;
  }
  for (const auto& text : options.labels) {
    auto label = rules::label_from_assignment(text);
    if (!label.ok()) return Error::invalid("--label: " + label.error().message());
    std::erase_if(scope.labels, [&](const auto& l) { return l.first == label->first; });
    scope.labels.push_back(*label);
  }
  std::sort(scope.labels.begin(), scope.labels.end());
  return scope;
}

std::string read_rule_file(const std::string& path) {
  if (path.empty()) return "";
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    buffer << in.rdbuf();
  }
  return buffer.str();
}

std::string describe_scope(const rules::Scope& scope, pqxx::transaction_base* tx) {
  std::vector<std::string> parts;
  if (scope.kind) parts.push_back("kind=" + *scope.kind);
  auto name_of = [&](const char* table, std::int64_t id) {
    std::string name = "#" + std::to_string(id);
    if (tx) {
      pqxx::result r =
          tx->exec_params(std::string("SELECT name FROM ") + table + " WHERE id = $1", id);
      if (!r.empty()) name = r[0][0].c_str();
    }
    return name;
  };
  if (scope.farm_id) parts.push_back("farm=" + name_of("farms", *scope.farm_id));
  if (scope.worker_id) parts.push_back("worker=" + name_of("workers", *scope.worker_id));
  for (const auto& [k, v] : scope.labels) {
    std::string value = v;
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    parts.push_back(k + "=" + value);
  }
  return parts.empty() ? "all workers" : join(parts, " ");
}

std::string describe_ladder(const std::vector<rules::EscalationStep>& ladder) {
  std::vector<std::string> steps;
  for (const auto& s : ladder) {
    steps.push_back(s.after.count() ? s.action + "@" + format_duration(s.after) : s.action);
  }
  return steps.empty() ? "-" : join(steps, " → ");
}

std::string term_text(const rules::Term& t) {
  return t.expression + "=" +
         (t.number ? rules::format_number(*t.number) : t.state.value_or("no data"));
}

}  // namespace

std::string operator_name() {
  for (const char* var : {"USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v && *v) return sanitize_utf8(v);
  }
  return "fleetctl";
}

Result<rules::EscalationStep> step_from_text(const std::string& text) {
  rules::EscalationStep step;
  const auto at = text.find('@');
  step.action = std::string(trim(text.substr(0, at)));
  if (step.action.empty()) return Error::invalid("--action '" + text + "': missing the action");
  if (at != std::string::npos) {
    auto after = duration_flag("--action '" + text + "'", std::string(trim(text.substr(at + 1))));
    if (!after.ok()) return after.error();
    step.after = *after;
  }
  return step;
}

Result<rules::RuleSpec> rule_from_options(const RuleAddOptions& o, const std::string& file_text) {
  rules::RuleSpec rule;
  if (!file_text.empty()) {
    auto parsed = rules::rule_from_json(file_text);
    if (!parsed.ok()) return Error::invalid("--file: " + parsed.error().message());
    rule = *parsed;
  }
  if (!o.name.empty()) rule.name = o.name;
  if (!o.description.empty()) rule.description = o.description;
  const bool simple = !o.metric.empty() || !o.op.empty() || !o.threshold.empty();
  if (simple && !o.condition.empty()) {
    return Error::invalid(
        "--condition: give either --condition or --metric/--operator/--threshold");
  }
  if (simple) {
    if (o.metric.empty() || o.op.empty() || o.threshold.empty()) {
      return Error::invalid("--metric, --operator and --threshold go together (seed 001's form)");
    }
    char* end = nullptr;
    const double threshold = std::strtod(o.threshold.c_str(), &end);
    if (end != o.threshold.c_str() + o.threshold.size()) {
      return Error::invalid("--threshold: '" + o.threshold + "' is not a number");
    }
    auto text = rules::simple_condition(o.metric, o.op, threshold);
    if (!text.ok()) return Error::invalid("--" + text.error().message());
    rule.condition = *text;
  } else if (!o.condition.empty()) {
    rule.condition = o.condition;
  }
  if (rule.condition.empty()) {
    return Error::invalid("--condition: missing (or --metric, --operator and --threshold)");
  }
  if (rule.name.empty()) return Error::invalid("--name: missing");
  if (!o.clear.empty()) rule.clear_condition = o.clear;
  for (auto [flag, text, target] :
       {std::tuple{"--for", &o.for_duration, &rule.for_duration},
        std::tuple{"--keep-firing-for", &o.keep_firing_for, &rule.keep_firing_for},
        std::tuple{"--stale-after", &o.stale_after, &rule.stale_after}}) {
    if (text->empty()) continue;
    auto d = duration_flag(flag, *text);
    if (!d.ok()) return d.error();
    *target = *d;
  }
  if (!o.severity.empty()) {
    auto s = rules::severity_from(o.severity);
    if (!s) return Error::invalid("--severity: must be info, warning or critical");
    rule.severity = *s;
  }
  if (!o.no_data.empty()) {
    auto p = rules::no_data_from(o.no_data);
    if (!p) return Error::invalid("--no-data: must be ignore or alert");
    rule.no_data = *p;
  }
  if (o.no_notify) rule.notify = false;
  if (o.disabled) rule.enabled = false;
  if (!o.actions.empty()) {
    rule.actions.clear();
    for (const auto& text : o.actions) {
      auto step = step_from_text(text);
      if (!step.ok()) return step.error();
      rule.actions.push_back(*step);
    }
  }
  if (!o.scope.kind.empty()) rule.scope.kind = o.scope.kind;
  return rule;
}

std::string describe_problems(const rules::RuleSpec& rule,
                              const std::vector<rules::RuleProblem>& problems) {
  std::string out;
  for (const auto& p : problems) {
    out += "  " + p.field + ": " + p.message + "\n";
    if (p.where) {
      const std::string& text =
          p.field == "clear" && rule.clear_condition ? *rule.clear_condition : rule.condition;
      const std::string caret = rules::render_error(text, p.where->position, p.where->length, "");
      const auto newline = caret.find('\n');
      std::string marks = caret.substr(newline + 1);
      marks.erase(marks.find_last_not_of(' ') + 1);
      out += "    " + caret.substr(0, newline) + "\n    " + marks + "\n";
    }
  }
  return out;
}

int rules_add(Context& ctx, const RuleAddOptions& options) {
  auto spec = rule_from_options(options, read_rule_file(options.file));
  if (!spec.ok()) {
    std::cerr << "fleetctl: " << spec.error().message() << "\n";
    return kUsage;
  }
  pqxx::work tx(ctx.connection());
  auto scope = resolve_scope(tx, options.scope, spec->scope);
  if (!scope.ok()) {
    std::cerr << "fleetctl: " << scope.error().message() << "\n";
    return kUsage;
  }
  spec->scope = *scope;
  auto saved = alerting::add_rule(tx, *spec, operator_name());
  if (!saved.id) {
    std::cerr << "fleetctl: rule not saved:\n" << describe_problems(*spec, saved.problems);
    return kUsage;
  }
  tx.commit();
  std::cout << "rule " << *saved.id << " '" << spec->name << "' added ("
            << (spec->enabled ? "enabled" : "disabled") << "): " << spec->condition << "\n";
  return kOk;
}

int rules_list(Context& ctx, bool as_json) {
  pqxx::read_transaction tx(ctx.connection());
  auto all = alerting::list_rules(tx);
  if (as_json) {
    json out = json::array();
    for (const auto& r : all) {
      json j = json::parse(rules::rule_to_json(r.spec));
      j["id"] = r.id;
      j["pending"] = r.pending;
      j["firing"] = r.firing;
      j["created_by"] = r.created_by;
      j["created_at"] = r.created_at;
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  if (all.empty()) {
    std::cout << "no rules yet (fleetctl rules add --help)\n";
    return kOk;
  }
  Table table({"ID", "NAME", "ENABLED", "SEVERITY", "SCOPE", "CONDITION", "FOR", "ACTIONS",
               "PENDING", "FIRING"});
  for (const auto& r : all) {
    table.add({std::to_string(r.id), r.spec.name, r.spec.enabled ? "yes" : "no",
               std::string(rules::to_string(r.spec.severity)), describe_scope(r.spec.scope, &tx),
               r.spec.condition, format_duration(r.spec.for_duration),
               describe_ladder(r.spec.actions), std::to_string(r.pending),
               std::to_string(r.firing)});
  }
  std::cout << table.render(60);
  return kOk;
}

int rules_show(Context& ctx, const std::string& id, bool as_json) {
  pqxx::read_transaction tx(ctx.connection());
  auto rule = alerting::find_rule(tx, id);
  if (!rule.ok()) {
    std::cerr << "fleetctl: " << rule.error().message() << "\n";
    return kFailed;
  }
  auto open = alerting::open_alerts_of_rule(tx, rule->id);
  if (as_json) {
    json j = json::parse(rules::rule_to_json(rule->spec));
    j["id"] = rule->id;
    j["created_by"] = rule->created_by;
    j["created_at"] = rule->created_at;
    j["updated_at"] = rule->updated_at;
    j["open_alerts"] = json::array();
    for (const auto& a : open) {
      json alert = {{"id", a.id},
                    {"worker_id", a.worker_id},
                    {"worker", a.worker},
                    {"state", a.state},
                    {"kind", a.kind},
                    {"age_seconds", a.age_seconds},
                    {"next_step", a.next_step}};
      alert["value"] = a.value ? json(*a.value) : json();
      alert["suppressed_by"] = a.suppressed_by ? json(*a.suppressed_by) : json();
      j["open_alerts"].push_back(alert);
    }
    std::cout << j.dump(2) << "\n";
    return kOk;
  }
  const auto& s = rule->spec;
  std::cout << "rule " << rule->id << ": " << s.name << (s.enabled ? "" : " (disabled)") << "\n"
            << "  condition:       " << s.condition << "\n"
            << "  clear:           " << s.clear_condition.value_or("(condition is false)") << "\n"
            << "  scope:           " << describe_scope(s.scope, &tx) << "\n"
            << "  for:             " << format_duration(s.for_duration) << "\n"
            << "  keep firing for: " << format_duration(s.keep_firing_for) << "\n"
            << "  stale after:     " << format_duration(s.stale_after) << "\n"
            << "  severity:        " << rules::to_string(s.severity) << "\n"
            << "  no data:         " << rules::to_string(s.no_data) << "\n"
            << "  notify:          " << (s.notify ? "yes" : "no") << "\n"
            << "  actions:         " << describe_ladder(s.actions) << "\n";
  if (!s.description.empty()) std::cout << "  description:     " << s.description << "\n";
  std::cout << "  created:         " << rule->created_at << " by " << rule->created_by << "\n";
  if (open.empty()) {
    std::cout << "no open alerts\n";
    return kOk;
  }
  Table table({"ALERT", "WORKER", "STATE", "KIND", "FOR", "VALUE", "STEP", "MUTED BY"});
  for (const auto& a : open) {
    table.add({std::to_string(a.id), a.worker, a.state, a.kind, short_age(a.age_seconds),
               a.value ? rules::format_number(*a.value) : "-", std::to_string(a.next_step),
               a.suppressed_by.value_or("-")});
  }
  std::cout << open.size() << " open alerts:\n" << table.render(60);
  return kOk;
}

int rules_enable(Context& ctx, const std::string& id, bool enabled) {
  pqxx::work tx(ctx.connection());
  auto rule = alerting::find_rule(tx, id);
  if (!rule.ok()) {
    std::cerr << "fleetctl: " << rule.error().message() << "\n";
    return kFailed;
  }
  if (Status s = alerting::set_rule_enabled(tx, rule->id, enabled); !s.ok()) {
    std::cerr << "fleetctl: " << s.error().message() << "\n";
    return kFailed;
  }
  tx.commit();
  std::cout << "rule " << rule->id << " '" << rule->spec.name << "' "
            << (enabled ? "enabled" : "disabled (its open alerts resolve at the next evaluation)")
            << "\n";
  return kOk;
}

int rules_delete(Context& ctx, const std::string& id) {
  pqxx::work tx(ctx.connection());
  auto rule = alerting::find_rule(tx, id);
  if (!rule.ok()) {
    std::cerr << "fleetctl: " << rule.error().message() << "\n";
    return kFailed;
  }
  if (Status s = alerting::delete_rule(tx, rule->id); !s.ok()) {
    std::cerr << "fleetctl: " << s.error().message() << "\n";
    return kFailed;
  }
  tx.commit();
  std::cout << "rule " << rule->id << " '" << rule->spec.name
            << "' deleted with its alert history\n";
  return kOk;
}

int rules_test(Context& ctx, const RuleTestOptions& options) {
  if (options.condition.empty() == options.rule.empty()) {
    std::cerr << "fleetctl: give a condition or --rule, not "
              << (options.rule.empty() ? "neither" : "both") << "\n";
    return kUsage;
  }
  pqxx::read_transaction tx(ctx.connection());
  rules::RuleSpec spec;
  if (!options.rule.empty()) {
    auto rule = alerting::find_rule(tx, options.rule);
    if (!rule.ok()) {
      std::cerr << "fleetctl: " << rule.error().message() << "\n";
      return kFailed;
    }
    spec = rule->spec;
  } else {
    spec.name = "(test)";
    spec.condition = options.condition;
  }
  auto scope = resolve_scope(tx, options.scope, spec.scope);
  if (!scope.ok()) {
    std::cerr << "fleetctl: " << scope.error().message() << "\n";
    return kUsage;
  }
  spec.scope = *scope;
  if (!options.stale_after.empty()) {
    auto d = duration_flag("--stale-after", options.stale_after);
    if (!d.ok()) {
      std::cerr << "fleetctl: " << d.error().message() << "\n";
      return kUsage;
    }
    spec.stale_after = *d;
  }
  spec.actions.clear();  // only the condition and scope matter here
  auto problems = rules::validate_rule(spec, alerting::load_catalogue(tx));
  if (!problems.empty()) {
    std::cerr << "fleetctl: invalid condition:\n" << describe_problems(spec, problems);
    return kUsage;
  }
  auto probe = alerting::probe_rule(tx, spec);
  if (!probe.ok()) {
    std::cerr << "fleetctl: " << probe.error().message() << "\n";
    return kUsage;
  }
  if (options.json) {
    json out = {{"condition", spec.condition},
                {"matched", probe->matched},
                {"no_data", probe->no_data},
                {"workers", json::array()}};
    for (const auto& row : probe->rows) {
      if (options.matches_only && row.result != rules::Truth::kTrue) continue;
      out["workers"].push_back({{"id", row.worker.id},
                                {"name", row.worker.name},
                                {"kind", row.worker.kind},
                                {"status", row.worker.status},
                                {"result", std::string(rules::to_string(row.result))},
                                {"terms", json::parse(rules::terms_json(row.terms))}});
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  Table table({"WORKER", "KIND", "STATUS", "RESULT", "VALUES"});
  for (const auto& row : probe->rows) {
    if (options.matches_only && row.result != rules::Truth::kTrue) continue;
    std::vector<std::string> terms;
    for (const auto& t : row.terms)
      terms.push_back(term_text(t));
    const std::string result = row.result == rules::Truth::kTrue    ? "MATCH"
                               : row.result == rules::Truth::kFalse ? "no"
                                                                    : "no data";
    table.add({row.worker.name, row.worker.kind, row.worker.status, result, join(terms, ", ")});
  }
  if (!table.empty()) std::cout << table.render(70);
  std::cout << probe->matched << " of " << probe->rows.size() << " workers match right now";
  if (probe->no_data > 0) std::cout << " (" << probe->no_data << " with no data)";
  std::cout << "\n";
  return kOk;
}

}  // namespace fleet::cli
