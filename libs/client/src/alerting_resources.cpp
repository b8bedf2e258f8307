// Rules, alerts, silences and commands.
#include <random>

#include "client/client.h"
#include "parse.h"
#include "session.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;

std::string id_path(const char* base, std::int64_t id, const char* rest = "") {
  return std::string(base) + "/" + std::to_string(id) + rest;
}

json draft_json(const RuleDraft& d) {
  json j = json::object();
  if (d.name) j["name"] = *d.name;
  if (d.description) j["description"] = *d.description;
  if (d.enabled) j["enabled"] = *d.enabled;
  if (d.condition) j["condition"] = *d.condition;
  if (d.clear_condition)
    j["clear_condition"] = d.clear_condition->empty() ? json() : json(*d.clear_condition);
  if (d.scope) j["scope"] = parse::scope_json(*d.scope);
  if (d.for_duration) j["for"] = *d.for_duration;
  if (d.keep_firing_for) j["keep_firing_for"] = *d.keep_firing_for;
  if (d.stale_after) j["stale_after"] = *d.stale_after;
  if (d.severity) j["severity"] = *d.severity;
  if (d.no_data) j["no_data"] = *d.no_data;
  if (d.notify) j["notify"] = *d.notify;
  if (d.actions) {
    json steps = json::array();
    for (const auto& s : *d.actions) {
      json step = {{"action", s.action}};
      if (!s.after.empty()) step["after"] = s.after;
      if (!s.params_json.empty()) {
        json params = json::parse(s.params_json, nullptr, false);
        if (params.is_discarded())
          throw ConfigurationError("a rule action's params are not valid JSON");
        step["params"] = params;
      }
      steps.push_back(step);
    }
    j["actions"] = steps;
  }
  return j;
}

json object_from_text(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ConfigurationError("the rule is not a JSON object");
  return j;
}

std::string random_key() {
  std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string out = "fleet-client-";
  for (int i = 0; i < 24; ++i)
    out += kHex[rd() % 16];
  return out;
}

}  // namespace

bool needs_confirm(const std::string& action) {
  return action == "reboot" || action == "shutdown" || action == "exec" ||
         action == "power_cycle" || action == "power_off" || action == "power_on" ||
         action == "power_button";
}

// --- rules ---

std::vector<Rule> RulesApi::list() {
  return parse::page<Rule>(s_.call("GET", "/api/rules"), parse::rule).items;
}

Rule RulesApi::get(std::int64_t id) {
  return parse::rule(s_.call("GET", id_path("/api/rules", id)));
}

Rule RulesApi::create(const RuleDraft& draft) {
  json body = draft_json(draft);
  return parse::rule(s_.call("POST", "/api/rules", &body));
}

Rule RulesApi::create_json(const std::string& text) {
  json body = object_from_text(text);
  return parse::rule(s_.call("POST", "/api/rules", &body));
}

Rule RulesApi::update(std::int64_t id, const RuleDraft& change) {
  json body = draft_json(change);
  return parse::rule(s_.call("PATCH", id_path("/api/rules", id), &body));
}

Rule RulesApi::update_json(std::int64_t id, const std::string& text) {
  json body = object_from_text(text);
  return parse::rule(s_.call("PATCH", id_path("/api/rules", id), &body));
}

void RulesApi::remove(std::int64_t id) {
  s_.call("DELETE", id_path("/api/rules", id));
}

ConditionCheck RulesApi::validate(const std::string& condition,
                                  const std::optional<std::string>& clear) {
  json body = {{"condition", condition}};
  if (clear) body["clear_condition"] = *clear;
  return parse::condition_check(s_.call("POST", "/api/rules/validate", &body));
}

RuleTestResult RulesApi::test(const std::string& condition, const std::optional<RuleScope>& scope) {
  json body = {{"condition", condition}};
  if (scope) body["scope"] = parse::scope_json(*scope);
  return parse::rule_test(s_.call("POST", "/api/rules/test", &body));
}

