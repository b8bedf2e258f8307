#include "alerting/change_writer.h"

#include <chrono>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "rows.h"

namespace fleet::alerting {
namespace {

using json = nlohmann::json;

constexpr const char* kReserveIds =
    "SELECT nextval('alerts_id_seq') FROM generate_series(1, $1::int)";

// Timestamps travel as unix milliseconds; to_timestamp(NULL) is NULL.
constexpr const char* kUpdateAlerts = R"sql(
UPDATE alerts a
   SET state = x.state,
       fired_at = to_timestamp(x.fired_at::float8 / 1000),
       clearing_since = to_timestamp(x.clearing_since::float8 / 1000),
       resolved_at = to_timestamp(x.resolved_at::float8 / 1000),
       resolution = x.resolution,
       value = x.value,
       resolution_value = x.resolution_value,
       observed = x.observed::jsonb,
       next_step = x.next_step,
       last_step_at = to_timestamp(x.last_step_at::float8 / 1000),
       notified_at = to_timestamp(x.notified_at::float8 / 1000),
       suppressed_by = x.suppressed_by,
       revision = a.revision + 1
  FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, revision integer, state text,
       fired_at bigint, clearing_since bigint, resolved_at bigint, resolution text,
       value float8, resolution_value float8, observed text, next_step integer,
       last_step_at bigint, notified_at bigint, suppressed_by text)
 WHERE a.id = x.id AND a.revision = x.revision
RETURNING a.id
)sql";

constexpr const char* kInsertAlerts = R"sql(
INSERT INTO alerts (id, rule_id, worker_id, kind, state, severity, started_at, fired_at,
                    clearing_since, resolved_at, resolution, value, resolution_value, observed,
                    next_step, last_step_at, notified_at, suppressed_by)
SELECT x.id, x.rule_id, x.worker_id, x.kind, x.state, x.severity,
       to_timestamp(x.started_at::float8 / 1000), to_timestamp(x.fired_at::float8 / 1000),
       to_timestamp(x.clearing_since::float8 / 1000), to_timestamp(x.resolved_at::float8 / 1000),
       x.resolution, x.value, x.resolution_value, x.observed::jsonb, x.next_step,
       to_timestamp(x.last_step_at::float8 / 1000), to_timestamp(x.notified_at::float8 / 1000),
       x.suppressed_by
  FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, rule_id bigint, worker_id bigint, kind text,
       state text, severity text, started_at bigint, fired_at bigint, clearing_since bigint,
       resolved_at bigint, resolution text, value float8, resolution_value float8, observed text,
       next_step integer, last_step_at bigint, notified_at bigint, suppressed_by text)
)sql";

constexpr const char* kInsertEvents = R"sql(
INSERT INTO alert_events (alert_id, rule_id, worker_id, event, at, kind, severity, condition,
                          metric, operator, threshold_value, current_value, resolution, metadata)
SELECT x.alert_id, x.rule_id, x.worker_id, x.event, to_timestamp(x.at::float8 / 1000), x.kind,
       x.severity, x.condition, x.metric, x.operator, x.threshold_value, x.current_value,
       x.resolution, x.metadata::jsonb
  FROM jsonb_to_recordset($1::jsonb) AS x(alert_id bigint, rule_id bigint, worker_id bigint,
       event text, at bigint, kind text, severity text, condition text, metric text,
       operator text, threshold_value float8, current_value float8, resolution text,
       metadata text)
)sql";

constexpr const char* kInsertCommands = R"sql(
INSERT INTO commands (worker_id, action, params, channel, origin, rule_id, alert_id, step,
                      requested_by, idempotency_key, state, skip_reason)
SELECT x.worker_id, x.action, x.params::jsonb, x.channel, 'rule', x.rule_id, x.alert_id, x.step,
       $2, x.idempotency_key, CASE WHEN x.skip_reason IS NULL THEN 'queued' ELSE 'skipped' END,
       x.skip_reason
  FROM jsonb_to_recordset($1::jsonb) AS x(worker_id bigint, action text, params text,
       channel text, rule_id bigint, alert_id bigint, step integer, idempotency_key text,
       skip_reason text)
)sql";

