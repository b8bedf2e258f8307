#include "alerting/rule_store.h"

#include <algorithm>
#include <charconv>
#include <map>

#include <pqxx/pqxx>

#include "alerting/snapshot.h"
#include "core/strings.h"
#include "rows.h"

namespace fleet::alerting {
namespace {

constexpr const char* kInsertRule = R"sql(
INSERT INTO rules (name, description, enabled, condition, clear_condition, scope_kind,
                   scope_farm_id, scope_labels, scope_worker_id, for_duration, keep_firing_for,
                   stale_after, severity, no_data, notify, actions, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9,
        $10::bigint * interval '1 millisecond', $11::bigint * interval '1 millisecond',
        $12::bigint * interval '1 millisecond', $13, $14, $15, $16::jsonb, $17)
RETURNING id
)sql";

// The evaluator picks the new text up on its next cycle; open episodes carry on under the new
// condition (an episode that no longer matches resolves as cleared or out of scope).
constexpr const char* kUpdateRule = R"sql(
UPDATE rules SET name = $2, description = $3, enabled = $4, condition = $5, clear_condition = $6,
       scope_kind = $7, scope_farm_id = $8, scope_labels = $9::jsonb, scope_worker_id = $10,
       for_duration = $11::bigint * interval '1 millisecond',
       keep_firing_for = $12::bigint * interval '1 millisecond',
       stale_after = $13::bigint * interval '1 millisecond', severity = $14, no_data = $15,
       notify = $16, actions = $17::jsonb
 WHERE id = $1
)sql";

constexpr const char* kRuleInfo = R"sql(
SELECT r.id, r.created_by,
       to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'),
       to_char(r.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'),
       count(a.id) FILTER (WHERE a.state = 'pending'),
       count(a.id) FILTER (WHERE a.state = 'firing')
  FROM rules r
  LEFT JOIN alerts a ON a.rule_id = r.id AND a.state <> 'resolved'
 GROUP BY r.id
)sql";

constexpr const char* kOpenAlerts = R"sql(
SELECT a.id, a.worker_id, w.name, a.state, a.kind,
       extract(epoch FROM now() - a.started_at)::float8, a.value, a.suppressed_by, a.next_step
  FROM alerts a JOIN workers w ON w.id = a.worker_id
 WHERE a.rule_id = $1 AND a.state <> 'resolved'
 ORDER BY a.started_at, a.id
)sql";

constexpr const char* kInsertSilence = R"sql(
INSERT INTO silences (worker_id, farm_id, labels, rule_id, starts_at, ends_at, reason, created_by)
VALUES ($1, $2, $3::jsonb, $4, now() + $5::bigint * interval '1 millisecond',
        now() + ($5::bigint + $6::bigint) * interval '1 millisecond', $7, $8)
RETURNING id
)sql";

constexpr const char* kSilences = R"sql(
SELECT s.id, w.name, f.name, r.name, s.labels::text,
       to_char(s.starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'),
       to_char(s.ends_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS"Z"'),
       CASE WHEN s.ends_at <= now() THEN 'ended'
            WHEN s.starts_at > now() THEN 'scheduled' ELSE 'active' END,
       s.reason, s.created_by
  FROM silences s
  LEFT JOIN workers w ON w.id = s.worker_id
  LEFT JOIN farms f ON f.id = s.farm_id
  LEFT JOIN rules r ON r.id = s.rule_id
 WHERE $1 OR s.ends_at > now()
 ORDER BY s.starts_at, s.id
)sql";

std::optional<std::int64_t> parse_id(const std::string& text) {
  std::int64_t id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id < 1) return std::nullopt;
  return id;
}

Result<std::int64_t> resolve(pqxx::transaction_base& tx, const std::string& table,
                             const std::string& what, const std::string& id_or_name) {
  // `table` is one of two constants below, never user input.
  const std::string by_id = "SELECT id FROM " + table + " WHERE id = $1";
  const std::string by_name = "SELECT id FROM " + table + " WHERE name = $1 ORDER BY id";
  if (auto id = parse_id(id_or_name)) {
    if (!tx.exec_params(by_id, *id).empty()) return *id;
  }
  pqxx::result r = tx.exec_params(by_name, id_or_name);
  if (r.empty()) return Error::not_found("no " + what + " '" + sanitize_utf8(id_or_name) + "'");
  if (r.size() > 1) {
    return Error::invalid(std::to_string(r.size()) + " " + what + "s are named '" +
                          sanitize_utf8(id_or_name) + "'; give the id");
  }
  return to_i64(r[0][0]);
}

}  // namespace

Result<std::int64_t> resolve_worker(pqxx::transaction_base& tx, const std::string& id_or_name) {
  return resolve(tx, "workers", "worker", id_or_name);
}

