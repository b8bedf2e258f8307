#include "monitor_store.h"

#include <pqxx/pqxx>

#include <nlohmann/json.hpp>

namespace fleet::heartbeat {
namespace {

using json = nlohmann::json;

// The workers whose status might change: found by index (workers not online, nodes silent or
// over a limit: migration 0043 and 0040's nodes_heartbeat_idx) plus one pass over workers for
// online ASICs, rigs and devices not seen lately (against the shortest of their timeouts, a
// superset). An offline ASIC, rig or device not seen since it went offline cannot recover, so a
// fleet with many dead workers does not ship them every cycle.
constexpr const char* kCandidateIds = R"sql(
SELECT coalesce(array_agg(id), '{}') FROM (
  SELECT id FROM workers
   WHERE status NOT IN ('online', 'removed')
     AND NOT (kind <> 'node' AND status = 'offline'
              AND (last_seen_at IS NULL OR last_seen_at <= status_since))
  UNION
  SELECT id FROM workers
   WHERE status = 'online' AND kind <> 'node'
     -- The threshold is computed once (an InitPlan), not for each of the fleet's rows.
     AND (last_seen_at IS NULL
          OR last_seen_at < (
               SELECT now() - least($2::bigint, $3::bigint,
                                    (extract(epoch FROM coalesce(min(expected_interval),
                                                                 interval '60 seconds'))
                                     * 1000 * $4::float8)::bigint) * interval '1 millisecond'
                 FROM devices))
  UNION
  SELECT worker_id FROM nodes
   WHERE last_heartbeat_at IS NULL OR last_heartbeat_at < now() - $1 * interval '1 millisecond'
  UNION
  SELECT worker_id FROM nodes WHERE over_limit_streak > 0 AND over_limit_streak >= $5
) c
)sql";

// What decide() needs about each candidate (a separate statement, so the planner knows how few
// they are and joins them by primary key). The last WHERE drops those decide() would leave alone
// anyway: offline and still silent, pending and never seen, online and fine after all.
constexpr const char* kCandidates = R"sql(
WITH flaps AS (
  -- Only the candidates' history (worker_status_history_worker_idx), not the whole window's.
  SELECT worker_id, count(*)::int AS n
    FROM worker_status_history
   WHERE worker_id = ANY (ARRAY(SELECT unnest($7::bigint[])))
     AND at > now() - $1 * interval '1 millisecond'
   GROUP BY worker_id
), cleared AS (
  SELECT site, max(cleared_at) AS at FROM site_holds WHERE cleared_at IS NOT NULL GROUP BY site
), seen AS (
  SELECT w.id, w.name, w.kind, coalesce(w.site, '') AS site, w.status, w.status_since,
         CASE WHEN w.kind = 'node' THEN n.last_heartbeat_at ELSE w.last_seen_at END AS seen_at,
         CASE w.kind WHEN 'node' THEN $2::bigint WHEN 'asic' THEN $3::bigint
                     WHEN 'rig' THEN $4::bigint
                     ELSE (extract(epoch FROM coalesce(d.expected_interval, interval '60 seconds'))
                           * 1000 * $5::float8)::bigint END AS timeout_ms,
         n.over_limit_streak, n.over_limit, n.cpu_percent, n.memory_percent, n.disk_percent,
         n.healthy_since, n.streak_since, n.drain_requested_at
    FROM workers w
    LEFT JOIN nodes n ON n.worker_id = w.id
    LEFT JOIN devices d ON d.worker_id = w.id
    LEFT JOIN rigs r ON r.worker_id = w.id
   -- By primary key. The ids come through a subquery so the planner neither weighs each of
   -- them (milliseconds for a thousand) nor hashes all of workers against them.
   WHERE w.id = ANY (ARRAY(SELECT unnest($7::bigint[])))
     AND w.status <> 'removed'
     -- A HiveOS worker whose account could not be read (rigs.stale) is not silent: we lost our
     -- view, not the rig. It keeps its status until hiveos-sync reads it again.
     AND NOT coalesce(r.stale, false)
)
SELECT s.id, s.name, s.kind, s.site, s.status,
       (extract(epoch FROM now() - s.seen_at) * 1000)::bigint,
       s.timeout_ms,
       (extract(epoch FROM now() - s.status_since) * 1000)::bigint,
       coalesce(s.seen_at > s.status_since, false),
       coalesce(f.n, 0),
       coalesce(s.over_limit_streak, 0),
       array_to_string(s.over_limit, ','),
       s.cpu_percent, s.memory_percent, s.disk_percent,
       (extract(epoch FROM now() - s.healthy_since) * 1000)::bigint,
       (extract(epoch FROM now() - s.streak_since) * 1000)::bigint,
       s.drain_requested_at IS NOT NULL,
       (extract(epoch FROM now() - c.at) * 1000)::bigint
  FROM seen s
  LEFT JOIN flaps f ON f.worker_id = s.id
  LEFT JOIN cleared c ON c.site = s.site
 WHERE (s.status <> 'online' OR s.seen_at IS NULL
        OR s.seen_at < now() - s.timeout_ms * interval '1 millisecond'
        OR coalesce(s.over_limit_streak, 0) >= $6)
   AND NOT (s.status = 'offline'
            AND (s.seen_at IS NULL OR s.seen_at < now() - s.timeout_ms * interval '1 millisecond'
                 OR (s.kind <> 'node' AND s.seen_at <= s.status_since)))
   AND NOT (s.status = 'pending' AND s.seen_at IS NULL)
)sql";

