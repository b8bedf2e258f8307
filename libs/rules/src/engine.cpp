#include "rules/engine.h"

#include <unordered_map>

#include <nlohmann/json.hpp>

#include "core/duration.h"
#include "messages.h"

namespace fleet::rules {
namespace {

using json = nlohmann::json;

class FleetEvaluation {
 public:
  explicit FleetEvaluation(const EngineInput& in)
      : in_(in), now_ms_(in.now.time_since_epoch().count()) {}

  Evaluation run() {
    out_.stats.errors = static_cast<std::int64_t>(in_.rules.failures().size());
    for (std::size_t i = 0; i < in_.fleet.workers.size(); ++i) {
      worker_index_.emplace(in_.fleet.workers[i].id, i);
    }
    index_episodes();
    index_silences();
    for (const CompiledRule& rule : in_.rules.rules())
      evaluate_rule(rule);
    finish_unvisited();
    return std::move(out_);
  }

 private:
  void index_episodes() {
    visited_.assign(in_.open_episodes.size(), false);
    for (std::size_t i = 0; i < in_.open_episodes.size(); ++i) {
      const Episode& e = in_.open_episodes[i];
      by_rule_[e.rule_id][e.worker_id] = i;
    }
  }

  void index_silences() {
    worker_silences_.resize(in_.fleet.workers.size());
    for (std::size_t s = 0; s < in_.silences.size(); ++s) {
      const SilenceInfo& silence = in_.silences[s];
      if (silence.starts_at > in_.now || silence.ends_at <= in_.now) continue;
      if (!silence.worker_id && !silence.farm_id && silence.labels.empty()) {
        everywhere_.push_back(s);  // matches by rule only
        continue;
      }
      for (std::size_t w = 0; w < in_.fleet.workers.size(); ++w) {
        const WorkerInfo& worker = in_.fleet.workers[w];
        if (silence.worker_id && *silence.worker_id != worker.id) continue;
        if (silence.farm_id && silence.farm_id != worker.farm_id) continue;
        if (!labels_match(worker.labels, silence.labels)) continue;
        worker_silences_[w].push_back(s);
      }
    }
  }

  std::optional<std::string> suppression(const CompiledRule& rule, std::size_t w) const {
    auto matches = [&](std::size_t s) {
      const SilenceInfo& silence = in_.silences[s];
      return !silence.rule_id || *silence.rule_id == rule.record.id;
    };
    for (std::size_t s : worker_silences_[w]) {
      if (matches(s))
        return "silence " + std::to_string(in_.silences[s].id) + ": " + in_.silences[s].reason;
    }
    for (std::size_t s : everywhere_) {
      if (matches(s))
        return "silence " + std::to_string(in_.silences[s].id) + ": " + in_.silences[s].reason;
    }
    const WorkerInfo& worker = in_.fleet.workers[w];
    if (worker.down() && !rule.reads_worker_status) return "worker " + worker.status;
    return std::nullopt;
  }

  void evaluate_rule(const CompiledRule& rule) {
    const std::unordered_map<std::int64_t, std::size_t>* open = nullptr;
    if (auto it = by_rule_.find(rule.record.id); it != by_rule_.end()) open = &it->second;
    const Scope& scope = rule.record.spec.scope;
    EvalContext ctx{.now_ms = now_ms_,
                    .stale_after_ms = rule.stale_after_ms,
                    .words = &in_.rules.slots().words()};
    for (std::size_t w = 0; w < in_.fleet.workers.size(); ++w) {
      const WorkerInfo& worker = in_.fleet.workers[w];
      if (!in_scope(scope, worker)) continue;
      ++out_.stats.total_alerts;
      const Truth condition = evaluate(rule.condition.condition, in_.fleet.row(w), ctx);
      if (condition == Truth::kNoData) {
        ++out_.stats.skipped;
      } else {
        ++out_.stats.evaluated;
      }
      const Episode* episode = nullptr;
      if (open) {
        if (auto it = open->find(worker.id); it != open->end()) {
          episode = &in_.open_episodes[it->second];
          visited_[it->second] = true;
        }
      }
      if (condition == Truth::kNoData && in_.watching_for_ms &&
          *in_.watching_for_ms <= rule.stale_after_ms) {
        continue;  // just back from a gap: no data yet is not "no data" (EngineInput)
      }
      if (!episode) {
        // The common case, kept free of allocations: nothing open and nothing to open.
        if (condition == Truth::kFalse) continue;
        if (condition == Truth::kNoData &&
            (rule.timing.no_data != NoDataPolicy::kAlert || !worker.up())) {
          continue;
        }
      }
      handle_pair(rule, w, episode, condition, ctx);
    }
  }

