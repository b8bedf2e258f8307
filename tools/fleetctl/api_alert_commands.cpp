// fleetctl api alerts / rules / silence: the rule engine through the REST API.
#include <nlohmann/json.hpp>

#include "api_commands.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

template <class T>
json raw_array(const std::vector<T>& items) {
  json out = json::array();
  for (const auto& i : items)
    out.push_back(json::parse(i.raw, nullptr, false));
  return out;
}

// The condition with a caret line under each problem's position.
void print_problems(const std::string& text, const std::vector<client::Problem>& problems,
                    std::ostream& out) {
  for (const auto& p : problems) {
    out << p.field << ": " << p.message << "\n";
    if (p.position && *p.position >= 0 && static_cast<size_t>(*p.position) <= text.size()) {
      out << "  " << text << "\n  " << std::string(static_cast<size_t>(*p.position), ' ')
          << std::string(static_cast<size_t>(std::max(1, p.length.value_or(1))), '^') << "\n";
    }
  }
}

}  // namespace

int api_alerts_list(client::Client& c, const ApiAlertsOptions& o, std::ostream& out) {
  client::AlertFilter filter{.worker_id = o.worker_id, .limit = o.list.limit};
  if (o.open) filter.state = "open";
  if (!o.state.empty()) filter.state = o.state;
  std::vector<client::Alert> alerts;
  bool more = false;
  if (o.list.all) {
    for (const auto& a : c.alerts().all(filter))
      alerts.push_back(a);
  } else {
    auto page = c.alerts().page(filter);
    alerts = std::move(page.items);
    more = page.next.has_value();
  }
  if (o.list.json) {
    out << raw_array(alerts).dump(2) << "\n";
    return 0;
  }
  Table table({"ID", "STATE", "SEVERITY", "RULE", "WORKER", "VALUE", "STARTED", "ACK"});
  for (const auto& a : alerts) {
    table.add({std::to_string(a.id), a.state, a.severity, a.rule_name,
               std::to_string(a.worker_id) + " " + a.worker_name, api_number(a.value, 2),
               a.started_at, api_cell(a.acknowledged_by)});
  }
  out << (alerts.empty() ? "no alerts\n" : table.render(40));
  if (more) out << "(more: add --all to list every page)\n";
  return 0;
}

int api_alert_ack(client::Client& c, std::int64_t id, std::ostream& out) {
  auto a = c.alerts().acknowledge(id);
  out << "alert " << a.id << " (" << a.rule_name << " on " << a.worker_name << ") acknowledged by "
      << api_cell(a.acknowledged_by) << "\n";
  return 0;
}

int api_rules_list(client::Client& c, bool as_json, std::ostream& out) {
  auto rules = c.rules().list();
  if (as_json) {
    out << raw_array(rules).dump(2) << "\n";
    return 0;
  }
  Table table({"ID", "NAME", "ENABLED", "SEVERITY", "FOR", "CONDITION", "PENDING", "FIRING"});
  for (const auto& r : rules) {
    table.add({std::to_string(r.id), r.name, r.enabled ? "yes" : "no", r.severity, r.for_duration,
               r.condition, std::to_string(r.pending), std::to_string(r.firing)});
  }
  out << (rules.empty() ? "no rules\n" : table.render(60));
  return 0;
}

int api_rules_validate(client::Client& c, const std::string& condition, const std::string& clear,
                       bool as_json, std::ostream& out) {
  auto check = c.rules().validate(condition,
                                  clear.empty() ? std::nullopt : std::optional<std::string>(clear));
  if (as_json) {
    json errors = json::array();
    for (const auto& e : check.errors) {
      errors.push_back({{"field", e.field},
                        {"message", e.message},
                        {"position", e.position ? json(*e.position) : json()}});
    }
    out << json{{"valid", check.valid}, {"errors", errors}, {"metrics", check.metrics}}.dump(2)
        << "\n";
    return check.valid ? 0 : 1;
  }
  if (check.valid) {
    out << "valid";
    if (!check.metrics.empty()) {
      out << " (reads";
      for (const auto& m : check.metrics)
        out << " " << m;
      out << ")";
    }
    out << "\n";
    return 0;
  }
  std::vector<client::Problem> in_condition, in_clear;
  for (const auto& e : check.errors)
    (e.field == "clear_condition" ? in_clear : in_condition).push_back(e);
  print_problems(condition, in_condition, out);
  print_problems(clear, in_clear, out);
  return 1;
}

