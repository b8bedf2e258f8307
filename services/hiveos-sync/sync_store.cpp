#include "sync_store.h"

#include <pqxx/pqxx>

#include <nlohmann/json.hpp>

#include "db/session.h"

namespace fleet::hiveos_sync {
namespace {

using json = nlohmann::json;

constexpr const char* kAccounts = R"sql(
SELECT id, name, base_url, token_enc, requests_per_minute, burst
  FROM hiveos_accounts WHERE enabled ORDER BY id
)sql";

constexpr const char* kFailing = R"sql(
SELECT coalesce(json_agg(json_build_object(
         'id', id, 'name', name, 'reason', state_reason,
         'since', to_char(state_since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
         ORDER BY id), '[]')::text
  FROM hiveos_accounts WHERE enabled AND state = 'failing'
)sql";

// farms.name is unique: a HiveOS farm whose name another farm row has already (or an earlier one
// of the same batch) is named "<name> (<hiveos id>)".
constexpr const char* kSaveFarms = R"sql(
WITH input AS (
  SELECT t.hid, t.name, row_number() OVER (PARTITION BY t.name ORDER BY t.hid) AS nth
    FROM json_to_recordset($2::json) AS t(hid bigint, name text)
), named AS (
  SELECT i.hid,
         CASE WHEN i.nth > 1
                OR EXISTS (SELECT 1 FROM farms o
                            WHERE o.name = i.name AND o.hiveos_farm_id IS DISTINCT FROM i.hid)
              THEN i.name || ' (' || i.hid || ')' ELSE i.name END AS name
    FROM input i
)
INSERT INTO farms AS f (name, hiveos_farm_id, hiveos_account_id, hiveos_synced_at)
SELECT name, hid, $1, now() FROM named
ON CONFLICT (hiveos_farm_id) DO UPDATE
   SET name = EXCLUDED.name, hiveos_account_id = EXCLUDED.hiveos_account_id,
       hiveos_synced_at = now()
)sql";

// One farm in one statement (prepared, so it is planned once per connection). The workers' JSON
// is parsed once, as json (only the nested values stored as jsonb are converted: a third less
// PostgreSQL CPU than jsonb input), and every write is a data-modifying CTE over it.
// $1 account, $2 the workers (workers_json), $3 the HiveOS farm id, $5 whether metrics also go to
// readings, $6 hiveos.readings_interval and $7 hiveos.latest_refresh in milliseconds, and the live
// workers' metrics as parallel arrays (metric_arrays): $4 hid, $8 metric, $9 value,
// $10 json_value, $11 metadata, $12 ts. Answers (workers created, metrics_latest rows written,
// readings appended).
//   - new workers: a workers row (ids drawn first, so the rigs row names its worker) and a rigs
//     row with the detail;
//   - known workers (looked up by key: `hiveos_worker_id = ANY (...)` keeps the generic plan from
//     hashing every rig of the account, twice, for each farm) are the rest: new ones are those
//     of the input not among them;
//     their name, kind, farm, site, address (renames and farm moves) and, for a live
//     one, last_seen_at moved to its stats_time; unchanged rows are not rewritten, and only a
//     worker removed earlier has its status set (back to pending: the heartbeat-monitor decides
//     from there), so the status triggers run for those alone; their rigs detail is replaced.
//     (`id = ANY (ids)` lets the planner look the farm's workers up by primary key instead of
//     hashing the whole workers table);
//   - metrics_latest: an older sample never overwrites a newer one; a changed value is written,
//     an unchanged one only when its observed_at is due to move (fleet_once_per_window: at most
//     once per $7 per worker, so observed_at lags the stats_time by up to $7 while the value
//     holds). An UPDATE of the stored metrics and an INSERT of the new ones cost less than an
//     upsert of every value;
//   - readings (when $5): a live worker's metrics when due (at most once per $6 per worker,
//     rigs.readings_at the last time); the same stats_time read again adds nothing;
//   - the farm's hiveos_synced_at.
// A stats_time ahead of the database's clock counts as now (a rig's clock is not trusted).
constexpr const char* kSaveFarm = R"sql(
WITH input AS MATERIALIZED (
  SELECT t.hid, t.name, t.kind, t.ip::inet AS ip,
         CASE WHEN t.live THEN least(to_timestamp(t.stats_time), now()) END AS seen_at,
         t.platform, t.units_count, coalesce(t.description, '') AS description,
         coalesce(t.ip_addresses, '{}') AS ip_addresses, t.remote_ip,
         coalesce(t.versions, '{}') AS versions, coalesce(t.gpus, '[]') AS gpus,
         coalesce(t.boards, '[]') AS boards, coalesce(t.hardware, '{}') AS hardware,
         coalesce(t.watchdog, '{}') AS watchdog, coalesce(t.hashrates, '[]') AS hashrates,
         coalesce(t.problems, '{}') AS problems, t.online,
         to_timestamp(t.stats_time) AS stats_time, to_timestamp(t.boot_time) AS boot_time,
         to_timestamp(t.miner_start_time) AS miner_start_time
    FROM json_to_recordset($2::json)
      AS t(hid bigint, name text, kind text, ip text, live boolean, stats_time bigint,
           platform integer, units_count integer, description text, ip_addresses text[],
           remote_ip text, versions jsonb, gpus jsonb, boards jsonb, hardware jsonb,
           watchdog jsonb, hashrates jsonb, problems text[], online boolean, boot_time bigint,
           miner_start_time bigint)
), farm AS (
  SELECT id, coalesce(site, name) AS site FROM farms WHERE hiveos_farm_id = $3
), known AS MATERIALIZED (
  SELECT i.*, r.worker_id, r.readings_at,
         $5 AND i.seen_at IS NOT NULL
           AND fleet_once_per_window(r.worker_id, r.readings_at, i.seen_at, $6) AS history
    FROM input i JOIN rigs r ON r.account_id = $1 AND r.hiveos_worker_id = i.hid
   WHERE r.hiveos_worker_id = ANY (ARRAY(SELECT hid FROM input))
), fresh AS (
  SELECT i.*, nextval(pg_get_serial_sequence('workers', 'id')) AS worker_id,
         $5 AND i.seen_at IS NOT NULL AS history
    FROM input i
   WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.hid = i.hid)
), new_workers AS (
  INSERT INTO workers (id, kind, name, farm_id, site, ip, managed, last_seen_at, status_reason)
  SELECT f.worker_id, f.kind, f.name, farm.id, farm.site, f.ip, true, f.seen_at, 'found in HiveOS'
    FROM fresh f LEFT JOIN farm ON true
), new_rigs AS (
  INSERT INTO rigs (worker_id, account_id, hiveos_worker_id, hiveos_farm_id, platform, units_count,
                    description, ip_addresses, remote_ip, versions, gpus, boards, hardware,
                    watchdog, hashrates, problems, online, stats_time, boot_time,
                    miner_start_time, readings_at)
  SELECT worker_id, $1, hid, $3, platform, units_count, description, ip_addresses, remote_ip,
         versions, gpus, boards, hardware, watchdog, hashrates, problems, online, stats_time,
         boot_time, miner_start_time, CASE WHEN history THEN seen_at END
    FROM fresh
), seen AS (
  UPDATE workers w
     SET name = k.name, kind = k.kind, farm_id = farm.id, site = farm.site, ip = k.ip,
         managed = true, last_seen_at = greatest(w.last_seen_at, k.seen_at)
    FROM known k LEFT JOIN farm ON true
   WHERE w.id = k.worker_id AND w.id = ANY (ARRAY(SELECT worker_id FROM known))
     AND w.status <> 'removed'
     AND ((w.name, w.kind, w.farm_id, w.site, w.ip, w.managed)
            IS DISTINCT FROM (k.name, k.kind, farm.id, farm.site, k.ip, true)
          OR w.last_seen_at IS DISTINCT FROM greatest(w.last_seen_at, k.seen_at))
), back AS (
  UPDATE workers w
     SET name = k.name, kind = k.kind, farm_id = farm.id, site = farm.site, ip = k.ip,
         managed = true, last_seen_at = greatest(w.last_seen_at, k.seen_at),
         status = 'pending', status_reason = 'back in HiveOS'
    FROM known k LEFT JOIN farm ON true
   WHERE w.id = k.worker_id AND w.id = ANY (ARRAY(SELECT worker_id FROM known))
     AND w.status = 'removed'
), rigs_updated AS (
  UPDATE rigs r
     SET hiveos_farm_id = $3, platform = k.platform, units_count = k.units_count,
         description = k.description, ip_addresses = k.ip_addresses, remote_ip = k.remote_ip,
         versions = k.versions, gpus = k.gpus, boards = k.boards, hardware = k.hardware,
         watchdog = k.watchdog, hashrates = k.hashrates, problems = k.problems,
         online = k.online, stats_time = k.stats_time, boot_time = k.boot_time,
         miner_start_time = k.miner_start_time, stale = false, synced_at = now(),
         removed_at = NULL,
         readings_at = CASE WHEN k.history THEN k.seen_at ELSE r.readings_at END
    FROM known k
   WHERE r.worker_id = k.worker_id
), ids AS (
  SELECT hid, worker_id, history FROM known UNION ALL SELECT hid, worker_id, history FROM fresh
), m AS (
  SELECT ids.worker_id, ids.history, t.metric, t.value, t.json_value, t.metadata,
         least(to_timestamp(t.ts), now()) AS ts
    FROM unnest($4::bigint[], $8::text[], $9::float8[], $10::jsonb[], $11::jsonb[],
                $12::bigint[]) AS t(hid, metric, value, json_value, metadata, ts)
    JOIN ids ON ids.hid = t.hid
), latest_updated AS (
  UPDATE metrics_latest l
     SET value = m.value, json_value = m.json_value, observed_at = m.ts
    FROM m
   WHERE l.worker_id = m.worker_id AND l.metric = m.metric
     AND l.observed_at <= m.ts
     AND ((l.value, l.json_value) IS DISTINCT FROM (m.value, m.json_value)
          OR (l.observed_at < m.ts
              AND fleet_once_per_window(l.worker_id, l.observed_at, m.ts, $7)))
  RETURNING 1
), latest_inserted AS (
  INSERT INTO metrics_latest AS l (worker_id, metric, value, json_value, observed_at)
  SELECT worker_id, metric, value, json_value, ts FROM m
   WHERE NOT EXISTS (SELECT 1 FROM metrics_latest x
                      WHERE x.worker_id = m.worker_id AND x.metric = m.metric)
  ON CONFLICT (worker_id, metric) DO UPDATE  -- inserted meanwhile by another writer
     SET value = EXCLUDED.value, json_value = EXCLUDED.json_value,
         observed_at = EXCLUDED.observed_at
   WHERE l.observed_at < EXCLUDED.observed_at
  RETURNING 1
), history AS (
  INSERT INTO readings (worker_id, metric, ts, value, json_value, metadata)
  SELECT worker_id, metric, ts, value, json_value, metadata FROM m
   WHERE history AND ts > now() - interval '1 day'  -- within readings' partitions
  ON CONFLICT DO NOTHING
  RETURNING 1
), farm_synced AS (
  UPDATE farms SET hiveos_synced_at = now(), hiveos_account_id = $1 WHERE hiveos_farm_id = $3
)
SELECT (SELECT count(*) FROM fresh),
       (SELECT count(*) FROM latest_updated) + (SELECT count(*) FROM latest_inserted),
       (SELECT count(*) FROM history)
)sql";

