#include "asic/miner_claims.h"

#include <array>

#include <pqxx/pqxx>

#include "asic/copy_rows.h"
#include "db/errors.h"
#include "db/session.h"

namespace fleet::asic {

namespace {

// Seed 003's filter plus "due and not leased", for each loop. The claim locks the miners rows it
// picks (SKIP LOCKED: a concurrent replica takes others) and stamps its lease in one statement.
constexpr const char* kClaimPoll = R"sql(
WITH due AS (
  SELECT m.worker_id
    FROM miners m
    JOIN workers w ON w.id = m.worker_id
    JOIN models md ON md.alias = m.model_alias
   WHERE w.kind = 'asic' AND w.managed AND w.ip IS NOT NULL AND md.max_preset IS NOT NULL
     AND m.next_poll_at <= now()
     AND (m.poll_lease_until IS NULL OR m.poll_lease_until < now())
   ORDER BY m.next_poll_at
   LIMIT $1
   FOR UPDATE OF m SKIP LOCKED)
UPDATE miners m
   SET poll_lease_owner = $2,
       poll_lease_until = now() + $3 * interval '1 millisecond'
  FROM due, workers w, models md
 WHERE m.worker_id = due.worker_id AND w.id = m.worker_id AND md.alias = m.model_alias
RETURNING m.worker_id, host(w.ip), m.port, m.api_key_enc, m.api_key_state, m.unlock_pass_enc,
          m.hr_measure, m.consecutive_failures,
          (m.provision_after IS NULL OR m.provision_after <= now()), md.num_chains,
          m.poll_latency_ms,
          (extract(epoch FROM m.readings_at) * 1000)::bigint, m.mac::text
)sql";

constexpr const char* kClaimTelemetry = R"sql(
WITH due AS (
  SELECT m.worker_id
    FROM miners m
    JOIN workers w ON w.id = m.worker_id
    JOIN models md ON md.alias = m.model_alias
   WHERE w.kind = 'asic' AND w.managed AND w.ip IS NOT NULL AND md.max_preset IS NOT NULL
     AND m.next_telemetry_at <= now()
     AND (m.telemetry_lease_until IS NULL OR m.telemetry_lease_until < now())
   ORDER BY m.next_telemetry_at
   LIMIT $1
   FOR UPDATE OF m SKIP LOCKED)
UPDATE miners m
   SET telemetry_lease_owner = $2,
       telemetry_lease_until = now() + $3 * interval '1 millisecond'
  FROM due, workers w, models md
 WHERE m.worker_id = due.worker_id AND w.id = m.worker_id AND md.alias = m.model_alias
RETURNING m.worker_id, host(w.ip), m.port, m.api_key_enc, m.api_key_state, m.unlock_pass_enc,
          m.hr_measure, m.telemetry_failures,
          (m.provision_after IS NULL OR m.provision_after <= now()), md.num_chains,
          m.poll_latency_ms,
          (extract(epoch FROM m.readings_at) * 1000)::bigint, m.mac::text
)sql";

constexpr const char* kListPoll = R"sql(
SELECT m.worker_id, host(w.ip), m.port, m.api_key_enc, m.api_key_state, m.unlock_pass_enc,
       m.hr_measure, m.consecutive_failures,
       (m.provision_after IS NULL OR m.provision_after <= now()), md.num_chains,
          m.poll_latency_ms,
          (extract(epoch FROM m.readings_at) * 1000)::bigint, m.mac::text
  FROM miners m
  JOIN workers w ON w.id = m.worker_id
  JOIN models md ON md.alias = m.model_alias
 WHERE w.kind = 'asic' AND w.managed AND w.ip IS NOT NULL AND md.max_preset IS NOT NULL
   AND m.next_poll_at <= now()
   AND (m.poll_lease_until IS NULL OR m.poll_lease_until < now())
 ORDER BY m.next_poll_at
 LIMIT $1
)sql";

