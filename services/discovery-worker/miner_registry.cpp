#include "miner_registry.h"

#include <regex>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/strings.h"
#include "firmware/parse.h"

namespace fleet::discovery {

namespace {

using json = nlohmann::json;

constexpr const char* kKnownMiners = R"sql(
SELECT m.worker_id, m.mac::text, host(w.ip), m.model_alias, m.api_key_state, m.api_key_enc,
       m.unlock_pass_enc, (m.provision_after IS NULL OR m.provision_after <= now())
  FROM miners m JOIN workers w ON w.id = m.worker_id
)sql";

constexpr const char* kModels = R"sql(
SELECT alias, extract(epoch FROM presets_updated_at), jsonb_array_length(presets) > 0 FROM models
)sql";

constexpr const char* kOpenRescans = R"sql(
SELECT r.id, r.worker_id, host(w.ip), m.mac::text, r.target::text
  FROM miner_rescan_requests r
  LEFT JOIN workers w ON w.id = r.worker_id
  LEFT JOIN miners m ON m.worker_id = r.worker_id
 WHERE r.handled_at IS NULL
 ORDER BY r.id
 LIMIT 1000
)sql";

// Every alias a miner reports gets a row (the miners.model_alias foreign key), named from /info
// until /model says better.
constexpr const char* kEnsureModels = R"sql(
INSERT INTO models (alias, full_name, hr_measure)
SELECT x.alias, x.full_name, x.hr_measure
  FROM jsonb_to_recordset($1::jsonb) AS x(alias text, full_name text, hr_measure text)
ON CONFLICT (alias) DO NOTHING
)sql";

constexpr const char* kUpsertModels = R"sql(
INSERT INTO models AS md (alias, full_name, algorithm, series, hr_measure, chips_per_chain,
                          num_chains, presets, presets_updated_at)
SELECT x.alias, x.full_name, x.algorithm, x.series, x.hr_measure, x.chips_per_chain, x.num_chains,
       COALESCE(x.presets, '[]'::jsonb), CASE WHEN x.presets IS NULL THEN NULL ELSE now() END
  FROM jsonb_to_recordset($1::jsonb) AS x(alias text, full_name text, algorithm text, series text,
                                           hr_measure text, chips_per_chain int, num_chains int,
                                           presets jsonb)
ON CONFLICT (alias) DO UPDATE
   SET full_name = EXCLUDED.full_name,
       algorithm = COALESCE(EXCLUDED.algorithm, md.algorithm),
       series = COALESCE(EXCLUDED.series, md.series),
       hr_measure = COALESCE(EXCLUDED.hr_measure, md.hr_measure),
       chips_per_chain = COALESCE(EXCLUDED.chips_per_chain, md.chips_per_chain),
       num_chains = COALESCE(EXCLUDED.num_chains, md.num_chains),
       presets = CASE WHEN EXCLUDED.presets_updated_at IS NULL THEN md.presets
                      ELSE EXCLUDED.presets END,
       presets_updated_at = COALESCE(EXCLUDED.presets_updated_at, md.presets_updated_at)
)sql";

// New MACs: a workers row and its miners row in one statement (ids drawn first so both rows
// carry the same one).
constexpr const char* kInsertNew = R"sql(
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(
      mac macaddr, ip inet, name text, model_alias text, miner_name text, hostname text,
      serial text, fw_name text, fw_version text, hr_measure text, platform text)
), fresh AS (
  SELECT i.*, nextval(pg_get_serial_sequence('workers', 'id')) AS id
    FROM input i
   WHERE NOT EXISTS (SELECT 1 FROM miners m WHERE m.mac = i.mac)
), new_workers AS (
  INSERT INTO workers (id, kind, name, ip, status, last_seen_at, managed)
  SELECT id, 'asic', name, ip, 'online', now(), $2 FROM fresh
)
INSERT INTO miners (worker_id, mac, model_alias, miner_name, hostname, serial, fw_name,
                    fw_version, hr_measure, platform, port, last_discovered_at)
SELECT id, mac, model_alias, miner_name, hostname, serial, fw_name, fw_version, hr_measure,
       platform, $3, now()
  FROM fresh
)sql";

constexpr const char* kUpdateSeenMiners = R"sql(
UPDATE miners m
   SET model_alias = COALESCE(x.model_alias, m.model_alias),
       miner_name = x.miner_name, hostname = x.hostname, serial = x.serial, fw_name = x.fw_name,
       fw_version = x.fw_version, hr_measure = x.hr_measure, platform = x.platform, port = $2,
       last_discovered_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS x(
      mac macaddr, ip inet, name text, model_alias text, miner_name text, hostname text,
      serial text, fw_name text, fw_version text, hr_measure text, platform text)
 WHERE m.mac = x.mac
)sql";