Result<std::int64_t> resolve_farm(pqxx::transaction_base& tx, const std::string& id_or_name) {
  return resolve(tx, "farms", "farm", id_or_name);
}

namespace {

// Every reason `rule` cannot be written; `self` is the rule's own id when it is being updated.
std::vector<rules::RuleProblem> problems_of(pqxx::transaction_base& tx, const rules::RuleSpec& rule,
                                            std::optional<std::int64_t> self) {
  std::vector<rules::RuleProblem> problems = rules::validate_rule(rule, load_catalogue(tx));
  if (!tx.exec_params("SELECT 1 FROM rules WHERE name = $1 AND ($2::bigint IS NULL OR id <> $2)",
                      rule.name, self)
           .empty()) {
    problems.insert(
        problems.begin(),
        {"name", "a rule named '" + sanitize_utf8(rule.name) + "' exists already", std::nullopt});
  }
  if (rule.scope.farm_id &&
      tx.exec_params("SELECT 1 FROM farms WHERE id = $1", *rule.scope.farm_id).empty()) {
    problems.push_back(
        {"scope.farm_id", "no farm " + std::to_string(*rule.scope.farm_id), std::nullopt});
  }
  if (rule.scope.worker_id &&
      tx.exec_params("SELECT 1 FROM workers WHERE id = $1", *rule.scope.worker_id).empty()) {
    problems.push_back(
        {"scope.worker_id", "no worker " + std::to_string(*rule.scope.worker_id), std::nullopt});
  }
  return problems;
}

std::optional<std::string> labels_column(const rules::RuleSpec& rule) {
  if (rule.scope.labels.empty()) return std::nullopt;
  return rules::labels_to_json(rule.scope.labels);
}

}  // namespace

SaveOutcome add_rule(pqxx::transaction_base& tx, const rules::RuleSpec& rule,
                     const std::string& created_by) {
  SaveOutcome out;
  out.problems = problems_of(tx, rule, std::nullopt);
  if (!out.problems.empty()) return out;
  pqxx::row r = tx.exec_params1(
      kInsertRule, rule.name, rule.description, rule.enabled, rule.condition, rule.clear_condition,
      rule.scope.kind, rule.scope.farm_id, labels_column(rule), rule.scope.worker_id,
      static_cast<long long>(rule.for_duration.count()),
      static_cast<long long>(rule.keep_firing_for.count()),
      static_cast<long long>(rule.stale_after.count()), std::string(to_string(rule.severity)),
      std::string(to_string(rule.no_data)), rule.notify, rules::ladder_to_json(rule.actions),
      created_by);
  out.id = to_i64(r[0]);
  return out;
}

Result<SaveOutcome> update_rule(pqxx::transaction_base& tx, std::int64_t id,
                                const rules::RuleSpec& rule) {
  if (tx.exec_params("SELECT 1 FROM rules WHERE id = $1 FOR UPDATE", id).empty()) {
    return Error::not_found("no rule " + std::to_string(id));
  }
  SaveOutcome out;
  out.problems = problems_of(tx, rule, id);
  if (!out.problems.empty()) return out;
  tx.exec_params(kUpdateRule, id, rule.name, rule.description, rule.enabled, rule.condition,
                 rule.clear_condition, rule.scope.kind, rule.scope.farm_id, labels_column(rule),
                 rule.scope.worker_id, static_cast<long long>(rule.for_duration.count()),
                 static_cast<long long>(rule.keep_firing_for.count()),
                 static_cast<long long>(rule.stale_after.count()),
                 std::string(to_string(rule.severity)), std::string(to_string(rule.no_data)),
                 rule.notify, rules::ladder_to_json(rule.actions));
  out.id = id;
  return out;
}