constexpr const char* kListTelemetry = R"sql(
SELECT m.worker_id, host(w.ip), m.port, m.api_key_enc, m.api_key_state, m.unlock_pass_enc,
       m.hr_measure, m.telemetry_failures,
       (m.provision_after IS NULL OR m.provision_after <= now()), md.num_chains,
          m.poll_latency_ms,
          (extract(epoch FROM m.readings_at) * 1000)::bigint, m.mac::text
  FROM miners m
  JOIN workers w ON w.id = m.worker_id
  JOIN models md ON md.alias = m.model_alias
 WHERE w.kind = 'asic' AND w.managed AND w.ip IS NOT NULL AND md.max_preset IS NOT NULL
   AND m.next_telemetry_at <= now()
   AND (m.telemetry_lease_until IS NULL OR m.telemetry_lease_until < now())
 ORDER BY m.next_telemetry_at
 LIMIT $1
)sql";

// Outcomes arrive by COPY into a session-local table that empties itself at commit.
constexpr const char* kOutcomeTable = R"sql(
CREATE TEMP TABLE IF NOT EXISTS asic_claim_outcomes (
    worker_id       bigint      NOT NULL,
    ok              boolean     NOT NULL,
    observed_at     timestamptz NOT NULL,
    next_at         timestamptz NOT NULL,
    error           text,
    status_id       bigint,
    worker_status   text,
    status_reason   text,
    api_key_enc     text,
    api_key_state   text,
    provision_error text,
    provision_after timestamptz,
    latency_ms      integer,
    readings_at     timestamptz
) ON COMMIT DELETE ROWS;
CREATE INDEX IF NOT EXISTS asic_claim_outcomes_worker_idx ON asic_claim_outcomes (worker_id)
)sql";

// The updates below join the batch to miners on a lease owner whose statistics say "almost always
// NULL", so the planner expects one miner and loops over the batch for each: quadratic in the batch
// size without an index on the batch and statistics that show its real size.
constexpr const char* kAnalyzeOutcomes = "ANALYZE asic_claim_outcomes";

// Lock order of every writer of workers and miners rows (status-poller, telemetry-worker,
// discovery-worker): the workers rows it will touch in ascending id, then the miners rows in
// ascending worker_id, before it changes any. Two writers of the same miners then never wait on
// each other in a cycle. The poller's statement below writes miners before workers (PostgreSQL
// runs an unreferenced data-modifying CTE after the main statement), and an UPDATE ... FROM
// locks its rows in whatever order its join produces, so both are locked here first.
constexpr const char* kLockPollRows = R"sql(
SELECT (SELECT count(*) FROM (SELECT 1 FROM workers
                               WHERE id IN (SELECT worker_id FROM asic_claim_outcomes)
                               ORDER BY id FOR NO KEY UPDATE) w),
       (SELECT count(*) FROM (SELECT 1 FROM miners
                               WHERE worker_id IN (SELECT worker_id FROM asic_claim_outcomes)
                               ORDER BY worker_id FOR NO KEY UPDATE) m)
)sql";

constexpr const char* kLockTelemetryRows = R"sql(
SELECT 1 FROM miners WHERE worker_id IN (SELECT worker_id FROM asic_claim_outcomes)
 ORDER BY worker_id FOR NO KEY UPDATE
)sql";