constexpr const char* kOpenHolds = R"sql(
SELECT id, site, to_char(held_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
  FROM site_holds WHERE cleared_at IS NULL
)sql";

// Per site: its workers, and those still counted alive but silent for more than the quiet share
// of their kind's timeout ($2 node, $3 asic, $4 rig ms; $5 the device factor; $6 the share).
// One pass over the sites' workers without joining them to nodes: the quiet nodes are few and
// found by nodes_heartbeat_idx and the stale rigs read once (hashed subplans), devices are
// joined for their interval only. Joining every worker of the sites to nodes made a cycle
// whose silent workers are spread over most sites cost more than the rest of the cycle
// (docs/benchmarks.md, heartbeat-monitor).
constexpr const char* kSiteSizes = R"sql(
SELECT coalesce(w.site, ''), count(*)::int,
       count(*) FILTER (
         WHERE w.status IN ('online', 'unhealthy', 'draining')
           AND CASE WHEN w.kind = 'node'
                    THEN w.id IN (SELECT worker_id FROM nodes
                                   WHERE last_heartbeat_at < now() - $6::float8 * $2::bigint
                                                                     * interval '1 millisecond')
                    ELSE w.last_seen_at < now() - $6::float8 * interval '1 millisecond' *
                         CASE w.kind WHEN 'asic' THEN $3::bigint WHEN 'rig' THEN $4::bigint
                                     ELSE extract(epoch FROM coalesce(d.expected_interval,
                                                                      interval '60 seconds'))
                                          * 1000 * $5::float8 END
               END)::int
  FROM workers w
  LEFT JOIN devices d ON d.worker_id = w.id AND w.kind = 'device'
 WHERE w.status <> 'removed'
   -- a stale HiveOS worker is neither silent nor quiet
   AND w.id NOT IN (SELECT worker_id FROM rigs WHERE stale)
   AND (w.site = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))  -- workers_site_idx
        OR (w.site IS NULL AND $1::jsonb ? ''))
 GROUP BY 1
)sql";

// The status changes and their notifications in one statement. A worker whose status is no
// longer the one decided on (another writer, a second replica) is left alone.
constexpr const char* kApply = R"sql(
WITH t AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb)
    AS t(id bigint, from_status text, to_status text, reason text, event text, severity text,
         title text, payload jsonb)
), u AS (
  UPDATE workers w SET status = t.to_status, status_reason = left(t.reason, 1000)
    FROM t
   WHERE w.id = t.id AND w.status = t.from_status
  RETURNING w.id, w.status_since
), n AS (
  INSERT INTO notifications (source, event, severity, title, body, worker_id, payload, dedupe_key)
  SELECT 'heartbeat-monitor', t.event, t.severity, left(t.title, 500), t.reason, t.id, t.payload,
         t.event || ':' || t.id || ':' || (extract(epoch FROM u.status_since) * 1000000)::bigint
    FROM u JOIN t ON t.id = u.id
   WHERE t.event <> ''
  ON CONFLICT (dedupe_key) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM n)
)sql";

constexpr const char* kOpenHold = R"sql(
INSERT INTO site_holds (site, reason, silent, total, held_by)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (site) WHERE cleared_at IS NULL DO NOTHING
RETURNING id, to_char(held_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
)sql";

