#include "dispatch/command_store.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "dispatch/hiveos_command.h"
#include "dispatch/relay_plan.h"

namespace fleet::dispatch {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

// Only one dispatcher decides at a time, so the limits count every replica's sends.
constexpr const char* kDecideLock =
    "SELECT pg_advisory_xact_lock(hashtext('fleet.action-dispatcher'))";

const char* const kExpire = R"SQL(
UPDATE commands
   SET state = 'expired', finished_at = now(), held_reason = NULL,
       last_error = CASE WHEN last_error IS NULL
                         THEN 'expired before it could be carried out'
                         ELSE 'expired before it could be carried out; last error: ' || last_error END
 WHERE state = 'queued' AND expires_at <= now()
)SQL";

const char* const kRequeueClaimed = R"SQL(
UPDATE commands
   SET state = 'queued', lease_expires_at = NULL,
       last_error = 'claimed by ' || claimed_by || ', which stopped before sending it; queued again'
 WHERE state = 'claimed' AND lease_expires_at < now()
)SQL";

const char* const kLostSent = R"SQL(
SELECT id, action, params::text, claimed_by FROM commands
 WHERE state = 'sent' AND lease_expires_at < now()
 ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED
)SQL";

const char* const kCandidates = R"SQL(
SELECT c.id, c.worker_id, w.name, w.kind, coalesce(w.site, ''), c.action, c.params::text, c.channel,
       c.attempts, c.max_attempts, host(w.ip), m.port, m.mac::text, m.api_key_enc, m.unlock_pass_enc,
       rm.controller_id, rc.name, rc.driver, rc.topic, rm.channel, rm.wiring, rm.pulse_ms,
       rm.hold_ms, rm.off_ms,
       r.account_id, ha.name, ha.base_url, ha.token_enc, ha.enabled, ha.exec_enabled,
       r.hiveos_farm_id, r.hiveos_worker_id, r.removed_at IS NOT NULL
  FROM commands c
  JOIN workers w ON w.id = c.worker_id
  LEFT JOIN miners m ON m.worker_id = c.worker_id
  LEFT JOIN relay_mappings rm ON rm.worker_id = c.worker_id
  LEFT JOIN relay_controllers rc ON rc.id = rm.controller_id
  LEFT JOIN rigs r ON r.worker_id = c.worker_id AND c.channel = 'hiveos'
  LEFT JOIN hiveos_accounts ha ON ha.id = r.account_id
 WHERE c.state = 'queued' AND c.not_before <= now() AND c.expires_at > now()
   AND c.channel IN (SELECT jsonb_array_elements_text($1::jsonb))
 ORDER BY c.not_before, c.id
 LIMIT $2
)SQL";

// Limited actions sent to these workers in the last day (other than the candidates themselves).
const char* const kWorkerHistory = R"SQL(
SELECT worker_id, count(*),
       count(*) FILTER (WHERE action IN ('reboot', 'power_cycle', 'shutdown', 'power_off')
                          AND sent_at > now() - $3 * interval '1 millisecond'),
       (extract(epoch FROM now() - max(sent_at)) * 1000)::bigint
  FROM commands
 WHERE worker_id IN (SELECT (jsonb_array_elements_text($1::jsonb))::bigint)
   AND id NOT IN (SELECT (jsonb_array_elements_text($2::jsonb))::bigint)
   AND action <> 'find_miner' AND sent_at > now() - interval '24 hours'
 GROUP BY worker_id
)SQL";

// Per site: workers, unreachable ones, and heartbeat-monitor's open partition hold (site_holds).
const char* const kSites = R"SQL(
SELECT s.site, s.workers, s.unreachable,
       (SELECT to_char(h.held_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
          FROM site_holds h WHERE h.site = s.site AND h.cleared_at IS NULL)
  FROM (SELECT coalesce(site, '') AS site, count(*) AS workers,
               count(*) FILTER (WHERE status = 'unreachable') AS unreachable
          FROM workers
         WHERE status <> 'removed'
           AND coalesce(site, '') IN (SELECT jsonb_array_elements_text($1::jsonb))
         GROUP BY 1) s
)SQL";

const char* const kSiteSent = R"SQL(
SELECT coalesce(w.site, ''), count(*)
  FROM commands c JOIN workers w ON w.id = c.worker_id
 WHERE c.action <> 'find_miner' AND c.sent_at > now() - $2 * interval '1 millisecond'
   AND coalesce(w.site, '') IN (SELECT jsonb_array_elements_text($1::jsonb))
 GROUP BY 1
)SQL";