// Seen again: its (possibly new) IP, and online again if discovery had marked it away.
constexpr const char* kUpdateSeenWorkers = R"sql(
UPDATE workers w
   SET ip = x.ip,
       status = CASE WHEN w.status IN ('offline', 'unreachable', 'pending') THEN 'online'
                     ELSE w.status END,
       status_reason = CASE WHEN w.status IN ('offline', 'unreachable', 'pending')
                            THEN 'found again by the network scan' ELSE w.status_reason END,
       last_seen_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS x(mac macaddr, ip inet), miners m
 WHERE m.mac = x.mac AND w.id = m.worker_id AND w.status <> 'removed'
)sql";

// The lock order of libs/asic/src/miner_claims.cpp (status-poller, telemetry-worker): the workers
// rows this write may touch (the seen miners', and those in the swept networks) in ascending id,
// then the seen miners rows in ascending worker_id, before any is changed.
constexpr const char* kLockRows = R"sql(
SELECT (SELECT count(*) FROM (SELECT 1 FROM workers w JOIN miners m ON m.worker_id = w.id
                               WHERE m.mac = ANY ($1::macaddr[])
                                  OR (w.kind = 'asic' AND w.ip <<= ANY ($2::cidr[]))
                               ORDER BY w.id FOR NO KEY UPDATE OF w) w),
       (SELECT count(*) FROM (SELECT 1 FROM miners WHERE mac = ANY ($1::macaddr[])
                               ORDER BY worker_id FOR NO KEY UPDATE) m)
)sql";

// Known miners with an IP in the swept networks that did not answer this cycle.
constexpr const char* kCountGone = R"sql(
SELECT count(*) FILTER (WHERE NOT (m.mac = ANY ($2::macaddr[]))), count(*)
  FROM workers w JOIN miners m ON m.worker_id = w.id
 WHERE w.kind = 'asic' AND w.ip IS NOT NULL AND w.status <> 'removed'
   AND w.ip <<= ANY ($1::cidr[]) AND NOT (host(w.ip) = ANY ($3::text[]))
)sql";

// Seed 003: a miner missing from the scan is offline, its IP NULL.
constexpr const char* kMarkOffline = R"sql(
UPDATE workers w SET ip = NULL, status = 'offline',
       status_reason = 'did not answer the network scan of its subnet'
  FROM miners m
 WHERE m.worker_id = w.id AND w.kind = 'asic' AND w.ip IS NOT NULL AND w.status <> 'removed'
   AND w.ip <<= ANY ($1::cidr[]) AND NOT (m.mac = ANY ($2::macaddr[]))
   AND NOT (host(w.ip) = ANY ($3::text[]))
)sql";

// DESIGN §6: when most vanished at once, suspect our network: keep their IPs, mark unreachable.
constexpr const char* kMarkUnreachable = R"sql(
UPDATE workers w SET status = 'unreachable',
       status_reason = 'did not answer the network scan, with most of its subnet: our own network is suspected'
  FROM miners m
 WHERE m.worker_id = w.id AND w.kind = 'asic' AND w.ip IS NOT NULL
   AND w.status NOT IN ('removed', 'unreachable')
   AND w.ip <<= ANY ($1::cidr[]) AND NOT (m.mac = ANY ($2::macaddr[]))
   AND NOT (host(w.ip) = ANY ($3::text[]))
)sql";

constexpr const char* kStoreKeys = R"sql(
UPDATE miners m
   SET api_key_enc = x.key_enc, api_key_state = 'active', api_key_updated_at = now(),
       provision_failures = 0, provision_error = NULL, provision_after = NULL
  FROM jsonb_to_recordset($1::jsonb) AS x(mac macaddr, key_enc text)
 WHERE m.mac = x.mac
)sql";

constexpr const char* kKeysVerified = R"sql(
UPDATE miners SET api_key_state = 'active'
 WHERE mac = ANY ($1::macaddr[]) AND api_key_state <> 'active'
)sql";

constexpr const char* kProvisionFailed = R"sql(
UPDATE miners m
   SET provision_failures = m.provision_failures + 1,
       provision_error = x.error,
       provision_after = now() + LEAST(interval '1 minute' * power(2, LEAST(m.provision_failures, 12)),
                                       $2 * interval '1 millisecond')
  FROM jsonb_to_recordset($1::jsonb) AS x(mac macaddr, error text)
 WHERE m.mac = x.mac
)sql";

constexpr const char* kResetPolls = R"sql(
UPDATE miners
   SET next_poll_at = now(), next_telemetry_at = now(), consecutive_failures = 0,
       telemetry_failures = 0
 WHERE mac = ANY ($1::macaddr[])
)sql";