constexpr const char* kClearHold = R"sql(
UPDATE site_holds SET cleared_at = now()
 WHERE site = $1 AND cleared_at IS NULL
RETURNING id, (extract(epoch FROM cleared_at - held_at))::bigint
)sql";

constexpr const char* kSiteNotification = R"sql(
INSERT INTO notifications (source, event, severity, title, body, payload, dedupe_key)
VALUES ('heartbeat-monitor', $1, $2, left($3, 500), $4, $5::jsonb, $6)
ON CONFLICT (dedupe_key) DO NOTHING
)sql";

constexpr const char* kPrune = R"sql(
DELETE FROM worker_status_history
 WHERE id IN (SELECT id FROM worker_status_history
               WHERE at < now() - $1 * interval '1 millisecond'
               ORDER BY at LIMIT $2)
)sql";

constexpr const char* kCountExpired = R"sql(
SELECT count(*) FROM worker_status_history WHERE at < now() - $1 * interval '1 millisecond'
)sql";

std::optional<milliseconds> ms(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return milliseconds(f.as<std::int64_t>());
}

std::optional<double> num(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<double>();
}

std::string site_name(const std::string& site) {
  return site.empty() ? "(no site)" : site;
}

const char* severity_of(const std::string& event) {
  return event == "worker.recovered" ? "info" : "warning";
}

std::string title_of(const Transition& t) {
  const std::string who = t.kind + " " + t.name;
  if (t.event == "worker.offline") return who + " is offline";
  if (t.event == "worker.unhealthy") return who + " is unhealthy";
  return who + " recovered after " + std::to_string(t.outage_s) + " s";
}

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

Snapshot load_snapshot(pqxx::transaction_base& tx, const MonitorOptions& o) {
  Snapshot snap;
  for (const auto& r : tx.exec(kOpenHolds)) {
    snap.open_holds[r[1].as<std::string>()] = {.id = r[0].as<std::int64_t>(),
                                               .held_at = r[2].as<std::string>()};
  }
  const std::string ids =
      tx.exec_params1(kCandidateIds, o.node_timeout.count(), o.asic_timeout.count(),
                      o.rig_timeout.count(), o.device_timeout_factor, o.unhealthy_after)[0]
          .as<std::string>();
  if (ids == "{}") return snap;
  auto rows = tx.exec_params(kCandidates, o.flap_window.count(), o.node_timeout.count(),
                             o.asic_timeout.count(), o.rig_timeout.count(), o.device_timeout_factor,
                             o.unhealthy_after, ids);
  snap.candidates.reserve(rows.size());
  for (const auto& r : rows) {
    Observation w;
    w.worker_id = r[0].as<std::int64_t>();
    w.name = r[1].as<std::string>();
    w.kind = r[2].as<std::string>();
    w.site = r[3].as<std::string>();
    w.status = r[4].as<std::string>();
    w.silent_for = ms(r[5]);
    w.timeout = milliseconds(r[6].as<std::int64_t>());
    w.status_age = milliseconds(r[7].as<std::int64_t>());
    w.seen_since_status = r[8].as<bool>();
    w.recent_changes = r[9].as<int>();
    w.over_limit_streak = r[10].as<int>();
    if (!r[11].is_null()) w.over_limit = split_names(r[11].as<std::string>());
    w.cpu_percent = num(r[12]);
    w.memory_percent = num(r[13]);
    w.disk_percent = num(r[14]);
    w.healthy_for = ms(r[15]);
    w.streak_for = ms(r[16]);
    w.drain_requested = r[17].as<bool>();
    w.since_hold_cleared = ms(r[18]);
    w.site_held = snap.open_holds.count(w.site) > 0;
    snap.candidates.push_back(std::move(w));
  }
  return snap;
}

std::map<std::string, SiteSize> site_sizes(pqxx::transaction_base& tx,
                                           const std::vector<std::string>& sites,
                                           const MonitorOptions& o) {
  std::map<std::string, SiteSize> out;
  if (sites.empty()) return out;
  for (const auto& r : tx.exec_params(kSiteSizes, json(sites).dump(), o.node_timeout.count(),
                                      o.asic_timeout.count(), o.rig_timeout.count(),
                                      o.device_timeout_factor, o.partition_quiet_share)) {
    out[r[0].as<std::string>()] = {r[1].as<int>(), r[2].as<int>()};
  }
  return out;
}