const char* const kFleetSent = R"SQL(
SELECT count(*) FROM commands
 WHERE action <> 'find_miner' AND sent_at > now() - $1 * interval '1 millisecond'
)SQL";

const char* const kHold = R"SQL(
UPDATE commands c
   SET not_before = now() + o.ms * interval '1 millisecond', held_reason = o.reason
  FROM jsonb_to_recordset($1::jsonb) AS o(id bigint, ms bigint, reason text)
 WHERE c.id = o.id AND c.state = 'queued'
)SQL";

const char* const kSkip = R"SQL(
UPDATE commands c
   SET state = 'skipped', skip_reason = o.reason, held_reason = NULL, finished_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS o(id bigint, reason text)
 WHERE c.id = o.id AND c.state = 'queued'
)SQL";

// Claimed and marked sent in one statement (queued -> sent), before anything reaches the device.
const char* const kClaimSent = R"SQL(
UPDATE commands
   SET state = 'sent', claimed_by = $2, claimed_at = now(), sent_at = now(),
       lease_expires_at = now() + $3 * interval '1 millisecond', held_reason = NULL,
       attempts = attempts + 1
 WHERE id IN (SELECT (jsonb_array_elements_text($1::jsonb))::bigint) AND state = 'queued'
RETURNING id, attempts
)SQL";

// Rows being recorded at this moment (the recorder's connection) are skipped, not waited for:
// two statements updating the same rows in different orders would deadlock.
const char* const kRenew = R"SQL(
UPDATE commands SET lease_expires_at = now() + $3 * interval '1 millisecond'
 WHERE id IN (SELECT id FROM commands
               WHERE id IN (SELECT (jsonb_array_elements_text($1::jsonb))::bigint)
                 AND state IN ('claimed', 'sent') AND claimed_by = $2
               ORDER BY id FOR UPDATE SKIP LOCKED)
)SQL";

// o.state: succeeded | failed | queued. A retry clears sent_at when nothing reached the device
// (o.reached = false), so the failed attempt does not count against the worker's limits.
const char* const kRecord = R"SQL(
UPDATE commands c
   SET state = o.state,
       finished_at = CASE WHEN o.state = 'queued' THEN NULL ELSE now() END,
       result = o.result,
       last_error = o.error,
       not_before = CASE WHEN o.state = 'queued' THEN now() + o.delay_ms * interval '1 millisecond'
                         ELSE c.not_before END,
       lease_expires_at = NULL,
       sent_at = CASE WHEN o.reached THEN c.sent_at END
  FROM jsonb_to_recordset($1::jsonb)
       AS o(id bigint, state text, result jsonb, error text, delay_ms bigint, reached boolean)
 WHERE c.id = o.id AND c.state IN ('claimed', 'sent') AND c.claimed_by = $2
)SQL";

const char* const kStoreKey = R"SQL(
UPDATE miners SET api_key_enc = o.key, api_key_state = 'active', api_key_updated_at = now()
  FROM jsonb_to_recordset($1::jsonb) AS o(worker_id bigint, key text)
 WHERE miners.worker_id = o.worker_id
)SQL";

const char* const kNotify = R"SQL(
INSERT INTO notifications (source, event, severity, title, body, worker_id, payload, dedupe_key)
SELECT 'action-dispatcher', o.event, o.severity, o.title, o.body, o.worker_id, o.payload, o.key
  FROM jsonb_to_recordset($1::jsonb)
       AS o(event text, severity text, title text, body text, worker_id bigint, payload jsonb,
            key text)
ON CONFLICT (dedupe_key) DO NOTHING
)SQL";

std::string ids_json(const std::vector<std::int64_t>& ids) {
  return json(ids).dump();
}

std::optional<std::string> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}