std::vector<StoredRule> list_rules(pqxx::transaction_base& tx) {
  LoadedRules loaded = load_rules(tx, /*include_disabled=*/true);
  std::map<std::int64_t, pqxx::row> info;
  pqxx::result rows = tx.exec(kRuleInfo);
  for (const auto& r : rows)
    info.emplace(to_i64(r[0]), r);
  std::vector<StoredRule> out;
  for (auto& record : loaded.rules) {
    StoredRule s;
    s.id = record.id;
    s.spec = std::move(record.spec);
    if (auto it = info.find(s.id); it != info.end()) {
      s.created_by = str(it->second[1]);
      s.created_at = str(it->second[2]);
      s.updated_at = str(it->second[3]);
      s.pending = to_i64(it->second[4]);
      s.firing = to_i64(it->second[5]);
    }
    out.push_back(std::move(s));
  }
  // Rules whose stored columns do not read back still show, by name, so they can be deleted.
  for (const auto& failure : loaded.failures) {
    StoredRule s;
    s.id = failure.rule_id;
    s.spec.name = failure.name;
    s.spec.description = "unreadable: " + failure.message;
    out.push_back(std::move(s));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<StoredRule> find_rule(pqxx::transaction_base& tx, const std::string& id_or_name) {
  auto all = list_rules(tx);
  if (auto id = parse_id(id_or_name)) {
    for (auto& r : all) {
      if (r.id == *id) return std::move(r);
    }
  }
  for (auto& r : all) {
    if (r.spec.name == id_or_name) return std::move(r);
  }
  return Error::not_found("no rule '" + sanitize_utf8(id_or_name) + "' (fleetctl rules list)");
}

Status set_rule_enabled(pqxx::transaction_base& tx, std::int64_t id, bool enabled) {
  if (tx.exec_params("UPDATE rules SET enabled = $2 WHERE id = $1", id, enabled).affected_rows() ==
      0) {
    return Error::not_found("no rule " + std::to_string(id));
  }
  return Status::success();
}

Status delete_rule(pqxx::transaction_base& tx, std::int64_t id) {
  if (tx.exec_params("DELETE FROM rules WHERE id = $1", id).affected_rows() == 0) {
    return Error::not_found("no rule " + std::to_string(id));
  }
  return Status::success();
}

std::vector<OpenAlert> open_alerts_of_rule(pqxx::transaction_base& tx, std::int64_t rule_id) {
  std::vector<OpenAlert> out;
  for (const auto& r : tx.exec_params(kOpenAlerts, rule_id)) {
    out.push_back({.id = to_i64(r[0]),
                   .worker_id = to_i64(r[1]),
                   .worker = str(r[2]),
                   .state = str(r[3]),
                   .kind = str(r[4]),
                   .age_seconds = to_f64(r[5]),
                   .value = opt_f64(r[6]),
                   .suppressed_by = opt_str(r[7]),
                   .next_step = static_cast<int>(to_i64(r[8]))});
  }
  return out;
}

Result<std::int64_t> add_silence(pqxx::transaction_base& tx, const SilenceRequest& request) {
  if (!request.worker_id && !request.farm_id && !request.rule_id && request.labels.empty()) {
    return Error::invalid("a silence needs at least one of worker, farm, label or rule");
  }
  if (trim(request.reason).empty()) return Error::invalid("reason: missing (say why)");
  if (request.reason.size() > 1000) return Error::invalid("reason: longer than 1000 characters");
  if (request.duration.count() <= 0) return Error::invalid("duration: must be positive");
  if (request.starts_in.count() < 0) return Error::invalid("starts in: must not be negative");
  std::optional<std::string> labels;
  if (!request.labels.empty()) labels = rules::labels_to_json(request.labels);
  pqxx::row r = tx.exec_params1(kInsertSilence, request.worker_id, request.farm_id, labels,
                                request.rule_id, static_cast<long long>(request.starts_in.count()),
                                static_cast<long long>(request.duration.count()), request.reason,
                                request.created_by);
  return to_i64(r[0]);
}

std::vector<StoredSilence> list_silences(pqxx::transaction_base& tx, bool include_ended) {
  std::vector<StoredSilence> out;
  for (const auto& r : tx.exec_params(kSilences, include_ended)) {
    std::vector<std::string> m;
    if (!r[1].is_null()) m.push_back("worker=" + str(r[1]));
    if (!r[2].is_null()) m.push_back("farm=" + str(r[2]));
    if (!r[3].is_null()) m.push_back("rule=" + str(r[3]));
    if (!r[4].is_null()) {
      auto labels = rules::labels_from_json(str(r[4]));
      if (labels.ok()) {
        for (const auto& [k, v] : *labels) {
          std::string value = v;
          if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
          m.push_back(k + "=" + value);
        }
      }
    }
    out.push_back({.id = to_i64(r[0]),
                   .matchers = join(m, " "),
                   .starts_at = str(r[5]),
                   .ends_at = str(r[6]),
                   .state = str(r[7]),
                   .reason = str(r[8]),
                   .created_by = str(r[9])});
  }
  return out;
}

Status end_silence(pqxx::transaction_base& tx, std::int64_t id, const std::string& ended_by) {
  pqxx::result r = tx.exec_params("SELECT ends_at <= now() FROM silences WHERE id = $1", id);
  if (r.empty()) return Error::not_found("no silence " + std::to_string(id));
  if (r[0][0].as<bool>()) {
    return Error::precondition("silence " + std::to_string(id) + " has ended already");
  }
  tx.exec_params(
      "UPDATE silences SET ends_at = greatest(starts_at, now()), ended_by = $2 WHERE id = $1", id,
      ended_by);
  return Status::success();
}

}  // namespace fleet::alerting