  void handle_pair(const CompiledRule& rule, std::size_t w, const Episode* episode, Truth condition,
                   const EvalContext& ctx) {
    const WorkerInfo& worker = in_.fleet.workers[w];
    Observation obs{.condition = condition, .worker_up = worker.up()};
    if (rule.clear && episode && episode->state == EpisodeState::kFiring) {
      obs.clear = evaluate(rule.clear->condition, in_.fleet.row(w), ctx);
    }
    std::optional<Episode> current;
    if (episode) current = *episode;
    Advance adv = advance(current, obs, rule.timing, in_.now, rule.record.id, worker.id,
                          rule.record.spec.severity);
    if (!adv.ended && !adv.open_changed &&
        !(adv.open && adv.open->state == EpisodeState::kFiring)) {
      return;
    }
    std::vector<Term> terms = capture(rule, w);
    if (adv.ended) end(rule, &worker, std::move(*adv.ended), terms);
    if (adv.open) keep_open(rule, w, std::move(*adv.open), adv.open_changed, adv.fired, terms);
  }

  std::vector<Term> capture(const CompiledRule& rule, std::size_t w) const {
    std::vector<Term> terms;
    EvalContext ctx{.now_ms = now_ms_,
                    .stale_after_ms = rule.stale_after_ms,
                    .words = &in_.rules.slots().words(),
                    .capture = &terms};
    evaluate(rule.condition.condition, in_.fleet.row(w), ctx);
    if (rule.clear) evaluate(rule.clear->condition, in_.fleet.row(w), ctx);
    return terms;
  }

  DecisionNote note(const CompiledRule& rule, const WorkerInfo* worker, std::int64_t worker_id,
                    std::string change, std::string message, const std::vector<Term>& terms) {
    DecisionNote n;
    n.write = out_.writes.size();
    n.change = std::move(change);
    n.rule_id = rule.record.id;
    n.worker_id = worker_id;
    n.rule = rule.record.spec.name;
    n.worker = worker ? worker->name : "#" + std::to_string(worker_id);
    n.message = std::move(message);
    n.terms = terms;
    return n;
  }

  // Ends an episode: the final row, its resolved event and notification.
  void end(const CompiledRule& rule, const WorkerInfo* worker, Episode e,
           const std::vector<Term>& terms) {
    const std::string worker_name = worker ? worker->name : "#" + std::to_string(e.worker_id);
    e.resolution_value = text::simple_value(rule, terms);
    ++out_.stats.resolved;
    DecisionNote n = note(rule, worker, e.worker_id, e.fired_at ? "resolved" : "cancelled",
                          text::resolved(rule, e, worker_name, terms), terms);
    n.value = e.resolution_value;
    if (e.fired_at) {
      out_.events.push_back(
          {.write = out_.writes.size(),
           .event = "resolved",
           .at = in_.now,
           .current_value = e.resolution_value,
           .simple = e.kind == EpisodeKind::kCondition ? rule.condition.simple : std::nullopt,
           .condition = rule.record.spec.condition,
           .resolution = e.resolution,
           .metadata_json = metadata(rule, worker, e, terms)});
      if (e.notified_at && !e.suppressed_by) {
        notify(rule, worker, e, "alert.resolved", "resolved", "[resolved] ", n.message, terms);
      }
    }
    out_.notes.push_back(std::move(n));
    out_.writes.push_back({std::move(e), false});
  }