CommandJob job_from(const pqxx::row& r) {
  CommandJob j;
  j.id = r[0].as<std::int64_t>();
  j.worker_id = r[1].as<std::int64_t>();
  j.worker_name = r[2].as<std::string>();
  j.worker_kind = r[3].as<std::string>();
  j.action = r[5].as<std::string>();
  j.params_json = r[6].as<std::string>();
  j.channel = r[7].as<std::string>();
  j.attempt = r[8].as<int>() + 1;
  j.max_attempts = r[9].as<int>();
  if (!r[10].is_null() && !r[11].is_null()) {
    j.miner = MinerTarget{.ip = r[10].as<std::string>(),
                          .port = r[11].as<int>(),
                          .mac = r[12].as<std::string>(""),
                          .api_key_enc = opt(r[13]),
                          .unlock_pass_enc = opt(r[14])};
  }
  if (!r[15].is_null()) {
    j.relay = RelayTarget{.controller_id = r[15].as<std::int64_t>(),
                          .controller_name = r[16].as<std::string>(),
                          .driver = r[17].as<std::string>(),
                          .topic = r[18].as<std::string>(),
                          .channel = r[19].as<int>(),
                          .wiring = r[20].as<std::string>(),
                          .pulse_ms = r[21].as<int>(),
                          .hold_ms = r[22].as<int>(),
                          .off_ms = r[23].as<int>()};
  }
  if (!r[24].is_null()) {
    j.hiveos = HiveosTarget{.account_id = r[24].as<std::int64_t>(),
                            .account_name = r[25].as<std::string>(),
                            .base_url = r[26].as<std::string>(),
                            .token_enc = r[27].as<std::string>(),
                            .account_enabled = r[28].as<bool>(),
                            .exec_enabled = r[29].as<bool>(),
                            .farm_id = r[30].as<std::int64_t>(),
                            .worker_id = r[31].as<std::int64_t>(),
                            .removed = r[32].as<bool>()};
  }
  return j;
}

// Refusals that need no limit: the command cannot be carried out as queued.
std::optional<std::string> cannot_send(const CommandJob& j) {
  if (j.channel == "relay") {
    if (!j.relay) {
      return "no relay mapping: worker " + j.worker_name +
             " is not wired to a relay controller channel (map it first)";
    }
    auto plan = relay_plan(j.action, j.params_json, *j.relay);
    if (!plan.ok()) return plan.error().message();
  }
  if (j.channel == "hiveos") return hiveos_refusal(j);
  return std::nullopt;
}

json notification(std::string event, std::string severity, std::string title, std::string body,
                  std::int64_t worker_id, json payload, std::string key) {
  return {{"event", std::move(event)}, {"severity", std::move(severity)},
          {"title", std::move(title)}, {"body", std::move(body)},
          {"worker_id", worker_id},    {"payload", std::move(payload)},
          {"key", std::move(key)}};
}

}  // namespace

milliseconds retry_delay(const StoreOptions& options, int attempt, double unit_random) {
  const double base =
      static_cast<double>(options.retry_initial.count()) * std::pow(2.0, std::max(0, attempt - 1));
  const double capped = std::min(base, static_cast<double>(options.retry_max.count()));
  // Full jitter on the upper half: replicas retrying one burst spread out.
  return milliseconds(static_cast<std::int64_t>(capped * (0.5 + 0.5 * unit_random)));
}

int sweep(pqxx::transaction_base& tx, const StoreOptions&) {
  int changed = static_cast<int>(tx.exec(kExpire).affected_rows());
  changed += static_cast<int>(tx.exec(kRequeueClaimed).affected_rows());
  auto lost = tx.exec(kLostSent);
  std::vector<std::int64_t> again;
  json failed = json::array();
  for (const auto& r : lost) {
    const auto id = r[0].as<std::int64_t>();
    const std::string action = r[1].as<std::string>();
    const std::string owner = r[3].as<std::string>("?");
    if (is_idempotent(action, r[2].as<std::string>())) {
      again.push_back(id);
    } else {
      failed.push_back(
          {{"id", id},
           {"error", "dispatcher " + owner + " stopped after sending " + action +
                         "; whether it was carried out is unknown, and it is not sent twice"},
           {"result", {{"uncertain", true}, {"dispatcher", owner}}}});
    }
  }
  if (!again.empty()) {
    tx.exec_params(
        "UPDATE commands SET state = 'queued', lease_expires_at = NULL, not_before = now(), "
        "last_error = 'dispatcher ' || claimed_by || ' stopped after sending it; sent again "
        "(idempotent)' WHERE id IN (SELECT (jsonb_array_elements_text($1::jsonb))::bigint) "
        "AND state = 'sent'",
        ids_json(again));
  }
  if (!failed.empty()) {
    tx.exec_params(
        "UPDATE commands c SET state = 'failed', finished_at = now(), lease_expires_at = NULL, "
        "last_error = o.error, result = o.result FROM jsonb_to_recordset($1::jsonb) "
        "AS o(id bigint, error text, result jsonb) WHERE c.id = o.id AND c.state = 'sent'",
        failed.dump());
  }
  return changed + static_cast<int>(lost.size());
}