// One statement for both tables: the workers' update sees the lease that says whose outcome counts
// (the same snapshot as the miners' update, which clears it), and the statement triggers of
// sql/0048 fire once both tables are written, so each miner's list row is written once per poll
// rather than once per table.
constexpr const char* kRecordPoll = R"sql(
WITH worker_updates AS (UPDATE workers w
       SET status = COALESCE(o.worker_status, w.status),
           status_reason = CASE WHEN o.worker_status IS DISTINCT FROM w.status
                                 AND o.worker_status IS NOT NULL
                                THEN NULLIF(o.status_reason, '') ELSE w.status_reason END,
           last_seen_at = CASE WHEN o.ok THEN o.observed_at ELSE w.last_seen_at END
      FROM asic_claim_outcomes o, miners m
     WHERE w.id = o.worker_id AND m.worker_id = o.worker_id AND m.poll_lease_owner = $1
       AND w.status <> 'removed'
       AND (o.ok OR o.worker_status IS DISTINCT FROM w.status)
    RETURNING w.id
)
UPDATE miners m
   SET consecutive_failures = CASE WHEN o.ok THEN 0 ELSE m.consecutive_failures + 1 END,
       next_poll_at = o.next_at,
       poll_lease_owner = NULL,
       poll_lease_until = NULL,
       latest_status_id = COALESCE(o.status_id, m.latest_status_id),
       last_status_at = CASE WHEN o.status_id IS NOT NULL THEN o.observed_at ELSE m.last_status_at END,
       last_poll_error = o.error,
       last_poll_error_at = CASE WHEN o.ok THEN m.last_poll_error_at ELSE o.observed_at END,
       api_key_enc = COALESCE(o.api_key_enc, m.api_key_enc),
       api_key_state = COALESCE(o.api_key_state, m.api_key_state),
       api_key_updated_at = CASE WHEN o.api_key_enc IS NOT NULL THEN o.observed_at
                                 ELSE m.api_key_updated_at END,
       provision_failures = CASE WHEN o.provision_error IS NOT NULL THEN m.provision_failures + 1
                                 WHEN o.api_key_enc IS NOT NULL THEN 0
                                 ELSE m.provision_failures END,
       provision_error = CASE WHEN o.provision_error IS NOT NULL THEN o.provision_error
                              WHEN o.api_key_enc IS NOT NULL THEN NULL
                              ELSE m.provision_error END,
       provision_after = COALESCE(o.provision_after, m.provision_after),
       poll_latency_ms = COALESCE(o.latency_ms, m.poll_latency_ms),
       readings_at = COALESCE(o.readings_at, m.readings_at)
  FROM asic_claim_outcomes o
 WHERE m.worker_id = o.worker_id AND m.poll_lease_owner = $1
)sql";

constexpr const char* kRecordTelemetry = R"sql(
UPDATE miners m
   SET telemetry_failures = CASE WHEN o.ok THEN 0 ELSE m.telemetry_failures + 1 END,
       next_telemetry_at = o.next_at,
       telemetry_lease_owner = NULL,
       telemetry_lease_until = NULL,
       last_telemetry_at = CASE WHEN o.ok THEN o.observed_at ELSE m.last_telemetry_at END,
       last_telemetry_error = o.error
  FROM asic_claim_outcomes o
 WHERE m.worker_id = o.worker_id AND m.telemetry_lease_owner = $1
)sql";

constexpr const char* kReleasePoll = R"sql(
UPDATE miners SET poll_lease_owner = NULL, poll_lease_until = NULL
 WHERE poll_lease_owner = $1 AND worker_id = ANY (string_to_array($2, ',')::bigint[])
)sql";

constexpr const char* kReleaseTelemetry = R"sql(
UPDATE miners SET telemetry_lease_owner = NULL, telemetry_lease_until = NULL
 WHERE telemetry_lease_owner = $1 AND worker_id = ANY (string_to_array($2, ',')::bigint[])
)sql";

