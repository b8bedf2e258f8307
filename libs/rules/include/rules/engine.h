// RuleEngine: one evaluation of every rule × worker pair of the fleet. Pure: it takes what the
// loader read (rules, workers and their values, open episodes, silences, action history) and the
// time, and returns the changes to write — episode rows, events, commands, notifications — plus
// one note per decision for logs and --dry-run. Nothing is written for a pair that did not change.
//
// Silences and dependencies (DESIGN §4): while a pair is silenced, or its worker is offline /
// unreachable / removed (except for rules that read worker_status themselves), its episodes are
// still recorded but nothing is notified and the escalation ladder holds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rules/action_ledger.h"
#include "rules/episode.h"
#include "rules/evaluator.h"
#include "rules/rule_set.h"

namespace fleet::rules {

struct WorkerInfo {
  std::int64_t id = 0;
  std::string name;
  std::string kind;  // asic, rig, node, device
  std::optional<std::int64_t> farm_id;
  Labels labels;
  std::string status;                        // workers.status
  std::optional<std::int64_t> last_seen_ms;  // workers.last_seen_at (unix ms)
  // Synced from a HiveOS account (a rigs row), whatever its kind: commanded through HiveOS.
  bool hiveos = false;

  // Offline, unreachable or removed: its rules do not notify or act.
  bool down() const;
  // Expected to report (online, unhealthy, draining): missing data is worth a no-data alert.
  bool up() const;
};

bool in_scope(const Scope& scope, const WorkerInfo& worker);

// How an action reaches this worker: channel_for(action, kind), except that a HiveOS worker
// (an ASIC managed by HiveOS too) has reboot, shutdown and restart_mining sent through HiveOS.
std::optional<std::string> channel_for_worker(std::string_view action, const WorkerInfo& worker);

// Every worker's values, laid out by the rule set's slots (row-major: worker, then slot).
struct FleetValues {
  std::vector<WorkerInfo> workers;
  std::vector<Sample> latest;
  std::vector<WindowStats> windows;
  std::size_t metric_slots = 0;
  std::size_t window_slots = 0;

  // Sizes the value tables for the workers already in `workers`.
  void shape(std::size_t metric_slot_count, std::size_t window_slot_count);
  Sample& sample(std::size_t worker, int slot) {
    return latest[worker * metric_slots + static_cast<std::size_t>(slot)];
  }
  WindowStats& window(std::size_t worker, int slot) {
    return windows[worker * window_slots + static_cast<std::size_t>(slot)];
  }
  WorkerValues row(std::size_t worker) const;
};

struct SilenceInfo {
  std::int64_t id = 0;
  std::optional<std::int64_t> worker_id;
  std::optional<std::int64_t> farm_id;
  std::optional<std::int64_t> rule_id;
  Labels labels;
  Time starts_at{};
  Time ends_at{};
  std::string reason;
};

// An episode row to insert (row.id == 0) or update (guarded by row.revision, the one read).
struct EpisodeWrite {
  Episode row;
  bool insert = false;
};

struct EventRecord {
  std::size_t write = 0;  // index into Evaluation::writes
  std::string event;      // triggered | resolved
  Time at{};
  std::optional<double> current_value;
  std::optional<SimpleThreshold> simple;
  std::string condition;
  std::optional<Resolution> resolution;
  std::string metadata_json;
};

struct CommandRecord {
  std::size_t write = 0;
  int step = 0;
  std::int64_t worker_id = 0;
  std::int64_t rule_id = 0;
  std::string action;
  std::string params_json = "{}";
  std::optional<std::string> channel;
  std::optional<std::string> skip_reason;  // set: recorded as skipped, never dispatched
};

struct NotificationRecord {
  std::size_t write = 0;
  std::string event;       // alert.firing, alert.no_data, alert.resolved, alert.escalation
  std::string key_suffix;  // firing, resolved, step:3 -> dedupe key alert:<id>:<suffix>
  Severity severity = Severity::kWarning;
  std::int64_t worker_id = 0;
  std::int64_t rule_id = 0;
  std::string title;
  std::string body;
  std::string payload_json;
};

// One decision, for the log and --dry-run.
struct DecisionNote {
  std::size_t write = 0;
  std::string change;  // pending, triggered, resolved, cancelled, clearing, action, action_skipped,
                       // muted, unmuted, notified
  bool important = true;  // logged at info (else debug)
  std::int64_t rule_id = 0;
  std::int64_t worker_id = 0;
  std::string rule;
  std::string worker;
  std::string message;  // seed 001 style: "Alert 1 triggered: Threshold exceeded: 85.2 > 82.0"
  std::optional<double> value;
  std::vector<Term> terms;
};

struct EngineStats {
  std::int64_t total_alerts = 0;  // rule × worker pairs in scope
  std::int64_t evaluated = 0;     // pairs whose condition was true or false
  std::int64_t skipped = 0;       // pairs with no data
  std::int64_t triggered = 0;     // episodes that started firing
  std::int64_t resolved = 0;      // episodes that ended (fired or not)
  std::int64_t pending = 0;       // episodes opened as pending
  std::int64_t no_data = 0;       // no-data episodes opened
  std::int64_t commands = 0;      // commands queued
  std::int64_t actions_skipped = 0;
  std::int64_t notifications = 0;
  std::int64_t suppressed = 0;  // firing episodes muted by a silence or dependency
  std::int64_t errors = 0;      // rules that did not compile
};

struct Evaluation {
  std::vector<EpisodeWrite> writes;  // updates and inserts; apply updates first
  std::vector<EventRecord> events;
  std::vector<CommandRecord> commands;
  std::vector<NotificationRecord> notifications;
  std::vector<DecisionNote> notes;
  EngineStats stats;
};

struct EngineInput {
  const RuleSet& rules;
  const FleetValues& fleet;
  const std::vector<Episode>& open_episodes;
  const std::vector<SilenceInfo>& silences;
  ActionLedger& ledger;
  Time now{};
  // How long the evaluator has been watching without a gap in its cycles (db/watch.h); nullopt:
  // no gap to make up for. Within a rule's stale_after of a gap, missing data is the gap's (the
  // pollers were down too), not the worker's: a rule without data changes nothing then.
  std::optional<std::int64_t> watching_for_ms;
};

Evaluation evaluate_fleet(const EngineInput& input);

// Keys that make each side effect happen once per episode.
std::string command_key(std::int64_t alert_id, int step);
std::string notification_key(std::int64_t alert_id, std::string_view suffix);

// A decision as one JSON object (for --dry-run), with the commands and notifications of its write.
// `alert_id` is 0 for an episode not written yet.
std::string decision_json(const Evaluation& evaluation, const DecisionNote& note,
                          std::int64_t alert_id);

// {"expr": value, ...}
std::string terms_json(const std::vector<Term>& terms);

}  // namespace fleet::rules
