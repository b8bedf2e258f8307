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
    FROM jsonb_to_recordset($2::jsonb) AS t(hid bigint, name text)
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

constexpr const char* kInput = R"sql(
  SELECT * FROM jsonb_to_recordset($2::jsonb)
    AS t(hid bigint, name text, kind text, ip text, live boolean, stats_time bigint,
         platform integer, units_count integer, description text, ip_addresses text[],
         remote_ip text, versions jsonb, gpus jsonb, boards jsonb, hardware jsonb, watchdog jsonb,
         hashrates jsonb, problems text[], online boolean, boot_time bigint,
         miner_start_time bigint)
)sql";

// Workers new to fleetward: a workers row (ids drawn first, so each rigs row names its worker)
// and its rigs row. $1 account, $2 the rows, $3 the HiveOS farm id.
const std::string kCreate = std::string(R"sql(
WITH input AS ()sql") + kInput +
                            R"sql(),
farm AS (
  SELECT id, coalesce(site, name) AS site FROM farms WHERE hiveos_farm_id = $3
), fresh AS (
  SELECT i.hid, i.name, i.kind, i.ip, i.live, i.stats_time,
         nextval(pg_get_serial_sequence('workers', 'id')) AS wid
    FROM input i
   WHERE NOT EXISTS (SELECT 1 FROM rigs r WHERE r.account_id = $1 AND r.hiveos_worker_id = i.hid)
), w AS (
  INSERT INTO workers (id, kind, name, farm_id, site, ip, managed, last_seen_at, status_reason)
  SELECT f.wid, f.kind, f.name, farm.id, farm.site, f.ip::inet, true,
         CASE WHEN f.live THEN least(to_timestamp(f.stats_time), now()) END, 'found in HiveOS'
    FROM fresh f LEFT JOIN farm ON true
  RETURNING id
)
INSERT INTO rigs (worker_id, account_id, hiveos_worker_id, hiveos_farm_id)
SELECT wid, $1, hid, $3 FROM fresh
)sql";

// Every listed worker: name, kind, farm, site, address (renames and farm moves), a worker
// removed earlier is back (pending, the heartbeat-monitor decides from there), and a live one
// was seen at its stats_time. Unchanged rows are not rewritten.
const std::string kUpdateWorkers = std::string(R"sql(
WITH input AS ()sql") + kInput + R"sql(),
farm AS (
  SELECT id, coalesce(site, name) AS site FROM farms WHERE hiveos_farm_id = $3
), target AS (
  SELECT r.worker_id, i.name, i.kind, i.ip::inet AS ip, farm.id AS farm_id, farm.site,
         CASE WHEN i.live THEN least(to_timestamp(i.stats_time), now()) END AS seen_at
    FROM input i
    JOIN rigs r ON r.account_id = $1 AND r.hiveos_worker_id = i.hid
    LEFT JOIN farm ON true
)
UPDATE workers w
   SET name = t.name, kind = t.kind, farm_id = t.farm_id, site = t.site, ip = t.ip, managed = true,
       last_seen_at = greatest(w.last_seen_at, t.seen_at),
       status = CASE WHEN w.status = 'removed' THEN 'pending' ELSE w.status END,
       status_reason = CASE WHEN w.status = 'removed' THEN 'back in HiveOS' ELSE w.status_reason END
  FROM target t
 WHERE w.id = t.worker_id
   AND ((w.name, w.kind, w.farm_id, w.site, w.ip, w.managed, w.status)
          IS DISTINCT FROM (t.name, t.kind, t.farm_id, t.site, t.ip, true,
                            CASE WHEN w.status = 'removed' THEN 'pending' ELSE w.status END)
        OR w.last_seen_at IS DISTINCT FROM greatest(w.last_seen_at, t.seen_at))
)sql";

const std::string kUpdateRigs = std::string(R"sql(
WITH input AS ()sql") + kInput + R"sql()
UPDATE rigs r
   SET hiveos_farm_id = $3, platform = i.platform, units_count = i.units_count,
       description = coalesce(i.description, ''), ip_addresses = coalesce(i.ip_addresses, '{}'),
       remote_ip = i.remote_ip, versions = coalesce(i.versions, '{}'),
       gpus = coalesce(i.gpus, '[]'), boards = coalesce(i.boards, '[]'),
       hardware = coalesce(i.hardware, '{}'), watchdog = coalesce(i.watchdog, '{}'),
       hashrates = coalesce(i.hashrates, '[]'), problems = coalesce(i.problems, '{}'),
       online = i.online, stats_time = to_timestamp(i.stats_time),
       boot_time = to_timestamp(i.boot_time), miner_start_time = to_timestamp(i.miner_start_time),
       stale = false, synced_at = now(), removed_at = NULL
  FROM input i
 WHERE r.account_id = $1 AND r.hiveos_worker_id = i.hid
)sql";

// The live workers' metrics: metrics_latest (an older sample never overwrites a newer one) and,
// when $3, readings (the same stats_time read again adds nothing). A stats_time ahead of the
// database's clock counts as now (a rig's clock is not trusted to be right).
constexpr const char* kMetrics = R"sql(
WITH m AS (
  SELECT r.worker_id, t.metric, t.value, t.json_value, t.metadata,
         least(to_timestamp(t.ts), now()) AS ts
    FROM jsonb_to_recordset($2::jsonb)
      AS t(hid bigint, metric text, value float8, json_value jsonb, metadata jsonb, ts bigint)
    JOIN rigs r ON r.account_id = $1 AND r.hiveos_worker_id = t.hid
), latest AS (
  INSERT INTO metrics_latest AS l (worker_id, metric, value, json_value, observed_at)
  SELECT worker_id, metric, value, json_value, ts FROM m
  ON CONFLICT (worker_id, metric) DO UPDATE
     SET value = EXCLUDED.value, json_value = EXCLUDED.json_value,
         observed_at = EXCLUDED.observed_at
   WHERE l.observed_at <= EXCLUDED.observed_at
  RETURNING 1
), history AS (
  INSERT INTO readings (worker_id, metric, ts, value, json_value, metadata)
  SELECT worker_id, metric, ts, value, json_value, metadata FROM m
   WHERE $3 AND ts > now() - interval '1 day'  -- within readings' partitions
  ON CONFLICT DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM latest)
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
  const std::string workers = workers_json(rows);
  const std::string metrics = metrics_json(rows);
  return session_.transact([&](pqxx::transaction_base& tx) {
    FarmWrite w;
    w.workers = static_cast<std::int64_t>(rows.size());
    if (!rows.empty()) {
      w.created = tx.exec_params0(kCreate, account.id, workers, farm.id).affected_rows();
      tx.exec_params0(kUpdateWorkers, account.id, workers, farm.id);
      tx.exec_params0(kUpdateRigs, account.id, workers, farm.id);
      if (metrics != "[]") {
        w.metrics = tx.exec_params1(kMetrics, account.id, metrics, readings_)[0].as<std::int64_t>();
      }
    }
    tx.exec_params0(kFarmSynced, account.id, farm.id);
    return w;
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
