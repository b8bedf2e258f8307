// fleetctl rules / silence / metrics: manage monitoring rules and maintenance windows without the
// API (docs/rules.md). Each command returns fleetctl's exit code; validation errors print the
// condition with a caret under the problem and exit 2.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "context.h"
#include "core/result.h"
#include "rules/rule.h"

namespace fleet::cli {

// Scope flags shared by `rules add` and `rules test`.
struct ScopeOptions {
  std::string kind;                 // asic, rig, node, device
  std::string farm;                 // id or name
  std::string worker;               // id or name
  std::vector<std::string> labels;  // key=value
};

struct RuleAddOptions {
  std::string file;  // a JSON rule ("-" = stdin); flags below override its fields when given
  std::string name;
  std::string description;
  std::string condition;
  std::string clear;
  // Seed 001's simple form instead of --condition.
  std::string metric;
  std::string op;
  std::string threshold;
  ScopeOptions scope;
  std::string for_duration;
  std::string keep_firing_for;
  std::string stale_after;
  std::string severity;
  std::string no_data;  // ignore | alert
  bool no_notify = false;
  bool disabled = false;
  std::vector<std::string> actions;  // "restart_mining", "reboot@10m", "power_cycle@30m"
};

// The rule the flags describe, without database lookups (farm and worker are resolved by
// rules_add). Fails naming the flag.
Result<rules::RuleSpec> rule_from_options(const RuleAddOptions& options,
                                          const std::string& file_text);

// "reboot@10m" -> {reboot, 10m}; "notify" -> {notify, 0s}.
Result<rules::EscalationStep> step_from_text(const std::string& text);

// Every problem, with a caret line under the condition text where one applies.
std::string describe_problems(const rules::RuleSpec& rule,
                              const std::vector<rules::RuleProblem>& problems);

int rules_add(Context& ctx, const RuleAddOptions& options);
int rules_list(Context& ctx, bool json);
int rules_show(Context& ctx, const std::string& rule, bool json);
int rules_enable(Context& ctx, const std::string& rule, bool enabled);
int rules_delete(Context& ctx, const std::string& rule);

struct RuleTestOptions {
  std::string condition;  // or...
  std::string rule;       // ...an existing rule by id or name
  ScopeOptions scope;
  std::string stale_after;
  bool json = false;
  bool matches_only = false;
};
int rules_test(Context& ctx, const RuleTestOptions& options);

struct SilenceAddOptions {
  std::string worker;
  std::string farm;
  std::string rule;
  std::vector<std::string> labels;
  std::string duration;   // "2h"
  std::string starts_in;  // "" = now
  std::string reason;
};
int silence_add(Context& ctx, const SilenceAddOptions& options);
int silence_list(Context& ctx, bool all, bool json);
int silence_end(Context& ctx, const std::string& id);

int metrics_list(Context& ctx, bool json);

// Who is running fleetctl, for created_by columns ($USER, else "fleetctl").
std::string operator_name();

}  // namespace fleet::cli
