#include "alerting/snapshot.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "core/strings.h"
#include "rows.h"

namespace fleet::alerting {
namespace {

using rules::Time;

constexpr const char* kNow = "SELECT (extract(epoch FROM now()) * 1000)::bigint";

constexpr const char* kCatalogue = R"sql(
SELECT name, value_type, unit, description, array_to_string(kinds, ','),
       coalesce(array_to_string(states, ','), ''), source
  FROM metric_catalogue
 ORDER BY name
)sql";

constexpr const char* kRules = R"sql(
SELECT id, name, description, enabled, condition, clear_condition, scope_kind, scope_farm_id,
       scope_labels::text, scope_worker_id,
       (extract(epoch FROM for_duration) * 1000)::bigint,
       (extract(epoch FROM keep_firing_for) * 1000)::bigint,
       (extract(epoch FROM stale_after) * 1000)::bigint,
       severity, no_data, notify, actions::text
  FROM rules
 WHERE enabled OR $1
 ORDER BY id
)sql";

constexpr const char* kWorkers = R"sql(
SELECT w.id, w.name, w.kind, w.farm_id, w.labels::text, w.status,
       (extract(epoch FROM w.last_seen_at) * 1000)::bigint,
       EXISTS (SELECT 1 FROM rigs r WHERE r.worker_id = w.id AND r.removed_at IS NULL)
  FROM workers w
 WHERE w.status <> 'removed'
 ORDER BY w.id
)sql";

// The latest value of the named metrics. Seed 001's extraction order: the numeric `value`, else a
// number in `json_value` (bare, or its "value" member). State metrics carry their word as a JSON
// string in `json_value`.
constexpr const char* kLatest = R"sql(
SELECT worker_id, metric,
       coalesce(value,
                CASE WHEN jsonb_typeof(json_value) = 'number' THEN (json_value #>> '{}')::float8 END,
                CASE WHEN jsonb_typeof(json_value -> 'value') = 'number'
                     THEN (json_value ->> 'value')::float8 END),
       CASE WHEN jsonb_typeof(json_value) = 'string' THEN json_value #>> '{}' END,
       (extract(epoch FROM observed_at) * 1000)::bigint
  FROM metrics_latest
 WHERE metric = ANY (string_to_array($1, ','))
)sql";

// One window of one metric for many workers: an index range scan of readings' primary key
// (worker_id, metric, ts) per worker, all in one statement.
constexpr const char* kWindow = R"sql(
SELECT w.id, agg.n, agg.total, agg.low, agg.high, agg.first_value, agg.last_value,
       agg.first_ms, agg.last_ms
  FROM unnest(string_to_array($1, ',')::bigint[]) AS w(id)
  CROSS JOIN LATERAL (
        SELECT count(*) AS n, sum(v.x) AS total, min(v.x) AS low, max(v.x) AS high,
               (array_agg(v.x ORDER BY v.ts))[1] AS first_value,
               (array_agg(v.x ORDER BY v.ts DESC))[1] AS last_value,
               (extract(epoch FROM min(v.ts)) * 1000)::bigint AS first_ms,
               (extract(epoch FROM max(v.ts)) * 1000)::bigint AS last_ms
          FROM (SELECT r.ts,
                       coalesce(r.value,
                                CASE WHEN jsonb_typeof(r.json_value) = 'number'
                                     THEN (r.json_value #>> '{}')::float8 END,
                                CASE WHEN jsonb_typeof(r.json_value -> 'value') = 'number'
                                     THEN (r.json_value ->> 'value')::float8 END) AS x
                  FROM readings r
                 WHERE r.worker_id = w.id AND r.metric = $2
                   AND r.ts > to_timestamp($3::float8 / 1000) - $4::bigint * interval '1 millisecond'
                   AND r.ts <= to_timestamp($3::float8 / 1000)) AS v
         WHERE v.x IS NOT NULL) AS agg
 WHERE agg.n > 0
)sql";

