// fleetctl silence add|list|end and fleetctl metrics list.
#include <iostream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "alerting/rule_store.h"
#include "alerting/snapshot.h"
#include "core/duration.h"
#include "core/strings.h"
#include "rules_commands.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

Result<std::chrono::milliseconds> duration_of(const std::string& flag, std::string text) {
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string::npos) text += "s";
  auto d = parse_duration(text);
  if (!d.ok()) return Error::invalid(flag + ": " + d.error().message());
  return *d;
}

}  // namespace

int silence_add(Context& ctx, const SilenceAddOptions& o) {
  alerting::SilenceRequest request;
  request.reason = o.reason;
  request.created_by = operator_name();
  auto duration = duration_of("--duration", o.duration);
  if (!duration.ok()) {
    std::cerr << "fleetctl: " << duration.error().message() << "\n";
    return kUsage;
  }
  request.duration = *duration;
  if (!o.starts_in.empty()) {
    auto starts = duration_of("--starts-in", o.starts_in);
    if (!starts.ok()) {
      std::cerr << "fleetctl: " << starts.error().message() << "\n";
      return kUsage;
    }
    request.starts_in = *starts;
  }
  for (const auto& text : o.labels) {
    auto label = rules::label_from_assignment(text);
    if (!label.ok()) {
      std::cerr << "fleetctl: --label: " << label.error().message() << "\n";
      return kUsage;
    }
    request.labels.push_back(*label);
  }
  std::sort(request.labels.begin(), request.labels.end());
  pqxx::work tx(ctx.connection());
  auto fail = [](const std::string& flag, const Error& e) {
    std::cerr << "fleetctl: " << flag << ": " << e.message() << "\n";
    return kUsage;
  };
  if (!o.worker.empty()) {
    auto id = alerting::resolve_worker(tx, o.worker);
    if (!id.ok()) return fail("--worker", id.error());
    request.worker_id = *id;
  }
  if (!o.farm.empty()) {
    auto id = alerting::resolve_farm(tx, o.farm);
    if (!id.ok()) return fail("--farm", id.error());
    request.farm_id = *id;
  }
  if (!o.rule.empty()) {
    auto rule = alerting::find_rule(tx, o.rule);
    if (!rule.ok()) return fail("--rule", rule.error());
    request.rule_id = rule->id;
  }
  auto id = alerting::add_silence(tx, request);
  if (!id.ok()) {
    std::cerr << "fleetctl: " << id.error().message() << "\n";
    return kUsage;
  }
  tx.commit();
  std::cout << "silence " << *id << " added for " << format_duration(request.duration)
            << (request.starts_in.count() ? " starting in " + format_duration(request.starts_in)
                                          : "")
            << ": " << request.reason << "\n";
  return kOk;
}

int silence_list(Context& ctx, bool all, bool as_json) {
  pqxx::read_transaction tx(ctx.connection());
  auto silences = alerting::list_silences(tx, all);
  if (as_json) {
    json out = json::array();
    for (const auto& s : silences) {
      out.push_back({{"id", s.id},
                     {"matchers", s.matchers},
                     {"starts_at", s.starts_at},
                     {"ends_at", s.ends_at},
                     {"state", s.state},
                     {"reason", s.reason},
                     {"created_by", s.created_by}});
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  if (silences.empty()) {
    std::cout << (all ? "no silences\n"
                      : "no active or scheduled silences (--all shows ended ones)\n");
    return kOk;
  }
  Table table({"ID", "STATE", "MATCHES", "STARTS", "ENDS", "BY", "REASON"});
  for (const auto& s : silences) {
    table.add({std::to_string(s.id), s.state, s.matchers, s.starts_at, s.ends_at, s.created_by,
               s.reason});
  }
  std::cout << table.render(60);
  return kOk;
}

int silence_end(Context& ctx, const std::string& text) {
  char* end = nullptr;
  const long long id = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || id < 1) {
    std::cerr << "fleetctl: silence id must be a positive number, not '" << text << "'\n";
    return kUsage;
  }
  pqxx::work tx(ctx.connection());
  if (Status s = alerting::end_silence(tx, id, operator_name()); !s.ok()) {
    std::cerr << "fleetctl: " << s.error().message() << "\n";
    return kFailed;
  }
  tx.commit();
  std::cout << "silence " << id << " ended\n";
  return kOk;
}

int metrics_list(Context& ctx, bool as_json) {
  pqxx::read_transaction tx(ctx.connection());
  const rules::MetricCatalogue catalogue = alerting::load_catalogue(tx);
  if (as_json) {
    json out = json::array();
    for (const auto& m : catalogue.metrics()) {
      json j = {{"name", m.name},
                {"type", m.type == rules::ValueType::kState ? "state" : "number"},
                {"unit", m.unit},
                {"kinds", m.kinds},
                {"description", m.description}};
      if (!m.states.empty()) j["states"] = m.states;
      out.push_back(j);
    }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  Table table({"METRIC", "TYPE", "UNIT", "KINDS", "DESCRIPTION"});
  for (const auto& m : catalogue.metrics()) {
    std::string type =
        m.type == rules::ValueType::kState ? "state: " + join(m.states, "|") : "number";
    table.add({m.name, type, m.unit, join(m.kinds, ","), m.description});
  }
  std::cout << table.render(70);
  return kOk;
}

}  // namespace fleet::cli