constexpr const char* kFarmSynced = R"sql(
UPDATE farms SET hiveos_synced_at = now(), hiveos_account_id = $1 WHERE hiveos_farm_id = $2
)sql";

constexpr const char* kRemoveMissing = R"sql(
WITH gone AS (
  UPDATE rigs SET removed_at = now(), stale = false
   WHERE account_id = $1 AND removed_at IS NULL
     AND NOT (hiveos_worker_id = ANY ($2::bigint[]))
  RETURNING worker_id
), w AS (
  UPDATE workers SET status = 'removed', status_reason = 'removed from HiveOS'
    FROM gone
   WHERE workers.id = gone.worker_id AND workers.status <> 'removed'
  RETURNING 1
)
SELECT count(*) FROM gone
)sql";

constexpr const char* kAccountOk = R"sql(
UPDATE hiveos_accounts
   SET state = 'ok', state_reason = '',
       state_since = CASE WHEN state <> 'ok' THEN now() ELSE state_since END,
       last_sync_at = now(), farms = $2, workers = $3, consecutive_errors = 0
 WHERE id = $1
)sql";

constexpr const char* kAccountFailing = R"sql(
UPDATE hiveos_accounts
   SET state = 'failing', state_reason = left($2, 1000),
       state_since = CASE WHEN state <> 'failing' THEN now() ELSE state_since END,
       consecutive_errors = consecutive_errors + 1
 WHERE id = $1
)sql";