  void keep_open(const CompiledRule& rule, std::size_t w, Episode e, bool changed, bool fired,
                 const std::vector<Term>& terms) {
    const WorkerInfo& worker = in_.fleet.workers[w];
    const bool is_new = e.id == 0;
    auto muted = suppression(rule, w);
    if (muted != e.suppressed_by) {
      const bool firing = e.state == EpisodeState::kFiring;
      DecisionNote n = note(rule, &worker, worker.id, muted ? "muted" : "unmuted",
                            "Alert " + std::to_string(rule.record.id) + " on device " +
                                worker.name + (muted ? " muted: " + *muted : " no longer muted"),
                            terms);
      n.important = firing && !is_new;
      out_.notes.push_back(std::move(n));
      e.suppressed_by = muted;
      changed = true;
    }
    if (fired) {
      e.value = text::simple_value(rule, terms);
      e.observed_json = terms_json(terms);
      ++out_.stats.triggered;
      if (e.kind == EpisodeKind::kNoData) ++out_.stats.no_data;
      DecisionNote n =
          note(rule, &worker, worker.id, "triggered", text::triggered(rule, e, terms), terms);
      n.value = e.value;
      out_.notes.push_back(std::move(n));
      out_.events.push_back(
          {.write = out_.writes.size(),
           .event = "triggered",
           .at = in_.now,
           .current_value = e.value,
           .simple = e.kind == EpisodeKind::kCondition ? rule.condition.simple : std::nullopt,
           .condition = rule.record.spec.condition,
           .metadata_json = metadata(rule, &worker, e, terms)});
    } else if (is_new && e.state == EpisodeState::kPending) {
      ++out_.stats.pending;
      out_.notes.push_back(note(rule, &worker, worker.id, "pending",
                                text::pending(rule, worker.name, terms), terms));
    } else if (changed && e.clearing_since) {
      DecisionNote n =
          note(rule, &worker, worker.id, "clearing",
               "Alert " + std::to_string(rule.record.id) + " clearing on device " + worker.name +
                   ": keeps firing for " + format_duration(rule.timing.keep_firing_for),
               terms);
      n.important = false;
      out_.notes.push_back(std::move(n));
    }
    if (e.state == EpisodeState::kFiring) {
      if (e.suppressed_by) {
        ++out_.stats.suppressed;
      } else {
        if (rule.record.spec.notify && !e.notified_at) {
          const bool no_data = e.kind == EpisodeKind::kNoData;
          notify(rule, &worker, e, no_data ? "alert.no_data" : "alert.firing", "firing",
                 "[" + std::string(to_string(e.severity)) + "] ", text::triggered(rule, e, terms),
                 terms);
          e.notified_at = in_.now;
          changed = true;
        }
        if (e.kind == EpisodeKind::kCondition) {
          if (auto step = due_step(e, rule.record.spec.actions, in_.now)) {
            take_step(rule, worker, e, *step, terms);
            changed = true;
          } else if (ladder_exhausted(rule.record.spec.actions, e, in_.now,
                                      in_.ledger.limits().escalation_exhausted_after)) {
            // The last hardware step had its time and the alert still fires: a person must look.
            // Said once: next_step moves past the ladder.
            notify(rule, &worker, e, "alert.escalation_exhausted", "exhausted",
                   "[" + std::string(to_string(e.severity)) + "] ",
                   "Alert " + std::to_string(rule.record.id) +
                       " still firing after every step of "
                       "its escalation ladder (last: " +
                       rule.record.spec.actions.back().action +
                       "); no further automatic action, a person must look at it",
                   terms);
            e.next_step = static_cast<int>(rule.record.spec.actions.size()) + 1;
            changed = true;
          }
        }
      }
    }
    if (changed) out_.writes.push_back({std::move(e), is_new});
  }

  // True once a ladder ending in a hardware action has run out and the alert still fires
  // `wait` after its last step was taken.
  static bool ladder_exhausted(const std::vector<EscalationStep>& ladder, const Episode& e,
                               Time now, std::chrono::milliseconds wait) {
    if (ladder.empty() || !is_hardware_action(ladder.back().action)) return false;
    if (e.next_step != static_cast<int>(ladder.size()) || !e.last_step_at) return false;
    return now - *e.last_step_at >= wait && now > *e.last_step_at;
  }