constexpr const char* kOpenEpisodes = R"sql(
SELECT id, rule_id, worker_id, kind, state, severity,
       (extract(epoch FROM started_at) * 1000)::bigint,
       (extract(epoch FROM fired_at) * 1000)::bigint,
       (extract(epoch FROM clearing_since) * 1000)::bigint,
       value, coalesce(observed::text, ''), next_step,
       (extract(epoch FROM last_step_at) * 1000)::bigint,
       (extract(epoch FROM notified_at) * 1000)::bigint,
       suppressed_by, revision
  FROM alerts
 WHERE state <> 'resolved'
)sql";

constexpr const char* kSilences = R"sql(
SELECT id, worker_id, farm_id, rule_id, labels::text,
       (extract(epoch FROM starts_at) * 1000)::bigint,
       (extract(epoch FROM ends_at) * 1000)::bigint, reason
  FROM silences
 WHERE starts_at <= now() AND ends_at > now()
)sql";

// Skipped commands were never carried out: they do not count against the limits.
constexpr const char* kWorkerActions = R"sql(
SELECT worker_id, count(*), (extract(epoch FROM max(created_at)) * 1000)::bigint
  FROM commands
 WHERE created_at > now() - interval '24 hours' AND state <> 'skipped'
 GROUP BY worker_id
)sql";

constexpr const char* kFleetActions = R"sql(
SELECT count(*) FROM commands
 WHERE created_at > now() - $1::bigint * interval '1 millisecond' AND state <> 'skipped'
)sql";

std::optional<rules::RuleSpec> read_rule(const pqxx::row& r, std::string& problem) {
  rules::RuleSpec spec;
  spec.name = str(r[1]);
  spec.description = str(r[2]);
  spec.enabled = r[3].as<bool>();
  spec.condition = str(r[4]);
  spec.clear_condition = opt_str(r[5]);
  spec.scope.kind = opt_str(r[6]);
  spec.scope.farm_id = opt_i64(r[7]);
  if (!r[8].is_null()) {
    auto labels = rules::labels_from_json(str(r[8]), "scope_labels");
    if (!labels.ok()) {
      problem = labels.error().message();
      return std::nullopt;
    }
    spec.scope.labels = *labels;
  }
  spec.scope.worker_id = opt_i64(r[9]);
  spec.for_duration = std::chrono::milliseconds(to_i64(r[10]));
  spec.keep_firing_for = std::chrono::milliseconds(to_i64(r[11]));
  spec.stale_after = std::chrono::milliseconds(to_i64(r[12]));
  spec.severity = rules::severity_from(str(r[13])).value_or(rules::Severity::kWarning);
  spec.no_data = rules::no_data_from(str(r[14])).value_or(rules::NoDataPolicy::kIgnore);
  spec.notify = r[15].as<bool>();
  auto ladder = rules::ladder_from_json(str(r[16]));
  if (!ladder.ok()) {
    problem = ladder.error().message();
    return std::nullopt;
  }
  spec.actions = *ladder;
  return spec;
}

std::vector<std::string> split_list(const std::string& text) {
  if (text.empty()) return {};
  return split(text, ',');
}

}  // namespace

Time database_now(pqxx::transaction_base& tx) {
  return to_time(to_i64(tx.exec1(kNow)[0]));
}

rules::MetricCatalogue load_catalogue(pqxx::transaction_base& tx) {
  rules::MetricCatalogue catalogue;
  for (const auto& r : tx.exec(kCatalogue)) {
    rules::MetricInfo m;
    m.name = str(r[0]);
    m.type = str(r[1]) == "state" ? rules::ValueType::kState : rules::ValueType::kNumber;
    m.unit = str(r[2]);
    m.description = str(r[3]);
    m.kinds = split_list(str(r[4]));
    m.states = split_list(str(r[5]));
    m.source = str(r[6]) == "worker" ? rules::MetricSource::kWorker : rules::MetricSource::kMetrics;
    catalogue.add(std::move(m));
  }
  return catalogue;
}

LoadedRules load_rules(pqxx::transaction_base& tx, bool include_disabled) {
  LoadedRules out;
  for (const auto& r : tx.exec_params(kRules, include_disabled)) {
    std::string problem;
    auto spec = read_rule(r, problem);
    if (!spec) {
      out.failures.push_back({to_i64(r[0]), str(r[1]), problem});
      continue;
    }
    out.rules.push_back({to_i64(r[0]), std::move(*spec)});
  }
  return out;
}