constexpr const char* kMarkStale = R"sql(
UPDATE rigs SET stale = true
 WHERE account_id = $1 AND removed_at IS NULL AND NOT stale
   AND NOT (hiveos_worker_id = ANY ($2::bigint[]))
)sql";

constexpr const char* kMissing = R"sql(
SELECT r.hiveos_worker_id, r.worker_id, w.name
  FROM rigs r JOIN workers w ON w.id = r.worker_id
 WHERE r.account_id = $1 AND r.removed_at IS NULL
   AND NOT (r.hiveos_worker_id = ANY ($2::bigint[]))
 ORDER BY r.hiveos_worker_id
)sql";

// Cuts a UTF-8 string to at most `max` bytes without splitting a character.
std::string cut(const std::string& s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  return s.substr(0, n);
}

}  // namespace

std::string id_array(const std::set<std::int64_t>& ids) {
  std::string s = "{";
  for (auto id : ids) {
    if (s.size() > 1) s += ',';
    s += std::to_string(id);
  }
  return s + "}";
}

std::vector<Account> load_accounts(pqxx::transaction_base& tx) {
  std::vector<Account> out;
  for (const auto& row : tx.exec(kAccounts)) {
    out.push_back({.id = row[0].as<std::int64_t>(),
                   .name = row[1].as<std::string>(),
                   .base_url = row[2].as<std::string>(),
                   .token_enc = row[3].as<std::string>(),
                   .requests_per_minute = row[4].as<double>(),
                   .burst = row[5].as<int>()});
  }
  return out;
}