  void take_step(const CompiledRule& rule, const WorkerInfo& worker, Episode& e, int i,
                 const std::vector<Term>& terms) {
    const EscalationStep& step = rule.record.spec.actions[static_cast<std::size_t>(i)];
    e.next_step = i + 1;
    e.last_step_at = in_.now;
    if (!is_hardware_action(step.action)) {
      notify(rule, &worker, e, "alert.escalation", "step:" + std::to_string(i),
             "[" + std::string(to_string(e.severity)) + "] ",
             "Alert " + std::to_string(rule.record.id) + " " + text::escalation_notice(rule, e, i),
             terms);
      return;
    }
    CommandRecord c{.write = out_.writes.size(),
                    .step = i,
                    .worker_id = worker.id,
                    .rule_id = rule.record.id,
                    .action = step.action,
                    .params_json = step.params_json,
                    .channel = channel_for_worker(step.action, worker)};
    if (!c.channel) {
      c.skip_reason = "workers of kind " + worker.kind + " cannot " + step.action;
    } else if (auto why = in_.ledger.refusal(worker.id)) {
      c.skip_reason = *why;
    } else {
      in_.ledger.record(worker.id);
    }
    if (c.skip_reason) {
      ++out_.stats.actions_skipped;
    } else {
      ++out_.stats.commands;
    }
    out_.notes.push_back(note(rule, &worker, worker.id, c.skip_reason ? "action_skipped" : "action",
                              text::action(rule, c, worker.name), terms));
    out_.commands.push_back(std::move(c));
  }

  void notify(const CompiledRule& rule, const WorkerInfo* worker, const Episode& e,
              std::string event, std::string suffix, const std::string& title_prefix,
              std::string body, const std::vector<Term>& terms) {
    ++out_.stats.notifications;
    const std::string where = worker ? worker->name : "#" + std::to_string(e.worker_id);
    out_.notifications.push_back({.write = out_.writes.size(),
                                  .event = std::move(event),
                                  .key_suffix = std::move(suffix),
                                  .severity = e.severity,
                                  .worker_id = e.worker_id,
                                  .rule_id = rule.record.id,
                                  .title = title_prefix + rule.record.spec.name + " on " + where,
                                  .body = std::move(body),
                                  .payload_json = text::payload(rule, e, worker, terms)});
  }

  std::string metadata(const CompiledRule& rule, const WorkerInfo* worker, const Episode& e,
                       const std::vector<Term>& terms) const {
    json j = {{"rule", rule.record.spec.name},
              {"severity", std::string(to_string(e.severity))},
              {"terms", json::parse(terms_json(terms))}};
    j["worker"] = worker ? json(worker->name) : json();
    if (rule.clear) j["clear"] = *rule.record.spec.clear_condition;
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  }

  // Open episodes nobody evaluated: their rule is disabled or gone, or the worker left the scope.
  void finish_unvisited() {
    for (std::size_t i = 0; i < in_.open_episodes.size(); ++i) {
      if (visited_[i]) continue;
      const Episode& e = in_.open_episodes[i];
      if (in_.rules.failed(e.rule_id)) continue;  // cannot judge it until the rule is fixed
      const CompiledRule* rule = nullptr;
      for (const CompiledRule& r : in_.rules.rules()) {
        if (r.record.id == e.rule_id) rule = &r;
      }
      const Resolution why = rule ? Resolution::kOutOfScope : Resolution::kRuleDisabled;
      const WorkerInfo* worker = nullptr;
      if (auto it = worker_index_.find(e.worker_id); it != worker_index_.end()) {
        worker = &in_.fleet.workers[it->second];
      }
      Episode ended = end_episode(e, why, in_.now);
      if (rule) {
        end(*rule, worker, std::move(ended), {});
      } else {
        end_orphan(std::move(ended), worker);
      }
    }
  }

  // An episode of a rule that is no longer enabled: no compiled rule to describe it with.
  void end_orphan(Episode e, const WorkerInfo* worker) {
    ++out_.stats.resolved;
    const std::string worker_name = worker ? worker->name : "#" + std::to_string(e.worker_id);
    DecisionNote n;
    n.write = out_.writes.size();
    n.change = e.fired_at ? "resolved" : "cancelled";
    n.rule_id = e.rule_id;
    n.worker_id = e.worker_id;
    n.worker = worker_name;
    n.message = "Alert " + std::to_string(e.rule_id) +
                " resolved: rule disabled or deleted, device " + worker_name;
    if (e.fired_at) {
      json meta = {{"worker", worker_name}, {"severity", std::string(to_string(e.severity))}};
      out_.events.push_back(
          {.write = out_.writes.size(),
           .event = "resolved",
           .at = in_.now,
           .condition = "",
           .resolution = e.resolution,
           .metadata_json = meta.dump(-1, ' ', false, json::error_handler_t::replace)});
    }
    out_.notes.push_back(std::move(n));
    out_.writes.push_back({std::move(e), false});
  }