std::vector<rules::WorkerInfo> load_workers(pqxx::transaction_base& tx) {
  std::vector<rules::WorkerInfo> out;
  pqxx::result rows = tx.exec(kWorkers);
  out.reserve(rows.size());
  for (const auto& r : rows) {
    rules::WorkerInfo w;
    w.id = to_i64(r[0]);
    w.name = str(r[1]);
    w.kind = str(r[2]);
    w.farm_id = opt_i64(r[3]);
    const std::string labels = str(r[4]);
    if (labels != "{}") {
      auto parsed = rules::labels_from_json(labels);
      if (parsed.ok()) w.labels = std::move(*parsed);
    }
    w.status = str(r[5]);
    w.last_seen_ms = opt_i64(r[6]);
    w.hiveos = r[7].as<bool>();
    out.push_back(std::move(w));
  }
  return out;
}

void load_values(pqxx::transaction_base& tx, rules::RuleSet& rules, rules::FleetValues& fleet,
                 Time now) {
  rules::SlotMap& slots = rules.slots();
  fleet.shape(slots.metrics().size(), slots.windows().size());
  std::unordered_map<std::int64_t, std::size_t> index;
  index.reserve(fleet.workers.size());
  for (std::size_t i = 0; i < fleet.workers.size(); ++i)
    index.emplace(fleet.workers[i].id, i);
  const std::int64_t now_ms = ms_of(now);

  std::vector<std::string> stored;
  std::unordered_map<std::string, int> slot_of;
  for (std::size_t s = 0; s < slots.metrics().size(); ++s) {
    const std::string& metric = slots.metrics()[s];
    const int slot = static_cast<int>(s);
    if (metric == "worker_status") {
      for (std::size_t w = 0; w < fleet.workers.size(); ++w) {
        rules::Sample& sample = fleet.sample(w, slot);
        sample.state = slots.words().intern(fleet.workers[w].status);
        sample.observed_ms = now_ms;
      }
    } else if (metric == "last_seen_age") {
      for (std::size_t w = 0; w < fleet.workers.size(); ++w) {
        if (!fleet.workers[w].last_seen_ms) continue;
        rules::Sample& sample = fleet.sample(w, slot);
        sample.number = static_cast<double>(now_ms - *fleet.workers[w].last_seen_ms) / 1000;
        sample.observed_ms = now_ms;
      }
    } else if (!rules.worker_metric(metric)) {
      stored.push_back(metric);
      slot_of.emplace(metric, slot);
    }
  }
  if (!stored.empty()) {
    for (const auto& r : tx.exec_params(kLatest, join(stored, ","))) {
      auto w = index.find(to_i64(r[0]));
      if (w == index.end()) continue;
      auto s = slot_of.find(str(r[1]));
      if (s == slot_of.end()) continue;
      rules::Sample& sample = fleet.sample(w->second, s->second);
      if (!r[3].is_null()) {
        sample.state = slots.words().intern(str(r[3]));
      } else if (!r[2].is_null()) {
        sample.number = to_f64(r[2]);
      } else {
        continue;  // neither a number nor a word: no data
      }
      sample.observed_ms = to_i64(r[4]);
    }
  }

  for (std::size_t ws = 0; ws < slots.windows().size(); ++ws) {
    const rules::WindowRef& window = slots.windows()[ws];
    // Only workers that some rule reading this window applies to.
    std::vector<const rules::Scope*> scopes;
    for (const auto& rule : rules.rules()) {
      const auto& reads = rule.condition.windows;
      const bool uses =
          std::find(reads.begin(), reads.end(), window) != reads.end() ||
          (rule.clear && std::find(rule.clear->windows.begin(), rule.clear->windows.end(),
                                   window) != rule.clear->windows.end());
      if (uses) scopes.push_back(&rule.record.spec.scope);
    }
    std::vector<std::string> ids;
    for (const auto& worker : fleet.workers) {
      for (const rules::Scope* scope : scopes) {
        if (rules::in_scope(*scope, worker)) {
          ids.push_back(std::to_string(worker.id));
          break;
        }
      }
    }
    if (ids.empty()) continue;
    for (const auto& r :
         tx.exec_params(kWindow, join(ids, ","), window.metric, static_cast<double>(now_ms),
                        static_cast<long long>(window.window.count()))) {
      auto w = index.find(to_i64(r[0]));
      if (w == index.end()) continue;
      rules::WindowStats& stats = fleet.window(w->second, static_cast<int>(ws));
      stats.count = to_i64(r[1]);
      stats.sum = to_f64(r[2]);
      stats.min = to_f64(r[3]);
      stats.max = to_f64(r[4]);
      stats.first = to_f64(r[5]);
      stats.last = to_f64(r[6]);
      stats.first_ms = to_i64(r[7]);
      stats.last_ms = to_i64(r[8]);
    }
  }
}