ClaimResult claim(pqxx::transaction_base& tx, const StoreOptions& options,
                  const SafetyLimits& limits, int limit, const Emit& emit) {
  ClaimResult out;
  const bool dry = static_cast<bool>(emit);
  if (!dry) tx.exec(kDecideLock);
  const std::string channels = json(options.channels).dump();
  auto rows = tx.exec_params(std::string(kCandidates) + (dry ? "" : " FOR UPDATE OF c SKIP LOCKED"),
                             channels, limit);
  out.due = static_cast<int>(rows.size());
  if (rows.empty()) return out;

  std::vector<CommandJob> due;
  std::vector<std::string> sites;
  std::vector<std::int64_t> workers, ids;
  due.reserve(rows.size());
  for (const auto& r : rows) {
    due.push_back(job_from(r));
    sites.push_back(r[4].as<std::string>());
    workers.push_back(due.back().worker_id);
    ids.push_back(due.back().id);
  }

  SafetyGate gate(limits);
  for (const auto& r : tx.exec_params(kWorkerHistory, ids_json(workers), ids_json(ids),
                                      limits.reboot_loop_window.count())) {
    WorkerHistory h{.sent_last_day = r[1].as<int>(), .downs_in_loop_window = r[2].as<int>()};
    if (!r[3].is_null()) h.since_last = milliseconds(r[3].as<std::int64_t>());
    gate.set_worker(r[0].as<std::int64_t>(), h);
  }
  std::vector<std::string> unique_sites = sites;
  std::sort(unique_sites.begin(), unique_sites.end());
  unique_sites.erase(std::unique(unique_sites.begin(), unique_sites.end()), unique_sites.end());
  std::unordered_map<std::string, SiteState> site_state;
  for (const auto& r : tx.exec_params(kSites, json(unique_sites).dump())) {
    site_state[r[0].as<std::string>()] = {.workers = r[1].as<int>(),
                                          .unreachable = r[2].as<int>(),
                                          .held_since = r[3].get<std::string>()};
  }
  for (const auto& r :
       tx.exec_params(kSiteSent, json(unique_sites).dump(), limits.site_window.count())) {
    site_state[r[0].as<std::string>()].sent_in_window = r[1].as<int>();
  }
  for (const auto& [site, state] : site_state)
    gate.set_site(site, state);
  gate.set_fleet_sent(tx.exec_params1(kFleetSent, limits.fleet_window.count())[0].as<int>());

  json holds = json::array(), skips = json::array(), notes = json::array();
  std::vector<std::int64_t> claimed;
  std::vector<CommandJob> to_send;
  for (std::size_t i = 0; i < due.size(); ++i) {
    CommandJob& j = due[i];
    Decision d;
    if (auto why = cannot_send(j)) {
      d = {.kind = Decision::Kind::kSkip, .reason = *why};
    } else {
      d = gate.decide({.worker_id = j.worker_id, .site = sites[i], .action = j.action});
    }
    if (dry) {
      static const char* const kNames[] = {"send", "hold", "skip"};
      json line{{"action", "dispatch"},     {"command_id", j.id},
                {"worker_id", j.worker_id}, {"command", j.action},
                {"channel", j.channel},     {"decision", kNames[static_cast<int>(d.kind)]}};
      if (!d.reason.empty()) line["reason"] = d.reason;
      emit(line.dump());
    }
    switch (d.kind) {
      case Decision::Kind::kHold:
        ++out.held;
        holds.push_back({{"id", j.id}, {"ms", d.hold_for.count()}, {"reason", d.reason}});
        break;
      case Decision::Kind::kSkip:
        ++out.skipped;
        skips.push_back({{"id", j.id}, {"reason", d.reason}});
        if (d.reboot_loop) {
          // One notification per worker per loop window.
          const auto bucket = std::chrono::duration_cast<milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count() /
                              std::max<std::int64_t>(1, limits.reboot_loop_window.count());
          notes.push_back(notification(
              "command.reboot_loop", "critical",
              "Reboot loop: " + j.worker_name + " is not taken down again",
              d.reason + ". Command " + std::to_string(j.id) + " (" + j.action +
                  ") was skipped; look at the worker before acting on it again.",
              j.worker_id, {{"command_id", j.id}, {"action", j.action}},
              "reboot_loop:" + std::to_string(j.worker_id) + ":" + std::to_string(bucket)));
        }
        break;
      case Decision::Kind::kSend:
        claimed.push_back(j.id);
        to_send.push_back(std::move(j));
        break;
    }
  }
  if (dry) return out;
  if (!holds.empty()) tx.exec_params(kHold, holds.dump());
  if (!skips.empty()) tx.exec_params(kSkip, skips.dump());
  if (!notes.empty()) tx.exec_params(kNotify, notes.dump());
  if (claimed.empty()) return out;
  std::unordered_map<std::int64_t, int> attempts;
  for (const auto& r :
       tx.exec_params(kClaimSent, ids_json(claimed), options.owner, options.lease.count())) {
    attempts[r[0].as<std::int64_t>()] = r[1].as<int>();
  }
  for (auto& j : to_send) {
    auto it = attempts.find(j.id);
    if (it == attempts.end()) continue;
    j.attempt = it->second;
    j.request_id = "cmd-" + std::to_string(j.id) + "-" + std::to_string(j.attempt);
    out.jobs.push_back(std::move(j));
  }
  return out;
}

