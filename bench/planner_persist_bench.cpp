// migration-planner persistence benchmark (docs/benchmarks.md § migration-planner).
//
// Fills a database with F failed nodes (offline past the grace) carrying R one-replica deployments
// each (default 100 × 100 = 10,000 containers) and T healthy target nodes (default 1,000), then
// times one planner cycle's phases: load the snapshot, decide (the engine with the placement
// core: 100 plans, 10,000 moves), and persist everything the cycle decided (plans, migrations,
// 10,000 new placements, 10,000 lost old placements, 10,000 container_start commands) through
// planner_store's set-based statements, committed.
//
// In the same run, the baseline writes the same decisions one statement per row (the plain way:
// an INSERT per plan, migration, placement and command, an UPDATE per changed placement) inside a
// transaction that is rolled back, so both persist the same rows into the same database.
//
//   DATABASE_URL=... planner_persist_bench [--failed 100] [--per-node 100] [--targets 1000]
// The database must be migrated and empty (bench/planner_persist_bench.sh makes one).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "planner_engine.h"
#include "planner_store.h"

namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace fleet::planner;

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

struct Options {
  int failed = 100;
  int per_node = 100;
  int targets = 1000;
};

void fill(pqxx::connection& c, const Options& o) {
  pqxx::work tx(c);
  tx.exec("INSERT INTO organizations (name) VALUES ('bench')");
  // Nodes 1..failed are the failed ones (offline for 10 minutes); the rest are healthy targets
  // with room for 16 containers of 256 MiB each (10,000 moves need 10 per target on average).
  tx.exec_params(R"sql(
    INSERT INTO workers (kind, name, status, site)
    SELECT 'node', 'node-' || g, 'online', 'site-' || (g % 10) FROM generate_series(1, $1) g
  )sql",
                 o.failed + o.targets);
  tx.exec_params(R"sql(
    INSERT INTO nodes (worker_id, hostname, addresses, cpu_cores, memory_mb, disk_gb,
                       credential_hash, last_heartbeat_at, cpu_percent, memory_percent, disk_percent)
    SELECT w.id, w.name, ARRAY[('10.' || (w.id / 65536) % 256 || '.' || (w.id / 256) % 256 || '.' ||
                                w.id % 256)::inet], 16, 4096 + 256 * ($1 / 100), 500, repeat('a', 64),
           now(), (w.id * 7) % 60, (w.id * 13) % 60, (w.id * 17) % 60
      FROM workers w
  )sql",
                 o.per_node);
  tx.exec_params(R"sql(
    INSERT INTO deployments (organization_id, name, image, ports, cpu_cores, memory_mb, replicas,
                             created_by)
    SELECT (SELECT id FROM organizations), 'd' || g, 'busybox',
           '[{"container_port": 80}]', 0.1, 256, 1, 'bench'
      FROM generate_series(1, $1) g
  )sql",
                 o.failed * o.per_node);
  // Deployment g runs on failed node ((g - 1) / per_node) + 1.
  tx.exec_params(R"sql(
    INSERT INTO placements (deployment_id, replica, node_id, container_name, ports, cpu_cores,
                            memory_mb, disk_gb, state, running_since)
    SELECT d.id, 0, w.id, 'fw-' || d.id || '-0-' || d.id,
           jsonb_build_array(jsonb_build_object('container_port', 80, 'host_port',
                                                20000 + (d.id % $1), 'protocol', 'tcp')),
           0.1, 256, 0, 'running', now()
      FROM deployments d
      JOIN workers w ON w.name = 'node-' || ((d.id - 1) / $1 + 1)
  )sql",
                 o.per_node);
  tx.exec_params(
      "UPDATE workers SET status = 'offline' WHERE name IN (SELECT 'node-' || g FROM "
      "generate_series(1, $1) g)",
      o.failed);
  tx.exec(
      "UPDATE workers SET status_since = now() - interval '10 minutes' WHERE status = "
      "'offline'");
  tx.exec(
      "UPDATE nodes SET last_heartbeat_at = now() - interval '12 minutes' WHERE worker_id IN "
      "(SELECT id FROM workers WHERE status = 'offline')");
  tx.commit();
  pqxx::nontransaction(c).exec("VACUUM ANALYZE");
}

