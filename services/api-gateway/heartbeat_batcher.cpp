#include "heartbeat_batcher.h"

#include <charconv>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "core/strings.h"
#include "db/errors.h"
#include "db/session.h"

namespace fleet::gateway {
namespace {

// One statement per batch. $1: the heartbeats as a JSON array (one record per node, the last one
// it sent; n = how many it sent), $2: nodes.gap in seconds, $3: write readings (false after a
// missing readings partition made the first attempt fail). Data-modifying CTEs all run to
// completion whether or not the final SELECT reads them.
constexpr const char* kWriteHeartbeats = R"sql(
WITH h AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS h(w bigint, seq bigint, sent_at timestamptz,
      cpu float8, mem float8, disk float8, containers integer, running integer, list jsonb,
      n integer, over text[], reading boolean)
), upd AS (
  UPDATE nodes n SET
      last_heartbeat_at = now(), agent_sent_at = h.sent_at, heartbeat_seq = h.seq,
      heartbeats = n.heartbeats + h.n, cpu_percent = h.cpu, memory_percent = h.mem,
      disk_percent = h.disk, containers = h.containers, containers_running = h.running,
      container_list = h.list, over_limit = h.over,
      over_limit_streak = CASE WHEN cardinality(h.over) = 0 THEN 0
                               WHEN n.last_heartbeat_at IS NULL
                                 OR n.last_heartbeat_at < now() - $2 * interval '1 second' THEN 1
                               ELSE n.over_limit_streak + 1 END,
      healthy_since = CASE WHEN cardinality(h.over) > 0 THEN NULL
                           ELSE coalesce(n.healthy_since, now()) END,
      streak_since = CASE WHEN n.streak_since IS NULL OR n.last_heartbeat_at IS NULL
                            OR n.last_heartbeat_at < now() - $2 * interval '1 second' THEN now()
                          ELSE n.streak_since END
    FROM h
   WHERE n.worker_id = h.w AND n.credential_revoked_at IS NULL
  RETURNING n.worker_id, h.cpu, h.mem, h.disk, h.containers, h.running, h.reading
), seen AS (
  UPDATE workers w SET last_seen_at = now() FROM upd WHERE w.id = upd.worker_id
), m AS (
  SELECT u.worker_id AS w, v.metric, v.value, u.reading
    FROM upd u
   CROSS JOIN LATERAL (VALUES ('containers', u.containers::float8),
                              ('containers_running', u.running::float8),
                              ('cpu_percent', u.cpu), ('disk_percent', u.disk),
                              ('memory_percent', u.mem)) AS v(metric, value)
), latest AS (
  INSERT INTO metrics_latest AS l (worker_id, metric, value, observed_at)
  SELECT w, metric, value, now() FROM m ORDER BY w, metric
  ON CONFLICT (worker_id, metric) DO UPDATE
     SET value = EXCLUDED.value, json_value = NULL, observed_at = EXCLUDED.observed_at
), hist AS (
  INSERT INTO readings (worker_id, metric, ts, value)
  SELECT w, metric, now(), value FROM m WHERE reading AND $3::boolean
  ON CONFLICT DO NOTHING
)
SELECT upd.worker_id,
       to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       (SELECT count(*) FROM commands c
         WHERE c.worker_id = upd.worker_id AND c.channel = 'agent' AND c.state = 'queued'
           AND c.not_before <= now() AND c.expires_at > now())
  FROM upd
)sql";

void append_number(std::string& out, double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

void append_integer(std::string& out, std::int64_t v) {
  char buf[24];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, ec == std::errc() ? end : buf);
}

struct Record {
  const Heartbeat* last = nullptr;
  int count = 0;
  bool reading = false;
};

std::string records_json(const std::vector<std::pair<std::int64_t, Record>>& records,
                         const NodeLimits& limits) {
  std::string out = "[";
  out.reserve(records.size() * 640);
  for (const auto& [id, r] : records) {
    if (out.size() > 1) out += ',';
    const Heartbeat& h = *r.last;
    out += "{\"w\":";
    append_integer(out, id);
    out += ",\"seq\":";
    append_integer(out, h.seq);
    out += ",\"sent_at\":\"" + h.sent_at + "\",\"cpu\":";  // our own format: no escaping needed
    append_number(out, h.cpu_percent);
    out += ",\"mem\":";
    append_number(out, h.memory_percent);
    out += ",\"disk\":";
    append_number(out, h.disk_percent);
    out += ",\"containers\":";
    append_integer(out, h.containers);
    out += ",\"running\":";
    append_integer(out, h.containers_running);
    out += ",\"list\":" + h.container_list + ",\"n\":";
    append_integer(out, r.count);
    out += ",\"over\":[";
    bool first = true;
    for (const std::string& name : limits_broken(h, limits)) {
      out += first ? "\"" : ",\"";
      out += name + "\"";
      first = false;
    }
    out += "],\"reading\":";
    out += r.reading ? "true}" : "false}";
  }
  return out + "]";
}

}  // namespace

HeartbeatBatcher::HeartbeatBatcher(db::ConnectionOptions database, NodeIngestOptions options,
                                   Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  database.application_name += " (heartbeats)";
  const int writers = std::max(1, options_.writers);
  for (int i = 0; i < writers; ++i) {
    sessions_.push_back(std::make_unique<db::Session>(database, clock_));
    sessions_.back()->prepare("node_heartbeats", kWriteHeartbeats);
  }
  configured_.assign(sessions_.size(), nullptr);
  for (int i = 0; i < writers; ++i)
    writers_.emplace_back([this, i] { run(static_cast<std::size_t>(i)); });
}