std::vector<rules::Episode> load_open_episodes(pqxx::transaction_base& tx) {
  std::vector<rules::Episode> out;
  for (const auto& r : tx.exec(kOpenEpisodes)) {
    rules::Episode e;
    e.id = to_i64(r[0]);
    e.rule_id = to_i64(r[1]);
    e.worker_id = to_i64(r[2]);
    e.kind = rules::episode_kind_from(str(r[3])).value_or(rules::EpisodeKind::kCondition);
    e.state = rules::episode_state_from(str(r[4])).value_or(rules::EpisodeState::kPending);
    e.severity = rules::severity_from(str(r[5])).value_or(rules::Severity::kWarning);
    e.started_at = to_time(to_i64(r[6]));
    e.fired_at = opt_time(r[7]);
    e.clearing_since = opt_time(r[8]);
    e.value = opt_f64(r[9]);
    e.observed_json = str(r[10]);
    e.next_step = static_cast<int>(to_i64(r[11]));
    e.last_step_at = opt_time(r[12]);
    e.notified_at = opt_time(r[13]);
    e.suppressed_by = opt_str(r[14]);
    e.revision = static_cast<int>(to_i64(r[15]));
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<rules::SilenceInfo> load_active_silences(pqxx::transaction_base& tx) {
  std::vector<rules::SilenceInfo> out;
  for (const auto& r : tx.exec(kSilences)) {
    rules::SilenceInfo s;
    s.id = to_i64(r[0]);
    s.worker_id = opt_i64(r[1]);
    s.farm_id = opt_i64(r[2]);
    s.rule_id = opt_i64(r[3]);
    if (!r[4].is_null()) {
      auto labels = rules::labels_from_json(str(r[4]));
      if (labels.ok()) s.labels = std::move(*labels);
    }
    s.starts_at = to_time(to_i64(r[5]));
    s.ends_at = to_time(to_i64(r[6]));
    s.reason = str(r[7]);
    out.push_back(std::move(s));
  }
  return out;
}

void load_action_history(pqxx::transaction_base& tx, rules::ActionLedger& ledger) {
  for (const auto& r : tx.exec(kWorkerActions)) {
    ledger.add_worker_history(to_i64(r[0]), static_cast<int>(to_i64(r[1])), opt_time(r[2]));
  }
  ledger.set_fleet_recent(static_cast<int>(to_i64(tx.exec_params1(
      kFleetActions, static_cast<long long>(ledger.limits().fleet_window.count()))[0])));
}

Snapshot load_snapshot(pqxx::transaction_base& tx, const rules::ActionLimits& limits) {
  Snapshot s;
  s.now = database_now(tx);
  LoadedRules loaded = load_rules(tx);
  s.enabled_rules = static_cast<std::int64_t>(loaded.rules.size() + loaded.failures.size());
  s.rules = rules::RuleSet::compile(std::move(loaded.rules), load_catalogue(tx),
                                    std::move(loaded.failures));
  s.fleet.workers = load_workers(tx);
  load_values(tx, s.rules, s.fleet, s.now);
  s.open = load_open_episodes(tx);
  s.silences = load_active_silences(tx);
  s.ledger.emplace(limits, s.now);
  load_action_history(tx, *s.ledger);
  return s;
}

}  // namespace fleet::alerting
