// An in-memory fleet for engine tests: rules, workers with metric values, and the episodes and
// command history the database would keep between cycles.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "rules/engine.h"
#include "test_catalogue.h"

namespace fleet::rules::test {

inline const Time t0 = Time(std::chrono::milliseconds(1'700'000'000'000));

class World {
 public:
  MetricCatalogue catalogue = test::catalogue();
  std::vector<RuleRecord> rules;
  std::vector<WorkerInfo> workers;
  std::vector<Episode> open;  // open episodes, as stored
  std::vector<Episode> closed;
  std::vector<SilenceInfo> silences;
  ActionLimits limits;
  std::vector<std::pair<std::int64_t, Time>> actions;  // queued hardware actions (worker, when)
  std::vector<CommandRecord> commands;                 // every command ever written
  std::vector<NotificationRecord> notifications;
  std::vector<EventRecord> events;
  std::vector<std::int64_t> disabled;

  std::int64_t add_rule(RuleSpec spec) {
    const std::int64_t id = static_cast<std::int64_t>(rules.size()) + 1;
    if (spec.name.empty()) spec.name = "rule-" + std::to_string(id);
    rules.push_back({id, std::move(spec)});
    return id;
  }
  std::int64_t add_worker(std::string kind = "asic", std::string status = "online",
                          std::optional<std::int64_t> farm = std::nullopt, Labels labels = {}) {
    const std::int64_t id = static_cast<std::int64_t>(workers.size()) + 1;
    workers.push_back({id, "w" + std::to_string(id), std::move(kind), farm, std::move(labels),
                       std::move(status)});
    return id;
  }
  // A fresh value, observed at the time of the next cycle.
  void set(std::int64_t worker, const std::string& metric, double value) {
    values_[{worker, metric}] = value;
  }
  void clear(std::int64_t worker, const std::string& metric) { values_.erase({worker, metric}); }
  // EngineInput::watching_for_ms of the next cycles.
  std::optional<std::int64_t> watching_for_ms;

  Evaluation cycle(Time now) {
    std::vector<RuleRecord> enabled;
    for (const auto& r : rules) {
      if (std::find(disabled.begin(), disabled.end(), r.id) == disabled.end()) enabled.push_back(r);
    }
    RuleSet set = RuleSet::compile(enabled, catalogue);
    FleetValues fleet;
    fleet.workers = workers;
    fleet.shape(set.slots().metrics().size(), set.slots().windows().size());
    for (std::size_t w = 0; w < workers.size(); ++w) {
      for (std::size_t s = 0; s < set.slots().metrics().size(); ++s) {
        const std::string& metric = set.slots().metrics()[s];
        Sample& sample = fleet.sample(w, static_cast<int>(s));
        if (metric == "worker_status") {
          sample.state = set.slots().words().intern(workers[w].status);
          sample.observed_ms = now.time_since_epoch().count();
          continue;
        }
        auto it = values_.find({workers[w].id, metric});
        if (it == values_.end()) continue;
        sample.number = it->second;
        sample.observed_ms = now.time_since_epoch().count();
      }
    }
    ActionLedger ledger(limits, now);
    std::map<std::int64_t, std::pair<int, std::optional<Time>>> per_worker;
    int fleet_recent = 0;
    for (const auto& [worker, at] : actions) {
      if (now - at < std::chrono::hours(24)) {
        auto& h = per_worker[worker];
        ++h.first;
        if (!h.second || at > *h.second) h.second = at;
      }
      if (now - at < limits.fleet_window) ++fleet_recent;
    }
    for (const auto& [worker, h] : per_worker)
      ledger.add_worker_history(worker, h.first, h.second);
    ledger.set_fleet_recent(fleet_recent);
    Evaluation out = evaluate_fleet({.rules = set,
                                     .fleet = fleet,
                                     .open_episodes = open,
                                     .silences = silences,
                                     .ledger = ledger,
                                     .now = now,
                                     .watching_for_ms = watching_for_ms});
    apply(out, now);
    return out;
  }

  const Episode* episode(std::int64_t rule, std::int64_t worker) const {
    for (const auto& e : open) {
      if (e.rule_id == rule && e.worker_id == worker) return &e;
    }
    return nullptr;
  }

 private:
  // What the writer does: assign ids, keep open rows, move resolved ones aside.
  void apply(Evaluation& out, Time now) {
    std::vector<std::int64_t> ids(out.writes.size());
    for (std::size_t i = 0; i < out.writes.size(); ++i) {
      Episode row = out.writes[i].row;
      if (out.writes[i].insert) {
        row.id = next_id_++;
      }
      ids[i] = row.id;
      row.revision += 1;
      std::erase_if(open, [&](const Episode& e) { return e.id == row.id; });
      if (row.open()) {
        open.push_back(row);
      } else {
        closed.push_back(row);
      }
    }
    for (auto c : out.commands) {
      if (!c.skip_reason) actions.emplace_back(c.worker_id, now);
      commands.push_back(c);
    }
    for (auto& n : out.notifications)
      notifications.push_back(n);
    for (auto& e : out.events)
      events.push_back(e);
  }

  std::map<std::pair<std::int64_t, std::string>, double> values_;
  std::int64_t next_id_ = 1;
};

inline RuleSpec rule(std::string condition) {
  RuleSpec r;
  r.condition = std::move(condition);
  return r;
}

}  // namespace fleet::rules::test