HeartbeatBatcher::~HeartbeatBatcher() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : writers_)
    t.join();
  for (auto& p : queue_)
    p.done({});
}

void HeartbeatBatcher::submit(Heartbeat heartbeat, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!stop_ && queue_.size() < options_.max_queue) {
      queue_.push_back({std::move(heartbeat), std::move(done)});
      done = nullptr;
    }
  }
  if (done) {
    done({.kind = HeartbeatOutcome::Kind::kBusy});
    return;
  }
  wake_.notify_one();
}

void HeartbeatBatcher::run(std::size_t index) {
  while (true) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      // A node whose previous heartbeat another writer is writing waits for that batch.
      auto eligible = [&] {
        for (const auto& p : queue_)
          if (!writing_.contains(p.heartbeat.worker_id)) return true;
        return false;
      };
      wake_.wait(lock, [&] { return stop_ || eligible(); });
      if (stop_) return;
      std::unordered_set<std::int64_t> mine;
      std::deque<Pending> rest;
      for (auto& p : queue_) {
        const std::int64_t id = p.heartbeat.worker_id;
        if (batch.size() < options_.max_batch && (mine.contains(id) || !writing_.contains(id))) {
          mine.insert(id);
          batch.push_back(std::move(p));
        } else {
          rest.push_back(std::move(p));
        }
      }
      queue_.swap(rest);
      writing_.insert(mine.begin(), mine.end());
    }
    write(index, batch);
    {
      std::lock_guard lock(mu_);
      for (const auto& p : batch)
        writing_.erase(p.heartbeat.worker_id);
    }
    wake_.notify_all();
  }
}

void HeartbeatBatcher::write(std::size_t writer, std::vector<Pending>& batch) {
  db::Session& session = *sessions_[writer];
  // One record per node (the last heartbeat it sent counts; all are counted), in id order: the
  // rows are locked in that order.
  std::vector<std::pair<std::int64_t, Record>> records;
  {
    std::unordered_map<std::int64_t, std::size_t> at;
    for (const auto& p : batch) {
      auto [it, fresh] = at.try_emplace(p.heartbeat.worker_id, records.size());
      if (fresh) records.push_back({p.heartbeat.worker_id, {}});
      Record& r = records[it->second].second;
      r.last = &p.heartbeat;
      ++r.count;
    }
    std::sort(records.begin(), records.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto now = clock_.steady_now();
    std::lock_guard lock(mu_);
    for (auto& [id, r] : records) {
      auto it = last_reading_.find(id);
      r.reading = it == last_reading_.end() || now - it->second >= options_.readings_min_interval;
    }
  }
  const std::string json = records_json(records, options_.limits);
  const long long gap = options_.gap.count();

  std::unordered_map<std::int64_t, std::pair<std::string, std::int64_t>> stored;
  bool readings = true;
  std::string failure;
  for (int attempt = 0; attempt < 3; ++attempt) {
    try {
      stored.clear();
      // One statement in autocommit: atomic by itself, one round trip instead of four
      // (BEGIN, statement, COMMIT) — under load each round trip waits for a CPU.
      pqxx::connection_base& conn = session.connection();
      try {
        if (&conn != configured_[writer]) {
          // A custom plan for each batch's JSON costs ~10 ms of planning and finds the same plan.
          // The generic plan guesses 100 heartbeats a batch and would hash whole tables of nodes
          // and workers (dead row versions included) for them: every row is found by its key.
          pqxx::nontransaction setup(conn);
          setup.exec(
              "SET plan_cache_mode = force_generic_plan; SET enable_hashjoin = off; "
              "SET enable_mergejoin = off; SET enable_seqscan = off");
          configured_[writer] = &conn;
        }
        pqxx::nontransaction tx(conn);
        for (const auto& row : tx.exec_prepared("node_heartbeats", json, gap, readings)) {
          stored[row[0].as<std::int64_t>()] = {row[1].as<std::string>(), row[2].as<std::int64_t>()};
        }
      } catch (const pqxx::broken_connection&) {
        configured_[writer] = nullptr;
        session.disconnect();
        throw;
      }
      failure.clear();
      break;
    } catch (const std::exception& e) {
      failure = redact_secrets(e.what());
      const std::string state = db::sqlstate_of(e);
      if (state == "23514" && readings) {
        // No readings partition for today (the maintenance worker makes them): the load and the
        // latest metrics matter more than the history.
        spdlog::error("node heartbeats: cannot write readings ({}); storing without them", failure);
        readings = false;
      } else if (state != "40P01" && state != "40001") {
        break;  // not a deadlock or serialization failure: retrying will not help
      }
    }
  }
  if (!failure.empty()) {
    spdlog::error("node heartbeats: a batch of {} failed: {}", batch.size(), failure);
    for (auto& p : batch)
      p.done({});
    return;
  }
  {
    const auto now = clock_.steady_now();
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : records) {
      if (r.reading && readings && stored.contains(id)) last_reading_[id] = now;
    }
    if (last_reading_.size() > 1'000'000) last_reading_.clear();
  }
  batches_.fetch_add(1);
  for (auto& p : batch) {
    auto it = stored.find(p.heartbeat.worker_id);
    if (it == stored.end()) {
      p.done({.kind = HeartbeatOutcome::Kind::kRevoked});
    } else {
      stored_.fetch_add(1);
      p.done({.kind = HeartbeatOutcome::Kind::kStored,
              .received_at = it->second.first,
              .commands_pending = it->second.second});
    }
  }
}

}  // namespace fleet::gateway