constexpr const char* kInsertNotifications = R"sql(
INSERT INTO notifications (source, event, severity, title, body, worker_id, rule_id, alert_id,
                           payload, dedupe_key)
SELECT 'alert-evaluator', x.event, x.severity, x.title, x.body, x.worker_id, x.rule_id,
       x.alert_id, x.payload::jsonb, x.dedupe_key
  FROM jsonb_to_recordset($1::jsonb) AS x(event text, severity text, title text, body text,
       worker_id bigint, rule_id bigint, alert_id bigint, payload text, dedupe_key text)
)sql";

json opt(const std::optional<rules::Time>& t) {
  return t ? json(ms_of(*t)) : json();
}
json opt(const std::optional<double>& v) {
  return v ? json(*v) : json();
}
json opt(const std::optional<std::string>& v) {
  return v ? json(*v) : json();
}

// A JSON document the engine already encoded, passed through as text (PostgreSQL parses it once;
// decoding and re-encoding it here cost more than all the rest of a storm's write).
json raw(const std::string& text) {
  return text.empty() ? json() : json(text);
}

json alert_row(const rules::Episode& e) {
  json j = {{"id", e.id},
            {"state", std::string(to_string(e.state))},
            {"fired_at", opt(e.fired_at)},
            {"clearing_since", opt(e.clearing_since)},
            {"resolved_at", opt(e.resolved_at)},
            {"value", opt(e.value)},
            {"resolution_value", opt(e.resolution_value)},
            {"observed", raw(e.observed_json)},
            {"next_step", e.next_step},
            {"last_step_at", opt(e.last_step_at)},
            {"notified_at", opt(e.notified_at)},
            {"suppressed_by", opt(e.suppressed_by)}};
  j["resolution"] = e.resolution ? json(std::string(to_string(*e.resolution))) : json();
  return j;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Logs (at debug) how long each statement of a write took, for `--verbose` and the benchmark.
class StepTimer {
 public:
  void done(const char* step, std::size_t rows) {
    const auto now = std::chrono::steady_clock::now();
    spdlog::debug("write {}: {} rows in {:.3f}s", step, rows,
                  std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

WriteOutcome write_evaluation(pqxx::transaction_base& tx, const rules::Evaluation& evaluation,
                              const std::string& requested_by) {
  WriteOutcome out;
  const auto& writes = evaluation.writes;
  out.alert_ids.resize(writes.size());
  int inserts = 0;
  for (const auto& w : writes)
    inserts += w.insert ? 1 : 0;
  std::vector<std::int64_t> fresh;
  StepTimer timer;
  if (inserts > 0) {
    for (const auto& r : tx.exec_params(kReserveIds, inserts))
      fresh.push_back(to_i64(r[0]));
  }
  timer.done("reserve ids", fresh.size());
  json updates = json::array();
  json insert_rows = json::array();
  std::size_t next_fresh = 0;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const rules::Episode& e = writes[i].row;
    if (writes[i].insert) {
      out.alert_ids[i] = fresh[next_fresh++];
      json row = alert_row(e);
      row["id"] = out.alert_ids[i];
      row["rule_id"] = e.rule_id;
      row["worker_id"] = e.worker_id;
      row["kind"] = std::string(to_string(e.kind));
      row["severity"] = std::string(to_string(e.severity));
      row["started_at"] = ms_of(e.started_at);
      insert_rows.push_back(std::move(row));
    } else {
      out.alert_ids[i] = e.id;
      json row = alert_row(e);
      row["revision"] = e.revision;
      updates.push_back(std::move(row));
    }
  }
  timer.done("encode episodes", writes.size());
  // Updates first: a pair whose episode ends and a new one opens in the same cycle frees its
  // slot in the one-open-episode index before the insert takes it.
  if (!updates.empty()) {
    const auto changed = tx.exec_params(kUpdateAlerts, dump(updates)).size();
    if (changed != updates.size()) {
      throw WriteConflict(std::to_string(updates.size() - changed) +
                          " alert episodes were changed by another writer since they were read");
    }
  }
  timer.done("update alerts", updates.size());
  if (!insert_rows.empty()) tx.exec_params(kInsertAlerts, dump(insert_rows));
  timer.done("insert alerts", insert_rows.size());
  out.episodes = static_cast<std::int64_t>(writes.size());

  auto alert_of = [&](std::size_t write) { return out.alert_ids[write]; };
  if (!evaluation.events.empty()) {
    json rows = json::array();
    for (const auto& ev : evaluation.events) {
      const rules::Episode& e = writes[ev.write].row;
      json row = {{"alert_id", alert_of(ev.write)},
                  {"rule_id", e.rule_id},
                  {"worker_id", e.worker_id},
                  {"event", ev.event},
                  {"at", ms_of(ev.at)},
                  {"kind", std::string(to_string(e.kind))},
                  {"severity", std::string(to_string(e.severity))},
                  {"condition", ev.condition},
                  {"current_value", opt(ev.current_value)},
                  {"metadata", raw(ev.metadata_json)}};
      row["resolution"] = ev.resolution ? json(std::string(to_string(*ev.resolution))) : json();
      if (ev.simple) {
        row["metric"] = ev.simple->metric;
        row["operator"] = std::string(to_string(ev.simple->op));
        row["threshold_value"] = ev.simple->threshold;
      }
      rows.push_back(std::move(row));
    }
    const std::string doc = dump(rows);
    timer.done("encode alert_events", rows.size());
    tx.exec_params(kInsertEvents, doc);
    out.events = static_cast<std::int64_t>(rows.size());
    timer.done("insert alert_events", rows.size());
  }
  bool queued = false;
  if (!evaluation.commands.empty()) {
    json rows = json::array();
    for (const auto& c : evaluation.commands) {
      json row = {{"worker_id", c.worker_id},
                  {"action", c.action},
                  {"params", raw(c.params_json.empty() ? "{}" : c.params_json)},
                  {"channel", opt(c.channel)},
                  {"rule_id", c.rule_id},
                  {"alert_id", alert_of(c.write)},
                  {"step", c.step},
                  {"idempotency_key", rules::command_key(alert_of(c.write), c.step)},
                  {"skip_reason", opt(c.skip_reason)}};
      queued = queued || !c.skip_reason;
      rows.push_back(std::move(row));
    }
    const std::string doc = dump(rows);
    timer.done("encode commands", rows.size());
    tx.exec_params(kInsertCommands, doc, requested_by);
    out.commands = static_cast<std::int64_t>(rows.size());
    timer.done("insert commands", rows.size());
  }
  if (!evaluation.notifications.empty()) {
    json rows = json::array();
    for (const auto& n : evaluation.notifications) {
      json row = {{"event", n.event},
                  {"severity", std::string(to_string(n.severity))},
                  {"title", n.title},
                  {"body", n.body},
                  {"worker_id", n.worker_id},
                  {"rule_id", n.rule_id},
                  {"alert_id", alert_of(n.write)},
                  {"payload", raw(n.payload_json)},
                  {"dedupe_key", rules::notification_key(alert_of(n.write), n.key_suffix)}};
      rows.push_back(std::move(row));
    }
    const std::string doc = dump(rows);
    timer.done("encode notifications", rows.size());
    tx.exec_params(kInsertNotifications, doc);
    out.notifications = static_cast<std::int64_t>(rows.size());
    timer.done("insert notifications", rows.size());
  }
  // Wake-up hints for the dispatcher and the notifier, last in the transaction (they poll too).
  if (queued) tx.exec("SELECT pg_notify('fleet_commands', '')");
  if (out.notifications > 0) tx.exec("SELECT pg_notify('fleet_notifications', '')");
  return out;
}

}  // namespace fleet::alerting