std::vector<ClaimedMiner> read_claims(const pqxx::result& rows) {
  std::vector<ClaimedMiner> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    ClaimedMiner m;
    m.worker_id = row[0].as<std::int64_t>();
    m.ip = row[1].as<std::string>();
    m.port = row[2].as<int>();
    m.api_key_enc = row[3].get<std::string>();
    m.api_key_state = row[4].as<std::string>();
    m.unlock_pass_enc = row[5].get<std::string>();
    m.hr_measure = row[6].as<std::string>();
    m.failures = row[7].as<int>();
    m.may_provision = row[8].as<bool>();
    m.num_chains = row[9].get<int>();
    m.poll_latency_ms = row[10].get<int>();
    if (auto ms = row[11].get<std::int64_t>()) {
      m.readings_at = std::chrono::system_clock::time_point(std::chrono::milliseconds(*ms));
    }
    m.mac = row[12].as<std::string>();
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace

std::vector<ClaimedMiner> claim_due_miners(pqxx::transaction_base& tx, ClaimKind kind,
                                           const std::string& owner, int limit,
                                           std::chrono::milliseconds lease) {
  const char* sql = kind == ClaimKind::kStatusPoll ? kClaimPoll : kClaimTelemetry;
  return read_claims(tx.exec_params(sql, limit, owner, static_cast<long long>(lease.count())));
}

std::vector<ClaimedMiner> list_due_miners(pqxx::transaction_base& tx, ClaimKind kind, int limit) {
  const char* sql = kind == ClaimKind::kStatusPoll ? kListPoll : kListTelemetry;
  return read_claims(tx.exec_params(sql, limit));
}

void record_outcomes(pqxx::transaction_base& tx, ClaimKind kind, const std::string& owner,
                     const std::vector<ClaimOutcome>& outcomes) {
  if (outcomes.empty()) return;
  tx.exec0(kOutcomeTable);
  {
    pqxx::stream_to stream(tx, "asic_claim_outcomes",
                           std::vector<std::string>{
                               "worker_id", "ok", "observed_at", "next_at", "error", "status_id",
                               "worker_status", "status_reason", "api_key_enc", "api_key_state",
                               "provision_error", "provision_after", "latency_ms", "readings_at"});
    for (const auto& o : outcomes) {
      stream << std::array<CopyField, 14>{
          field(o.worker_id),
          field(o.ok),
          timestamp_field(o.observed_at),
          timestamp_field(o.next_at),
          o.ok ? null_field() : field(o.error),
          field(o.status_id),
          field(o.worker_status),
          field(o.status_reason),
          field(o.api_key_enc),
          field(o.api_key_state),
          field(o.provision_error),
          o.provision_after ? timestamp_field(*o.provision_after) : null_field(),
          o.latency_ms ? field(static_cast<std::int64_t>(*o.latency_ms)) : null_field(),
          o.readings_at ? timestamp_field(*o.readings_at) : null_field()};
    }
    stream.complete();
  }
  tx.exec0(kAnalyzeOutcomes);
  if (kind == ClaimKind::kStatusPoll) {
    tx.exec(kLockPollRows);
    tx.exec_params0(kRecordPoll, owner);
  } else {
    tx.exec(kLockTelemetryRows);
    tx.exec_params0(kRecordTelemetry, owner);
  }
}

void release_claims(pqxx::transaction_base& tx, ClaimKind kind, const std::string& owner,
                    const std::vector<std::int64_t>& worker_ids) {
  if (worker_ids.empty()) return;
  std::string ids;
  for (auto id : worker_ids) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(id);
  }
  tx.exec_params0(kind == ClaimKind::kStatusPoll ? kReleasePoll : kReleaseTelemetry, owner, ids);
}

std::vector<ClaimedMiner> DueMinerFeed::next(db::Session& session) {
  const int room = options_.max_per_cycle - taken_;
  if (done_ || room <= 0) return {};
  const int limit = std::min(options_.batch, room);
  std::vector<ClaimedMiner> got;
  try {
    got = session.transact([&](pqxx::transaction_base& tx) {
      return options_.dry_run
                 ? list_due_miners(tx, options_.kind, limit)
                 : claim_due_miners(tx, options_.kind, options_.owner, limit, options_.lease);
    });
  } catch (const std::exception& e) {
    error_ = db::to_error(e);
    done_ = true;
    return {};
  }
  if (options_.dry_run || static_cast<int>(got.size()) < limit) done_ = true;
  taken_ += static_cast<int>(got.size());
  return got;
}

}  // namespace fleet::asic