std::string notification_payload(const Transition& t, const MonitorOptions& o) {
  json p{{"kind", t.kind}, {"name", t.name}, {"site", t.site},
         {"from", t.from}, {"to", t.to},     {"reason", t.reason}};
  // Seed 002: node changes go to the administrators.
  if (t.kind == "node") p["audience"] = "admins";
  if (t.event == "worker.recovered") p["outage_s"] = t.outage_s;
  if (t.event == "worker.unhealthy") {
    p["metrics"] = t.metrics;
    p["limits"] = {{"cpu_percent", o.limit_cpu_percent},
                   {"memory_percent", o.limit_memory_percent},
                   {"disk_percent", o.limit_disk_percent},
                   {"heartbeats", o.unhealthy_after}};
  }
  return p.dump();
}

Applied apply(pqxx::transaction_base& tx, const std::vector<Transition>& transitions,
              const std::vector<SiteAction>& sites, const MonitorOptions& o) {
  Applied out;
  for (const auto& a : sites) {
    json payload{
        {"site", a.site}, {"silent", a.silent}, {"workers", a.workers}, {"audience", "admins"}};
    if (a.kind == SiteAction::Kind::kHold) {
      auto rows = tx.exec_params(kOpenHold, a.site, a.reason, a.silent, a.workers, o.instance_id);
      if (rows.empty()) continue;  // another replica holds it already
      ++out.holds_opened;
      const auto id = rows[0][0].as<std::int64_t>();
      payload["hold_id"] = id;
      payload["held_at"] = rows[0][1].as<std::string>();
      out.notified += static_cast<std::int64_t>(
          tx.exec_params(kSiteNotification, "site.unreachable", "critical",
                         "Site " + site_name(a.site) + " unreachable: " + std::to_string(a.silent) +
                             " of " + std::to_string(a.workers) + " workers went silent at once",
                         a.reason + ". Its workers are marked unreachable, not offline, and "
                                    "hardware actions for the site are held until it clears.",
                         payload.dump(), "site.unreachable:" + std::to_string(id))
              .affected_rows());
    } else {
      auto rows = tx.exec_params(kClearHold, a.site);
      if (rows.empty()) continue;
      ++out.holds_cleared;
      const auto id = rows[0][0].as<std::int64_t>();
      payload["hold_id"] = id;
      payload["held_s"] = rows[0][1].as<std::int64_t>();
      out.notified += static_cast<std::int64_t>(
          tx.exec_params(kSiteNotification, "site.reachable", "info",
                         "Site " + site_name(a.site) + " reachable again after " +
                             std::to_string(rows[0][1].as<std::int64_t>()) + " s",
                         "Partition hold cleared: " + a.reason + ".", payload.dump(),
                         "site.reachable:" + std::to_string(id))
              .affected_rows());
    }
  }
  if (!transitions.empty()) {
    json rows = json::array();
    for (const auto& t : transitions) {
      const bool notify = !t.event.empty() && o.notifies(t.kind);
      json row{{"id", t.worker_id},
               {"from_status", t.from},
               {"to_status", t.to},
               {"reason", t.reason},
               {"event", notify ? t.event : ""}};
      // Only a notified change carries its notification (a partition's thousand unreachable
      // workers would otherwise ship and parse a payload each for nothing).
      if (notify) {
        row["severity"] = severity_of(t.event);
        row["title"] = title_of(t);
        row["payload"] = json::parse(notification_payload(t, o));
      }
      rows.push_back(std::move(row));
    }
    auto r = tx.exec_params1(kApply, rows.dump());
    out.changed = r[0].as<std::int64_t>();
    out.notified += r[1].as<std::int64_t>();
  }
  if (out.notified > 0) tx.exec("SELECT pg_notify('fleet_notifications', '')");
  return out;
}

std::int64_t prune_history(pqxx::transaction_base& tx, const MonitorOptions& o) {
  return static_cast<std::int64_t>(
      tx.exec_params(kPrune, o.history_retention.count(), o.history_batch).affected_rows());
}

std::int64_t count_expired_history(pqxx::transaction_base& tx, const MonitorOptions& o) {
  return tx.exec_params1(kCountExpired, o.history_retention.count())[0].as<std::int64_t>();
}

}  // namespace fleet::heartbeat