// --- alerts ---

Page<Alert> AlertsApi::page(const AlertFilter& filter, const std::optional<std::string>& after) {
  Query q("/api/alerts");
  q.add("state", filter.state).add("severity", filter.severity).add("worker_id", filter.worker_id);
  q.add("rule_id", filter.rule_id).add_limit(filter.limit).add("after", after);
  return parse::page<Alert>(s_.call("GET", q.str()), parse::alert);
}

PageRange<Alert> AlertsApi::all(const AlertFilter& filter) {
  // Captures the session, not this view: the view is often a temporary of the for statement.
  Session* session = &s_;
  return PageRange<Alert>([session, filter](const std::optional<std::string>& after) {
    return AlertsApi(*session).page(filter, after);
  });
}

Alert AlertsApi::get(std::int64_t id) {
  return parse::alert(s_.call("GET", id_path("/api/alerts", id)));
}

Alert AlertsApi::acknowledge(std::int64_t id) {
  return parse::alert(s_.call("POST", id_path("/api/alerts", id, "/ack")));
}

// --- silences ---

std::vector<Silence> SilencesApi::list(bool include_ended) {
  Query q("/api/silences");
  if (include_ended) q.add("all", std::string("true"));
  return parse::page<Silence>(s_.call("GET", q.str()), parse::silence).items;
}

Silence SilencesApi::create(const SilenceRequest& r) {
  json body = {{"reason", r.reason}};
  if (r.worker_id) body["worker_id"] = *r.worker_id;
  if (r.farm_id) body["farm_id"] = *r.farm_id;
  if (r.rule_id) body["rule_id"] = *r.rule_id;
  if (!r.labels.empty()) body["labels"] = parse::labels_json(r.labels);
  if (r.duration) body["duration"] = *r.duration;
  if (r.ends_at) body["ends_at"] = *r.ends_at;
  if (r.starts_at) body["starts_at"] = *r.starts_at;
  return parse::silence(s_.call("POST", "/api/silences", &body));
}

Silence SilencesApi::end(std::int64_t id) {
  return parse::silence(s_.call("DELETE", id_path("/api/silences", id)));
}

// --- commands ---

Command CommandsApi::queue(std::int64_t worker_id, const CommandRequest& r) {
  json body = {{"action", r.action}};
  if (r.preset) body["params"] = {{"preset", *r.preset}};
  if (r.press_ms) body["params"] = {{"ms", *r.press_ms}};
  if (r.cmd) body["params"] = {{"cmd", *r.cmd}};
  if (r.confirm) body["confirm"] = true;
  if (r.expires_in_seconds) body["expires_in_seconds"] = *r.expires_in_seconds;
  const std::string key = r.idempotency_key.empty() ? random_key() : r.idempotency_key;
  return parse::command(s_.call("POST", id_path("/api/workers", worker_id, "/commands"), &body,
                                {{"Idempotency-Key", key}}));
}

Page<Command> CommandsApi::page(const CommandFilter& filter,
                                const std::optional<std::string>& after) {
  Query q("/api/commands");
  q.add("worker_id", filter.worker_id).add("state", filter.state).add("origin", filter.origin);
  q.add_limit(filter.limit).add("after", after);
  return parse::page<Command>(s_.call("GET", q.str()), parse::command);
}

PageRange<Command> CommandsApi::all(const CommandFilter& filter) {
  // Captures the session, not this view: the view is often a temporary of the for statement.
  Session* session = &s_;
  return PageRange<Command>([session, filter](const std::optional<std::string>& after) {
    return CommandsApi(*session).page(filter, after);
  });
}

Command CommandsApi::get(std::int64_t id) {
  return parse::command(s_.call("GET", id_path("/api/commands", id)));
}

Command CommandsApi::cancel(std::int64_t id) {
  return parse::command(s_.call("POST", id_path("/api/commands", id, "/cancel")));
}

}  // namespace fleet::client
