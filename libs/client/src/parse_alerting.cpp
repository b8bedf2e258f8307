// JSON -> rules, alerts, silences and commands (the other half of parse.h).
#include "parse.h"

namespace fleet::client::parse {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

const json* field(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void fail(const char* what, const char* key) {
  throw ProtocolError(std::string("the ") + what + "'s '" + key +
                      "' is missing or has the wrong type");
}

void require_object(const json& j, const char* what) {
  if (!j.is_object()) throw ProtocolError(std::string("a ") + what + " is not a JSON object");
}

std::string str(const json& j, const char* what, const char* key) {
  const json* v = field(j, key);
  if (v == nullptr || !v->is_string()) fail(what, key);
  return v->get<std::string>();
}
std::string str_or(const json& j, const char* key, std::string fallback = "") {
  const json* v = field(j, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
}
std::optional<std::string> opt_str(const json& j, const char* key) {
  const json* v = field(j, key);
  return v != nullptr && v->is_string() ? std::optional<std::string>(v->get<std::string>())
                                        : std::nullopt;
}
std::int64_t i64(const json& j, const char* what, const char* key) {
  const json* v = field(j, key);
  if (v == nullptr || !v->is_number_integer()) fail(what, key);
  return v->get<std::int64_t>();
}
std::optional<std::int64_t> opt_i64(const json& j, const char* key) {
  const json* v = field(j, key);
  return v != nullptr && v->is_number_integer()
             ? std::optional<std::int64_t>(v->get<std::int64_t>())
             : std::nullopt;
}
std::optional<double> opt_num(const json& j, const char* key) {
  const json* v = field(j, key);
  return v != nullptr && v->is_number() ? std::optional<double>(v->get<double>()) : std::nullopt;
}
std::string text(const json& j, const char* key) {
  const json* v = field(j, key);
  return v == nullptr ? std::string() : dump(*v);
}
Labels labels(const json& j, const char* key) {
  Labels out;
  const json* v = field(j, key);
  if (v == nullptr || !v->is_object()) return out;
  for (const auto& [k, value] : v->items()) {
    if (value.is_string()) out[k] = value.get<std::string>();
  }
  return out;
}

std::vector<Problem> problems(const json& list) {
  std::vector<Problem> out;
  if (!list.is_array()) return out;
  auto opt_int = [](const json& p, const char* key) -> std::optional<int> {
    auto v = opt_i64(p, key);
    return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
  };
  for (const auto& p : list) {
    if (!p.is_object()) continue;
    out.push_back({str_or(p, "field"), str_or(p, "message"), opt_int(p, "position"),
                   opt_int(p, "length"), opt_int(p, "column")});
  }
  return out;
}

}  // namespace

Rule rule(const json& j) {
  require_object(j, "rule");
  Rule r;
  r.id = i64(j, "rule", "id");
  r.name = str(j, "rule", "name");
  r.description = str_or(j, "description");
  r.enabled = j.value("enabled", true);
  r.condition = str(j, "rule", "condition");
  r.clear_condition = opt_str(j, "clear_condition");
  if (const json* scope = field(j, "scope"); scope != nullptr && scope->is_object()) {
    r.scope = {opt_str(*scope, "kind"), opt_i64(*scope, "farm_id"), opt_i64(*scope, "worker_id"),
               labels(*scope, "labels")};
  }
  r.for_duration = str_or(j, "for", "0s");
  r.keep_firing_for = str_or(j, "keep_firing_for", "0s");
  r.stale_after = str_or(j, "stale_after");
  r.severity = str_or(j, "severity");
  r.no_data = str_or(j, "no_data");
  r.notify =
      field(j, "notify") != nullptr && j["notify"].is_boolean() ? j["notify"].get<bool>() : true;
  if (const json* actions = field(j, "actions"); actions != nullptr && actions->is_array()) {
    for (const auto& a : *actions) {
      require_object(a, "rule action");
      r.actions.push_back(
          {str(a, "rule action", "action"), str_or(a, "after", "0s"), text(a, "params")});
    }
  }
  r.created_by = str_or(j, "created_by");
  r.created_at = str_or(j, "created_at");
  r.updated_at = str_or(j, "updated_at");
  if (const json* open = field(j, "open"); open != nullptr && open->is_object()) {
    r.pending = opt_i64(*open, "pending").value_or(0);
    r.firing = opt_i64(*open, "firing").value_or(0);
  }
  r.raw = dump(j);
  return r;
}

ConditionCheck condition_check(const json& j) {
  require_object(j, "validation answer");
  const json* valid = field(j, "valid");
  if (valid == nullptr || !valid->is_boolean()) fail("validation answer", "valid");
  ConditionCheck c{.valid = valid->get<bool>(), .errors = {}, .metrics = {}};
  if (const json* errors = field(j, "errors")) c.errors = problems(*errors);
  if (const json* metrics = field(j, "metrics"); metrics != nullptr && metrics->is_array()) {
    for (const auto& m : *metrics) {
      if (m.is_string()) c.metrics.push_back(m.get<std::string>());
    }
  }
  return c;
}

RuleTestResult rule_test(const json& j) {
  require_object(j, "test answer");
  const json* matches = field(j, "matches");
  if (matches == nullptr || !matches->is_array()) fail("test answer", "matches");
  RuleTestResult out;
  for (const auto& m : *matches) {
    require_object(m, "match");
    RuleMatch match{.worker_id = i64(m, "match", "worker_id"),
                    .name = str_or(m, "name"),
                    .kind = str_or(m, "kind"),
                    .values = {}};
    if (const json* values = field(m, "values"); values != nullptr && values->is_object()) {
      for (const auto& [term, v] : values->items())
        match.values[term] = dump(v);
    }
    out.matches.push_back(std::move(match));
  }
  out.matched = opt_i64(j, "matched").value_or(static_cast<std::int64_t>(out.matches.size()));
  out.evaluated = opt_i64(j, "evaluated").value_or(0);
  out.no_data = opt_i64(j, "no_data").value_or(0);
  return out;
}

Alert alert(const json& j) {
  require_object(j, "alert");
  Alert a;
  a.id = i64(j, "alert", "id");
  a.rule_id = i64(j, "alert", "rule_id");
  a.rule_name = str_or(j, "rule_name");
  a.worker_id = i64(j, "alert", "worker_id");
  a.worker_name = str_or(j, "worker_name");
  a.kind = str_or(j, "kind");
  a.state = str(j, "alert", "state");
  a.severity = str_or(j, "severity");
  a.started_at = str_or(j, "started_at");
  a.fired_at = opt_str(j, "fired_at");
  a.resolved_at = opt_str(j, "resolved_at");
  a.value = opt_num(j, "value");
  a.suppressed_by = opt_str(j, "suppressed_by");
  a.acknowledged_at = opt_str(j, "acknowledged_at");
  a.acknowledged_by = opt_str(j, "acknowledged_by");
  if (const json* events = field(j, "events"); events != nullptr && events->is_array()) {
    for (const auto& e : *events) {
      require_object(e, "alert event");
      a.events.push_back({i64(e, "alert event", "id"), str_or(e, "event"), str_or(e, "at"),
                          str_or(e, "condition"), opt_num(e, "current_value")});
    }
  }
  a.raw = dump(j);
  return a;
}

Silence silence(const json& j) {
  require_object(j, "silence");
  return {.id = i64(j, "silence", "id"),
          .worker_id = opt_i64(j, "worker_id"),
          .worker_name = opt_str(j, "worker_name"),
          .farm_id = opt_i64(j, "farm_id"),
          .labels = labels(j, "labels"),
          .rule_id = opt_i64(j, "rule_id"),
          .rule_name = opt_str(j, "rule_name"),
          .starts_at = str_or(j, "starts_at"),
          .ends_at = str(j, "silence", "ends_at"),
          .state = str_or(j, "state"),
          .reason = str_or(j, "reason"),
          .created_by = str_or(j, "created_by"),
          .ended_by = opt_str(j, "ended_by"),
          .raw = dump(j)};
}

Command command(const json& j) {
  require_object(j, "command");
  return {.id = i64(j, "command", "id"),
          .worker_id = i64(j, "command", "worker_id"),
          .worker_name = str_or(j, "worker_name"),
          .action = str(j, "command", "action"),
          .params_json = text(j, "params"),
          .channel = opt_str(j, "channel"),
          .origin = str_or(j, "origin"),
          .state = str(j, "command", "state"),
          .skip_reason = opt_str(j, "skip_reason"),
          .held_reason = opt_str(j, "held_reason"),
          .attempts = static_cast<int>(opt_i64(j, "attempts").value_or(0)),
          .max_attempts = static_cast<int>(opt_i64(j, "max_attempts").value_or(0)),
          .requested_by = str_or(j, "requested_by"),
          .created_at = str_or(j, "created_at"),
          .updated_at = str_or(j, "updated_at"),
          .sent_at = opt_str(j, "sent_at"),
          .finished_at = opt_str(j, "finished_at"),
          .result_json = text(j, "result"),
          .last_error = opt_str(j, "last_error"),
          .raw = dump(j)};
}

RelayController relay_controller(const json& j) {
  require_object(j, "relay controller");
  const json* online = field(j, "online");
  return {.id = i64(j, "relay controller", "id"),
          .name = str(j, "relay controller", "name"),
          .driver = str(j, "relay controller", "driver"),
          .topic = str(j, "relay controller", "topic"),
          .channels = static_cast<int>(i64(j, "relay controller", "channels")),
          .site = opt_str(j, "site"),
          .description = str_or(j, "description"),
          .online = online != nullptr && online->is_boolean()
                        ? std::optional<bool>(online->get<bool>())
                        : std::nullopt,
          .availability_at = opt_str(j, "availability_at"),
          .mapped_workers = opt_i64(j, "mapped_workers").value_or(0),
          .raw = dump(j)};
}

RelayMapping relay_mapping(const json& j) {
  require_object(j, "relay mapping");
  const json* online = field(j, "controller_online");
  auto int_of = [&](const char* key) { return static_cast<int>(i64(j, "relay mapping", key)); };
  return {.worker_id = i64(j, "relay mapping", "worker_id"),
          .worker_name = str_or(j, "worker_name"),
          .controller_id = i64(j, "relay mapping", "controller_id"),
          .controller_name = str_or(j, "controller_name"),
          .controller_online = online != nullptr && online->is_boolean()
                                   ? std::optional<bool>(online->get<bool>())
                                   : std::nullopt,
          .channel = int_of("channel"),
          .wiring = str(j, "relay mapping", "wiring"),
          .pulse_ms = int_of("pulse_ms"),
          .hold_ms = int_of("hold_ms"),
          .off_ms = int_of("off_ms"),
          .raw = dump(j)};
}

}  // namespace fleet::client::parse