int api_rules_test(client::Client& c, const std::string& condition, bool as_json,
                   std::ostream& out) {
  auto result = c.rules().test(condition);
  if (as_json) {
    json matches = json::array();
    for (const auto& m : result.matches) {
      json values = json::object();
      for (const auto& [term, v] : m.values)
        values[term] = json::parse(v, nullptr, false);
      matches.push_back(
          {{"worker_id", m.worker_id}, {"name", m.name}, {"kind", m.kind}, {"values", values}});
    }
    out << json{{"matches", matches},
                {"matched", result.matched},
                {"evaluated", result.evaluated},
                {"no_data", result.no_data}}
               .dump(2)
        << "\n";
    return 0;
  }
  Table table({"WORKER", "NAME", "KIND", "VALUES"});
  for (const auto& m : result.matches) {
    std::string values;
    for (const auto& [term, v] : m.values)
      values += (values.empty() ? "" : ", ") + term + " = " + v;
    table.add({std::to_string(m.worker_id), m.name, m.kind, values});
  }
  if (!table.empty()) out << table.render(60);
  out << result.matched << " of " << result.evaluated << " workers match (" << result.no_data
      << " without data)\n";
  return 0;
}

int api_rules_add(client::Client& c, const std::string& rule_json, std::ostream& out) {
  auto rule = c.rules().create_json(rule_json);
  out << "rule " << rule.id << " (" << rule.name << ") added\n";
  return 0;
}

int api_rules_delete(client::Client& c, std::int64_t id, std::ostream& out) {
  c.rules().remove(id);
  out << "rule " << id << " deleted\n";
  return 0;
}

int api_silence_add(client::Client& c, const ApiSilenceOptions& o, std::ostream& out,
                    std::ostream& err) {
  client::SilenceRequest request{
      .worker_id = o.worker_id, .farm_id = o.farm_id, .rule_id = o.rule_id};
  for (const auto& l : o.labels) {
    auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0) {
      err << "fleetctl: --label must be key=value\n";
      return 2;
    }
    request.labels[l.substr(0, eq)] = l.substr(eq + 1);
  }
  request.duration = o.duration;
  request.reason = o.reason;
  auto s = c.silences().create(request);
  out << "silence " << s.id << " " << s.state << " until " << s.ends_at << "\n";
  return 0;
}

int api_silence_list(client::Client& c, bool all, bool as_json, std::ostream& out) {
  auto silences = c.silences().list(all);
  if (as_json) {
    out << raw_array(silences).dump(2) << "\n";
    return 0;
  }
  Table table({"ID", "STATE", "MATCHES", "STARTS", "ENDS", "BY", "REASON"});
  for (const auto& s : silences) {
    std::string matches;
    auto add = [&](const std::string& part) { matches += (matches.empty() ? "" : " ") + part; };
    if (s.worker_id) add("worker=" + api_cell(s.worker_name, std::to_string(*s.worker_id).c_str()));
    if (s.farm_id) add("farm=" + std::to_string(*s.farm_id));
    if (s.rule_id) add("rule=" + api_cell(s.rule_name, std::to_string(*s.rule_id).c_str()));
    for (const auto& [k, v] : s.labels)
      add(k + "=" + v);
    table.add(
        {std::to_string(s.id), s.state, matches, s.starts_at, s.ends_at, s.created_by, s.reason});
  }
  out << (silences.empty() ? "no silences\n" : table.render(60));
  return 0;
}

int api_silence_end(client::Client& c, std::int64_t id, std::ostream& out) {
  auto s = c.silences().end(id);
  out << "silence " << s.id << " ended\n";
  return 0;
}

}  // namespace fleet::cli
