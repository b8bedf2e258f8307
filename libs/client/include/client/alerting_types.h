// Typed results and requests of the rule engine's API: rules, alerts, silences, and commands.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/errors.h"
#include "client/types.h"

namespace fleet::client {

struct RuleScope {
  std::optional<std::string> kind;
  std::optional<std::int64_t> farm_id;
  std::optional<std::int64_t> worker_id;
  Labels labels;
};

struct RuleStep {
  std::string action;       // restart_mining, reboot, power_cycle, notify, ...
  std::string after;        // "10m" since firing
  std::string params_json;  // "" when none
};

struct Rule {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  bool enabled = true;
  std::string condition;
  std::optional<std::string> clear_condition;
  RuleScope scope;
  std::string for_duration;  // "for"
  std::string keep_firing_for;
  std::string stale_after;
  std::string severity;  // info, warning, critical
  std::string no_data;   // ignore, alert
  bool notify = true;
  std::vector<RuleStep> actions;
  std::string created_by;
  std::string created_at;
  std::string updated_at;
  std::int64_t pending = 0;  // open episodes
  std::int64_t firing = 0;
  std::string raw;
};

// A rule to create, or the fields to change (PATCH sends only what is set).
struct RuleDraft {
  std::optional<std::string> name;
  std::optional<std::string> description;
  std::optional<bool> enabled;
  std::optional<std::string> condition;
  // Set to an empty string to remove the clear condition in an update.
  std::optional<std::string> clear_condition;
  std::optional<RuleScope> scope;
  std::optional<std::string> for_duration;
  std::optional<std::string> keep_firing_for;
  std::optional<std::string> stale_after;
  std::optional<std::string> severity;
  std::optional<std::string> no_data;
  std::optional<bool> notify;
  std::optional<std::vector<RuleStep>> actions;
};

// POST /api/rules/validate
struct ConditionCheck {
  bool valid = false;
  std::vector<Problem> errors;
  std::vector<std::string> metrics;  // metrics the condition reads
};

struct RuleMatch {
  std::int64_t worker_id = 0;
  std::string name;
  std::string kind;
  std::map<std::string, std::string> values;  // term -> its value as JSON text
};

// POST /api/rules/test
struct RuleTestResult {
  std::vector<RuleMatch> matches;
  std::int64_t matched = 0;
  std::int64_t evaluated = 0;
  std::int64_t no_data = 0;
};

struct AlertEvent {
  std::int64_t id = 0;
  std::string event;
  std::string at;
  std::string condition;
  std::optional<double> current_value;
};

struct Alert {
  std::int64_t id = 0;
  std::int64_t rule_id = 0;
  std::string rule_name;
  std::int64_t worker_id = 0;
  std::string worker_name;
  std::string kind;
  std::string state;  // pending, firing, resolved
  std::string severity;
  std::string started_at;
  std::optional<std::string> fired_at;
  std::optional<std::string> resolved_at;
  std::optional<double> value;
  std::optional<std::string> suppressed_by;
  std::optional<std::string> acknowledged_at;
  std::optional<std::string> acknowledged_by;
  std::vector<AlertEvent> events;  // only from alerts().get()
  std::string raw;
};

struct Silence {
  std::int64_t id = 0;
  std::optional<std::int64_t> worker_id;
  std::optional<std::string> worker_name;
  std::optional<std::int64_t> farm_id;
  Labels labels;
  std::optional<std::int64_t> rule_id;
  std::optional<std::string> rule_name;
  std::string starts_at;
  std::string ends_at;
  std::string state;  // active, scheduled, ended
  std::string reason;
  std::string created_by;
  std::optional<std::string> ended_by;
  std::string raw;
};

// What to silence (at least one target), for how long (duration or ends_at), and why.
struct SilenceRequest {
  std::optional<std::int64_t> worker_id;
  std::optional<std::int64_t> farm_id;
  std::optional<std::int64_t> rule_id;
  Labels labels;
  std::optional<std::string> duration;  // "2h"
  std::optional<std::string> ends_at;   // ISO 8601 with a zone
  std::optional<std::string> starts_at;
  std::string reason;
};

struct Command {
  std::int64_t id = 0;
  std::int64_t worker_id = 0;
  std::string worker_name;
  std::string action;
  std::string params_json;
  std::optional<std::string> channel;
  std::string origin;  // user, rule, planner, system
  std::string state;   // queued, claimed, sent, succeeded, failed, expired, skipped
  std::optional<std::string> skip_reason;
  // Why a due command waits (partition hold, minimum interval, rate limit); cleared when sent.
  std::optional<std::string> held_reason;
  int attempts = 0;
  int max_attempts = 0;
  std::string requested_by;
  std::string created_at;
  std::string updated_at;
  std::optional<std::string> sent_at;
  std::optional<std::string> finished_at;
  std::string result_json;  // "" when none
  std::optional<std::string> last_error;
  std::string raw;
};

struct CommandRequest {
  std::string action;  // restart_mining, reboot, shutdown, power_cycle, power_off, power_on,
                       // power_button, set_preset, ...
  std::optional<std::string> preset;  // set_preset
  std::optional<int> press_ms;        // power_button: 50..10000 (default: the mapping's pulse_ms)
  std::optional<std::string> cmd;     // exec: the shell command (HiveOS rigs whose account an
                                      // admin enabled exec for), 1..1000 characters
  // reboot, shutdown and the power actions: the server refuses them without this.
  bool confirm = false;
  std::optional<int> expires_in_seconds;
  // Makes a retried request return the first command instead of queueing a second; "" = the
  // client makes one per call (so its own retries are safe too).
  std::string idempotency_key;
};

// Whether the server refuses `action` without confirm (mirrors the gateway's list).
bool needs_confirm(const std::string& action);

}  // namespace fleet::client