// The plain way: one statement per written row, the same rows apply() writes.
std::int64_t persist_row_by_row(pqxx::transaction_base& tx, const Snapshot& s) {
  std::int64_t statements = 0;
  for (const auto& [id, p] : s.plans) {
    if (!p.dirty) continue;
    tx.exec_params(
        "INSERT INTO migration_plans (id, node_id, organization_id, trigger, policy, "
        "state, reason, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 'bench')",
        p.id, p.node_id, p.organization_id, p.trigger, p.policy, p.state, p.reason);
    ++statements;
  }
  for (const auto& m : s.migrations) {
    if (!m.dirty) continue;
    tx.exec_params(
        "INSERT INTO migrations (id, plan_id, deployment_id, replica, from_node_id, "
        "from_placement_id, to_node_id, state, reason, attempts, started_at, steps) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), "
        "'[{\"step\": \"planned\"}, {\"step\": \"start\"}]')",
        m.id, m.plan_id, m.deployment_id, m.replica, m.from_node_id, m.from_placement_id,
        m.to_node_id, m.state, m.reason, m.attempts);
    ++statements;
  }
  for (const auto& p : s.placements) {
    if (!p.dirty) continue;
    if (p.is_new) {
      tx.exec_params(
          "INSERT INTO placements (id, deployment_id, replica, node_id, "
          "container_name, ports, host_ip, cpu_cores, memory_mb, disk_gb, state, "
          "migration_id) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, "
          "$12)",
          p.id, p.deployment_id, p.replica, p.node_id, p.container_name,
          "[{\"container_port\": 80, \"host_port\": " +
              std::to_string(p.ports.empty() ? 0 : p.ports[0].host_port) +
              ", \"protocol\": \"tcp\"}]",
          p.host_ip, p.cpu_cores, static_cast<std::int64_t>(p.memory_mb), p.disk_gb, p.state,
          p.migration_id);
    } else {
      tx.exec_params("UPDATE placements SET state = $2, reason = $3 WHERE id = $1", p.id, p.state,
                     p.reason);
    }
    ++statements;
  }
  for (const auto& m : s.migrations) {
    if (!m.dirty || m.to_placement_id == 0) continue;
    tx.exec_params("UPDATE migrations SET to_placement_id = $2 WHERE id = $1", m.id,
                   m.to_placement_id);
    ++statements;
  }
  for (const auto& c : s.commands) {
    tx.exec_params(
        "INSERT INTO commands (worker_id, action, params, channel, origin, requested_by, "
        "idempotency_key, max_attempts, expires_at) VALUES ($1, $2, $3::jsonb, 'agent', "
        "'planner', 'bench', $4, 1, now() + interval '5 minutes')",
        c.node_id, c.action, c.params_json, c.idempotency_key);
    ++statements;
  }
  return statements;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--failed"))
      o.failed = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--per-node"))
      o.per_node = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--targets"))
      o.targets = std::atoi(argv[i + 1]);
  }
  const char* url = std::getenv("DATABASE_URL");
  if (!url) {
    std::fprintf(stderr, "DATABASE_URL is not set\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  pqxx::connection c(url);
  auto t = SteadyClock::now();
  fill(c, o);
  std::printf("fill: %d failed nodes x %d containers, %d targets in %.2f s\n", o.failed, o.per_node,
              o.targets, seconds_since(t));

  PlannerOptions options;
  options.max_moves_per_minute = 1'000'000;
  options.instance_id = "bench";

  // Baseline first, rolled back: the same decisions written one row per statement.
  double baseline_s = 0;
  std::int64_t baseline_statements = 0;
  {
    pqxx::work tx(c);
    Snapshot s = load_snapshot(tx, options);
    EngineResult r = run_engine(s, options, sequence_ids(tx));
    t = SteadyClock::now();
    baseline_statements = persist_row_by_row(tx, s);
    baseline_s = seconds_since(t);
    tx.abort();
    std::printf(
        "baseline (one statement per row, rolled back): %lld statements, %lld moves in "
        "%.3f s\n",
        static_cast<long long>(baseline_statements), static_cast<long long>(r.migrations_started),
        baseline_s);
  }

  pqxx::work tx(c);
  t = SteadyClock::now();
  Snapshot s = load_snapshot(tx, options);
  const double load_s = seconds_since(t);
  t = SteadyClock::now();
  EngineResult r = run_engine(s, options, sequence_ids(tx));
  const double decide_s = seconds_since(t);
  t = SteadyClock::now();
  Written w = apply(tx, s, options);
  tx.commit();
  const double persist_s = seconds_since(t);

  pqxx::work check(c);
  const auto overcommitted = check
                                 .exec1(R"sql(
    SELECT count(*) FROM nodes n
     WHERE n.memory_mb < (SELECT coalesce(sum(p.memory_mb), 0) FROM placements p
                           WHERE p.node_id = n.worker_id AND p.state IN ('starting', 'running'))
  )sql")[0]
                                 .as<long long>();
  const auto starting =
      check.exec1("SELECT count(*) FROM placements WHERE state = 'starting'")[0].as<long long>();
  const auto queued =
      check.exec1("SELECT count(*) FROM commands WHERE action = 'container_start'")[0]
          .as<long long>();
  check.commit();

  std::printf("plan: %lld plans, %lld moves started, %lld failed, %lld unplaceable\n",
              static_cast<long long>(r.plans_opened), static_cast<long long>(r.migrations_started),
              static_cast<long long>(r.migrations_failed), static_cast<long long>(r.unplaceable));
  std::printf("load %.3f s, decide %.3f s (%.0f moves/s), persist %.3f s (%.0f moves/s)\n", load_s,
              decide_s, r.migrations_started / decide_s, persist_s,
              r.migrations_started / persist_s);
  std::printf(
      "persisted: %lld placements, %lld migrations, %lld plans, %lld commands; in the "
      "database: %lld starting, %lld container_start, %lld nodes overcommitted\n",
      static_cast<long long>(w.placements), static_cast<long long>(w.migrations),
      static_cast<long long>(w.plans), static_cast<long long>(w.commands), starting, queued,
      overcommitted);
  std::printf("baseline / set-based persist time: %.1f x\n", baseline_s / persist_s);
  return overcommitted == 0 && starting == r.migrations_started ? 0 : 1;
}