void renew(pqxx::transaction_base& tx, const StoreOptions& options,
           const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return;
  tx.exec_params(kRenew, ids_json(ids), options.owner, options.lease.count());
}

void record(pqxx::transaction_base& tx, const StoreOptions& options,
            const std::vector<std::pair<CommandJob, Outcome>>& outcomes) {
  if (outcomes.empty()) return;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  json rows = json::array(), notes = json::array();
  for (const auto& [job, o] : outcomes) {
    json result = json::parse(o.result_json, nullptr, false);
    if (!result.is_object()) result = json::object();
    result["attempt"] = job.attempt;
    json row{{"id", job.id}, {"delay_ms", 0}, {"reached", true}};
    std::string state;
    std::string error = o.reason;
    switch (o.kind) {
      case Outcome::Kind::kSucceeded:
        state = "succeeded";
        break;
      case Outcome::Kind::kFailed:
        state = "failed";
        break;
      case Outcome::Kind::kRetry:
      case Outcome::Kind::kUncertain: {
        const bool again_allowed =
            o.kind == Outcome::Kind::kRetry || is_idempotent(job.action, job.params_json);
        row["reached"] = o.kind != Outcome::Kind::kRetry;
        if (o.kind == Outcome::Kind::kUncertain) result["uncertain"] = true;
        if (!again_allowed) {
          state = "failed";
          error = o.reason + " (" + job.action + " is not sent twice)";
        } else if (job.attempt >= job.max_attempts) {
          state = "failed";
          error = "gave up after " + std::to_string(job.attempt) + " attempts: " + o.reason;
        } else {
          state = "queued";
          row["delay_ms"] = retry_delay(options, job.attempt, unit(rng)).count();
          error = "attempt " + std::to_string(job.attempt) + " of " +
                  std::to_string(job.max_attempts) + ": " + o.reason;
        }
        break;
      }
    }
    row["state"] = state;
    row["result"] = result;
    row["error"] = error.empty() ? json() : json(error);
    rows.push_back(std::move(row));
    if (state == "failed") {
      notes.push_back(notification("command.failed", "warning",
                                   job.action + " on " + job.worker_name + " failed",
                                   "Command " + std::to_string(job.id) + " (" + job.action +
                                       " through " + job.channel + ") failed: " + error,
                                   job.worker_id, {{"command_id", job.id}, {"action", job.action}},
                                   "command:" + std::to_string(job.id) + ":failed"));
    }
  }
  tx.exec_params(kRecord, rows.dump(), options.owner);
  if (!notes.empty()) tx.exec_params(kNotify, notes.dump());
}

int store_new_keys(pqxx::transaction_base& tx,
                   const std::vector<std::pair<CommandJob, Outcome>>& outcomes) {
  std::vector<std::pair<std::int64_t, std::string>> keys;
  for (const auto& [job, o] : outcomes) {
    if (o.new_api_key_enc) keys.emplace_back(job.worker_id, *o.new_api_key_enc);
  }
  if (keys.empty()) return 0;
  // In worker order, like every writer of miners rows, so two writers cannot deadlock.
  std::sort(keys.begin(), keys.end());
  json rows = json::array();
  for (const auto& [worker, key] : keys)
    rows.push_back({{"worker_id", worker}, {"key", key}});
  return static_cast<int>(tx.exec_params(kStoreKey, rows.dump()).affected_rows());
}

}  // namespace fleet::dispatch