constexpr const char* kCloseRescans = R"sql(
UPDATE miner_rescan_requests r
   SET handled_at = now(), handled_by = $2, outcome = x.outcome
  FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, outcome text)
 WHERE r.id = x.id AND r.handled_at IS NULL
)sql";

// {a,b,c} for a bound array parameter; every element is text we produced (MACs, CIDRs).
std::string array_literal(const std::vector<std::string>& items) {
  return "{" + join(items, ",") + "}";
}

std::optional<std::string> measure_of(const std::string& hr_measure) {
  if (hr_measure.empty()) return std::nullopt;
  return firmware::hash_measure_of(hr_measure) == firmware::HashMeasure::kMhs ? "MH/s" : "GH/s";
}

json nullable(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

json presets_json(const std::vector<firmware::Preset>& presets) {
  json out = json::array();
  for (const auto& p : presets) {
    json j = {{"name", p.name},
              {"pretty", p.pretty},
              {"tuned", p.tuned},
              {"modded_psu_required", p.modded_psu_required}};
    if (p.power_w) j["power_w"] = *p.power_w;
    if (p.hashrate_ths) j["hashrate_ths"] = *p.hashrate_ths;
    out.push_back(std::move(j));
  }
  return out;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string full_name_of(const std::string& name, const std::string& alias) {
  std::string out(trim(name));
  if (out.empty()) out = alias;
  if (out.size() > 200) out.resize(200);
  return sanitize_utf8(out);
}

}  // namespace

bool valid_model_alias(const std::string& alias) {
  static const std::regex pattern("^[a-z0-9][a-z0-9 ._+-]{0,63}$");
  return std::regex_match(alias, pattern);
}

std::map<std::string, KnownMiner> load_known_miners(pqxx::transaction_base& tx) {
  std::map<std::string, KnownMiner> out;
  for (const auto& row : tx.exec(kKnownMiners)) {
    KnownMiner m;
    m.worker_id = row[0].as<std::int64_t>();
    m.mac = row[1].as<std::string>();
    m.ip = row[2].get<std::string>();
    m.model_alias = row[3].get<std::string>();
    m.api_key_state = row[4].as<std::string>();
    m.api_key_enc = row[5].get<std::string>();
    m.unlock_pass_enc = row[6].get<std::string>();
    m.may_provision = row[7].as<bool>();
    out.emplace(m.mac, std::move(m));
  }
  return out;
}

std::map<std::string, KnownModel> load_models(pqxx::transaction_base& tx) {
  std::map<std::string, KnownModel> out;
  for (const auto& row : tx.exec(kModels)) {
    KnownModel m;
    m.alias = row[0].as<std::string>();
    if (auto epoch = row[1].get<double>()) {
      m.presets_updated_at = std::chrono::system_clock::time_point(
          std::chrono::microseconds(static_cast<std::int64_t>(*epoch * 1e6)));
    }
    m.has_presets = row[2].as<bool>();
    out.emplace(m.alias, std::move(m));
  }
  return out;
}

std::vector<RescanRequest> open_rescan_requests(pqxx::transaction_base& tx) {
  std::vector<RescanRequest> out;
  for (const auto& row : tx.exec(kOpenRescans)) {
    out.push_back({row[0].as<std::int64_t>(), row[1].get<std::int64_t>(), row[2].get<std::string>(),
                   row[3].get<std::string>(), row[4].get<std::string>()});
  }
  return out;
}

RegistryChanges apply_discovery(pqxx::transaction_base& tx, const DiscoveryWrite& w) {
  RegistryChanges changes;
  // 1. Models: a row for every alias seen, then what /model and the presets said.
  json ensure = json::array();
  std::set<std::string> aliases;
  for (const auto& m : w.seen) {
    if (!valid_model_alias(m.info.model) || !aliases.insert(m.info.model).second) continue;
    ensure.push_back({{"alias", m.info.model},
                      {"full_name", full_name_of(m.info.miner, m.info.model)},
                      {"hr_measure", nullable(measure_of(m.info.hr_measure))}});
  }
  if (!ensure.empty()) tx.exec_params0(kEnsureModels, dump(ensure));
  json models = json::array();
  for (const auto& u : w.models) {
    if (!valid_model_alias(u.model.alias)) continue;
    json j = {
        {"alias", u.model.alias},
        {"full_name", full_name_of(u.model.full_name, u.model.alias)},
        {"algorithm", u.model.algorithm.empty() ? json(nullptr) : json(u.model.algorithm)},
        {"series", u.model.series.empty() ? json(nullptr) : json(u.model.series)},
        {"hr_measure", nullable(measure_of(u.model.hr_measure))},
        {"chips_per_chain", u.model.chips_per_chain ? json(*u.model.chips_per_chain) : json()},
        {"num_chains", u.model.num_chains ? json(*u.model.num_chains) : json()},
        {"presets", u.presets ? presets_json(*u.presets) : json()}};
    models.push_back(std::move(j));
  }
  if (!models.empty())
    changes.models =
        static_cast<std::int64_t>(tx.exec_params(kUpsertModels, dump(models)).affected_rows());

  // 2. Miners seen: new ones inserted, known ones refreshed (IP changes followed here).
  json seen = json::array();
  std::vector<std::string> macs;
  for (const auto& m : w.seen) {
    const auto& i = m.info;
    macs.push_back(*i.mac);
    seen.push_back({{"mac", *i.mac},
                    {"ip", m.ip},
                    {"name", worker_name(i)},
                    {"model_alias", valid_model_alias(i.model) ? json(i.model) : json()},
                    {"miner_name", i.miner},
                    {"hostname", nullable(i.hostname)},
                    {"serial", i.serial},
                    {"fw_name", i.fw_name},
                    {"fw_version", i.fw_version},
                    {"hr_measure", measure_of(i.hr_measure).value_or("GH/s")},
                    {"platform", i.platform}});
  }
  const std::string seen_json = dump(seen);
  // Lock order: the workers rows, then the miners rows, each in ascending id, as status-poller
  // and telemetry-worker record their batches (kLockRows). Without it a discovery write and a
  // poller's batch of the same miners deadlocked.
  tx.exec_params(kLockRows, array_literal(macs), array_literal(w.swept_networks));
  if (!w.seen.empty()) {
    changes.inserted = static_cast<std::int64_t>(
        tx.exec_params(kInsertNew, seen_json, w.manage_new, w.port).affected_rows());
    tx.exec_params0(kUpdateSeenWorkers, seen_json);
  }

  // 3. Miners in the swept networks that did not answer (workers rows: before any miners row).
  if (!w.swept_networks.empty()) {
    const std::string nets = array_literal(w.swept_networks);
    const std::string seen_macs = array_literal(macs);
    const std::string unanswered = array_literal(w.unanswered_ips);
    auto count = tx.exec_params1(kCountGone, nets, seen_macs, unanswered);
    const auto gone = count[0].as<std::int64_t>();
    const auto known = count[1].as<std::int64_t>();
    const bool partition =
        gone >= 3 && static_cast<double>(gone) > w.partition_share * static_cast<double>(known);
    if (gone > 0 && partition) {
      changes.unreachable = static_cast<std::int64_t>(
          tx.exec_params(kMarkUnreachable, nets, seen_macs, unanswered).affected_rows());
    } else if (gone > 0) {
      changes.went_offline = static_cast<std::int64_t>(
          tx.exec_params(kMarkOffline, nets, seen_macs, unanswered).affected_rows());
    }
  }

  // 4. The seen miners' details and API keys.
  if (!w.seen.empty()) {
    changes.updated = static_cast<std::int64_t>(
                          tx.exec_params(kUpdateSeenMiners, seen_json, w.port).affected_rows()) -
                      changes.inserted;
  }

  json stored = json::array(), failed = json::array();
  std::vector<std::string> verified;
  for (const auto& k : w.keys) {
    if (k.key_enc) stored.push_back({{"mac", k.mac}, {"key_enc", *k.key_enc}});
    if (k.verified) verified.push_back(k.mac);
    if (k.error) failed.push_back({{"mac", k.mac}, {"error", *k.error}});
  }
  if (!stored.empty()) {
    changes.keys_stored =
        static_cast<std::int64_t>(tx.exec_params(kStoreKeys, dump(stored)).affected_rows());
  }
  if (!verified.empty()) tx.exec_params0(kKeysVerified, array_literal(verified));
  if (!failed.empty()) {
    changes.provision_failed = static_cast<std::int64_t>(
        tx.exec_params(kProvisionFailed, dump(failed),
                       static_cast<long long>(w.provision_backoff_max.count()))
            .affected_rows());
  }

  // 5. Rescans.
  if (!w.reset_poll_macs.empty()) {
    tx.exec_params0(kResetPolls,
                    array_literal({w.reset_poll_macs.begin(), w.reset_poll_macs.end()}));
  }
  if (!w.handled_rescans.empty()) {
    json handled = json::array();
    for (const auto& [id, outcome] : w.handled_rescans) {
      handled.push_back({{"id", id}, {"outcome", outcome}});
    }
    tx.exec_params0(kCloseRescans, dump(handled), w.instance);
  }
  return changes;
}

}  // namespace fleet::discovery