  const EngineInput& in_;
  const std::int64_t now_ms_;
  Evaluation out_;
  std::unordered_map<std::int64_t, std::size_t> worker_index_;
  std::unordered_map<std::int64_t, std::unordered_map<std::int64_t, std::size_t>> by_rule_;
  std::vector<bool> visited_;
  std::vector<std::vector<std::size_t>> worker_silences_;
  std::vector<std::size_t> everywhere_;
};

}  // namespace

bool WorkerInfo::down() const {
  return status == "offline" || status == "unreachable" || status == "removed";
}

bool WorkerInfo::up() const {
  return status == "online" || status == "unhealthy" || status == "draining";
}

std::optional<std::string> channel_for_worker(std::string_view action, const WorkerInfo& worker) {
  if (worker.hiveos && (action == "reboot" || action == "shutdown" || action == "restart_mining")) {
    return std::string("hiveos");
  }
  return channel_for(action, worker.kind);
}

bool in_scope(const Scope& scope, const WorkerInfo& worker) {
  if (scope.worker_id && *scope.worker_id != worker.id) return false;
  if (scope.kind && *scope.kind != worker.kind) return false;
  if (scope.farm_id && scope.farm_id != worker.farm_id) return false;
  if (!scope.labels.empty() && !labels_match(worker.labels, scope.labels)) return false;
  return true;
}

void FleetValues::shape(std::size_t metric_slot_count, std::size_t window_slot_count) {
  metric_slots = metric_slot_count;
  window_slots = window_slot_count;
  latest.assign(workers.size() * metric_slots, Sample{});
  windows.assign(workers.size() * window_slots, WindowStats{});
}

WorkerValues FleetValues::row(std::size_t worker) const {
  return {latest.data() + worker * metric_slots, windows.data() + worker * window_slots};
}

Evaluation evaluate_fleet(const EngineInput& input) {
  return FleetEvaluation(input).run();
}

std::string command_key(std::int64_t alert_id, int step) {
  return "alert:" + std::to_string(alert_id) + ":step:" + std::to_string(step);
}

std::string notification_key(std::int64_t alert_id, std::string_view suffix) {
  return "alert:" + std::to_string(alert_id) + ":" + std::string(suffix);
}

std::string terms_json(const std::vector<Term>& terms) {
  json j = json::object();
  for (const Term& t : terms) {
    if (t.number) {
      j[t.expression] = *t.number;
    } else if (t.state) {
      j[t.expression] = *t.state;
    } else {
      j[t.expression] = nullptr;
    }
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string decision_json(const Evaluation& evaluation, const DecisionNote& note,
                          std::int64_t alert_id) {
  json j = {{"type", "decision"},          {"change", note.change},
            {"rule_id", note.rule_id},     {"rule", note.rule},
            {"worker_id", note.worker_id}, {"worker", note.worker},
            {"message", note.message},     {"terms", json::parse(terms_json(note.terms))}};
  j["alert_id"] = alert_id > 0 ? json(alert_id) : json();
  j["value"] = note.value ? json(*note.value) : json();
  if (note.write < evaluation.writes.size()) {
    const Episode& e = evaluation.writes[note.write].row;
    j["state"] = std::string(to_string(e.state));
    j["kind"] = std::string(to_string(e.kind));
    j["severity"] = std::string(to_string(e.severity));
    if (e.suppressed_by) j["suppressed_by"] = *e.suppressed_by;
  }
  if (note.change == "action" || note.change == "action_skipped") {
    for (const CommandRecord& c : evaluation.commands) {
      if (c.write != note.write) continue;
      json cmd = {{"action", c.action}, {"step", c.step}};
      cmd["channel"] = c.channel ? json(*c.channel) : json();
      cmd["state"] = c.skip_reason ? "skipped" : "queued";
      if (c.skip_reason) cmd["reason"] = *c.skip_reason;
      j["command"] = cmd;
    }
  }
  json notes = json::array();
  for (const NotificationRecord& n : evaluation.notifications) {
    if (n.write == note.write) notes.push_back(n.event);
  }
  if (!notes.empty() && (note.change == "triggered" || note.change == "resolved")) {
    j["notifications"] = notes;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace fleet::rules