std::string failing_accounts_json(pqxx::transaction_base& tx) {
  return tx.exec1(kFailing)[0].as<std::string>();
}

std::vector<MissingRig> missing_rigs(pqxx::transaction_base& tx, std::int64_t account_id,
                                     const std::set<std::int64_t>& seen) {
  std::vector<MissingRig> out;
  for (const auto& row : tx.exec_params(kMissing, account_id, id_array(seen))) {
    out.push_back({row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), row[2].as<std::string>()});
  }
  return out;
}

void PgSink::save_farms(const Account& account, const std::vector<hiveos::Farm>& farms) {
  if (farms.empty()) return;
  json rows = json::array();
  for (const auto& f : farms) {
    const std::string name = cut(f.name, 170);
    rows.push_back(
        {{"hid", f.id}, {"name", name.empty() ? "HiveOS farm " + std::to_string(f.id) : name}});
  }
  const std::string text = rows.dump(-1, ' ', false, json::error_handler_t::replace);
  session_.transact(
      [&](pqxx::transaction_base& tx) { tx.exec_params0(kSaveFarms, account.id, text); });
}

FarmWrite PgSink::save_farm(const Account& account, const hiveos::Farm& farm,
                            const std::vector<WorkerRow>& rows) {
  if (rows.empty()) {
    session_.transact(
        [&](pqxx::transaction_base& tx) { tx.exec_params0(kFarmSynced, account.id, farm.id); });
    return {};
  }
  const std::string workers = workers_json(rows);
  const MetricArrays m = metric_arrays(rows);
  return session_.transact([&](pqxx::transaction_base& tx) {
    tx.conn().prepare("hiveos_save_farm", kSaveFarm);
    const pqxx::row r = tx.exec_prepared1(
        "hiveos_save_farm", account.id, workers, farm.id, m.hids, policy_.readings,
        static_cast<std::int64_t>(policy_.readings_interval.count()),
        static_cast<std::int64_t>(policy_.latest_refresh.count()), m.names, m.values, m.json_values,
        m.metadata, m.ts);
    return FarmWrite{.workers = static_cast<std::int64_t>(rows.size()),
                     .created = r[0].as<std::int64_t>(),
                     .metrics = r[1].as<std::int64_t>(),
                     .readings = r[2].as<std::int64_t>()};
  });
}

std::int64_t PgSink::finish_ok(const Account& account, const std::set<std::int64_t>& seen,
                               std::int64_t farms) {
  return session_.transact([&](pqxx::transaction_base& tx) {
    const auto removed =
        tx.exec_params1(kRemoveMissing, account.id, id_array(seen))[0].as<std::int64_t>();
    tx.exec_params0(kAccountOk, account.id, farms, static_cast<std::int64_t>(seen.size()));
    return removed;
  });
}

void PgSink::finish_failing(const Account& account, const std::string& reason,
                            const std::set<std::int64_t>& seen) {
  session_.transact([&](pqxx::transaction_base& tx) {
    tx.exec_params0(kAccountFailing, account.id, reason);
    tx.exec_params0(kMarkStale, account.id, id_array(seen));
  });
}

}  // namespace fleet::hiveos_sync
