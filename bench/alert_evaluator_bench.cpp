// alert-evaluator benchmark (docs/benchmarks.md § alert-evaluator).
//
// Fills a database with W workers × 10 metrics and R rules whose scopes cover every worker (the
// default 100 × 10,000 = 1,000,000 rule × worker pairs), then times evaluation cycles that load
// everything, evaluate every pair and write ~1% state changes (episodes, events, notifications,
// commands) — alternately firing and resolving the same 1% — plus a cycle with no change.
//
// In the same run, the baseline is seed 001's design: per alert, one query for the device and one
// for its latest reading (prepared statements, on the same server), over B pairs (default 10,000)
// with the same 1% of breaches written one event at a time. Both are reported in pairs/second.
//
//   DATABASE_URL=... alert_evaluator_bench [--workers 10000] [--rules 100] [--cycles 5]
//                                          [--baseline-pairs 10000]
// The database must be migrated and empty (bench/alert_evaluator_bench.sh makes one).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "alerting/change_writer.h"
#include "alerting/evaluation_cycle.h"
#include "alerting/snapshot.h"
#include "db/session.h"

namespace {

using SteadyClock = std::chrono::steady_clock;
using namespace fleet;

double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

const char* kMetrics[] = {"hashrate",      "hashrate_ratio",   "power",       "efficiency",
                          "chip_temp_max", "pcb_temp_max",     "fan_rpm_min", "chips_red",
                          "chips_orange",  "hw_errors_percent"};

struct Options {
  int workers = 10'000;
  int rules = 100;
  int cycles = 5;  // fire, resolve, fire, resolve, fire: the no-change cycle then has 1% open
  int baseline_pairs = 10'000;
};

struct Phases {
  double load = 0, evaluate = 0, write = 0;
  std::int64_t pairs = 0, writes = 0, events = 0, commands = 0, notifications = 0;
  double total() const { return load + evaluate + write; }
};

// One evaluator cycle, timed by phase (the same calls run_alert_cycle makes).
Phases evaluator_cycle(db::Session& session, const rules::ActionLimits& limits) {
  Phases p;
  auto t = SteadyClock::now();
  alerting::Snapshot snap = session.transact(
      [&](pqxx::transaction_base& tx) { return alerting::load_snapshot(tx, limits); });
  p.load = seconds_since(t);
  t = SteadyClock::now();
  rules::Evaluation ev = rules::evaluate_fleet(
      {snap.rules, snap.fleet, snap.open, snap.silences, *snap.ledger, snap.now});
  p.evaluate = seconds_since(t);
  t = SteadyClock::now();
  if (!ev.writes.empty()) {
    auto out = session.transact(
        [&](pqxx::transaction_base& tx) { return alerting::write_evaluation(tx, ev, "bench"); });
    p.events = out.events;
    p.commands = out.commands;
    p.notifications = out.notifications;
  }
  p.write = seconds_since(t);
  p.pairs = ev.stats.total_alerts;
  p.writes = static_cast<std::int64_t>(ev.writes.size());
  return p;
}

void setup(pqxx::connection& c, const Options& o) {
  pqxx::work tx(c);
  tx.exec_params(
      "INSERT INTO workers (kind, name, status) SELECT 'asic', 'miner-' || i, 'online' "
      "FROM generate_series(1, $1::int) i",
      o.workers);
  // Values 0..40: below every threshold (50..59).
  tx.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, observed_at) "
      "SELECT w.id, m.name, (w.id * 7 + m.n * 13) % 41, now() FROM workers w, "
      "unnest(ARRAY['hashrate','hashrate_ratio','power','efficiency','chip_temp_max',"
      "'pcb_temp_max','fan_rpm_min','chips_red','chips_orange','hw_errors_percent']) "
      "WITH ORDINALITY AS m(name, n)");
  // History for the baseline's "latest reading": three readings per worker and metric.
  tx.exec(
      "INSERT INTO readings (worker_id, metric, ts, value) SELECT l.worker_id, l.metric, "
      "now() - k * interval '1 minute', l.value FROM metrics_latest l, generate_series(0, 2) k");
  for (int r = 0; r < o.rules; ++r) {
    const std::string metric = kMetrics[r % 10];
    const int threshold = 50 + (r / 10) % 10;
    // One rule in ten carries an action, so 10% of the new episodes write a command.
    const std::string actions = r % 10 == 0 ? R"(["restart_mining"])" : "[]";
    tx.exec_params(
        "INSERT INTO rules (name, condition, scope_kind, actions) VALUES ($1, $2, 'asic', "
        "$3::jsonb)",
        "bench-" + std::to_string(r), metric + " > " + std::to_string(threshold), actions);
  }
  tx.exec("ANALYZE");
  tx.commit();
}

// Sets `count` (worker, metric) values: every rule on that metric crosses at once (10 pairs each).
void flip(pqxx::connection& c, int count, double value) {
  pqxx::work tx(c);
  tx.exec_params(
      "UPDATE metrics_latest SET value = $2, observed_at = now() "
      "WHERE (worker_id, metric) IN (SELECT w.id, (ARRAY['hashrate','hashrate_ratio',"
      "'power','efficiency','chip_temp_max','pcb_temp_max','fan_rpm_min','chips_red',"
      "'chips_orange','hw_errors_percent'])[1 + w.id % 10] FROM workers w "
      "ORDER BY w.id LIMIT $1)",
      count, value);
  tx.exec("UPDATE metrics_latest SET observed_at = now()");
  tx.commit();
}

// Seed 001's evaluation loop: for each alert, fetch the device, fetch its latest reading within
// 5 minutes, compare, and write an event when it breaches.
double baseline(pqxx::connection& c, int pairs, std::int64_t& breaches) {
  c.prepare("device", "SELECT id, name, status FROM workers WHERE id = $1");
  c.prepare("reading",
            "SELECT value, ts FROM readings WHERE worker_id = $1 AND metric = $2 "
            "AND ts > now() - interval '5 minutes' ORDER BY ts DESC LIMIT 1");
  c.prepare("event",
            "INSERT INTO baseline_alert_events (alert_id, device_id, current_value, "
            "threshold_value, operator, metric) VALUES ($1, $2, $3, $4, '>', $5)");
  {
    pqxx::work tx(c);
    tx.exec(
        "CREATE TABLE IF NOT EXISTS baseline_alert_events (id bigserial PRIMARY KEY, "
        "alert_id int, device_id bigint, triggered_at timestamptz DEFAULT now(), "
        "current_value float8, threshold_value float8, operator text, metric text)");
    tx.commit();
  }
  std::vector<std::int64_t> ids;
  {
    pqxx::read_transaction tx(c);
    for (const auto& r : tx.exec_params("SELECT id FROM workers ORDER BY id LIMIT $1", pairs)) {
      ids.push_back(r[0].as<std::int64_t>());
    }
  }
  breaches = 0;
  const auto t = SteadyClock::now();
  for (int i = 0; i < pairs; ++i) {
    const std::int64_t worker = ids[static_cast<std::size_t>(i) % ids.size()];
    const std::string metric = kMetrics[worker % 10];
    const double threshold = 50;
    pqxx::nontransaction tx(c);  // autocommit, as an ORM session would read
    pqxx::result device = tx.exec_prepared("device", worker);
    if (device.empty() || device[0][2].as<std::string>() != "online") continue;
    pqxx::result reading = tx.exec_prepared("reading", worker, metric);
    if (reading.empty()) continue;
    const double value = reading[0][0].as<double>();
    if (value > threshold) {
      tx.exec_prepared("event", i, worker, value, threshold, metric);
      ++breaches;
    }
  }
  return seconds_since(t);
}

int arg(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const char* url = std::getenv("DATABASE_URL");
  if (!url) {
    std::fprintf(stderr, "set DATABASE_URL to an empty migrated database\n");
    return 2;
  }
  Options o;
  o.workers = arg(argc, argv, "--workers", o.workers);
  o.rules = arg(argc, argv, "--rules", o.rules);
  o.cycles = arg(argc, argv, "--cycles", o.cycles);
  o.baseline_pairs = arg(argc, argv, "--baseline-pairs", o.baseline_pairs);
  // FLEET_BENCH_VERBOSE=1 logs the time of each write statement.
  spdlog::set_level(std::getenv("FLEET_BENCH_VERBOSE") ? spdlog::level::debug
                                                       : spdlog::level::warn);

  pqxx::connection admin(url);
  auto t = SteadyClock::now();
  setup(admin, o);
  std::fprintf(stderr, "setup: %d workers, %d rules in %.1fs\n", o.workers, o.rules,
               seconds_since(t));

  db::Session session(
      db::ConnectionOptions{.conninfo = url, .statement_timeout = std::chrono::minutes(5)});
  const rules::ActionLimits limits{.worker_cooldown = std::chrono::milliseconds(0),
                                   .worker_daily_cap = 1000,
                                   .fleet_max_per_window = 1'000'000};
  const int flipped = o.workers / 10;  // (worker, metric) values; 10 rules each -> 1% of pairs
  evaluator_cycle(session, limits);    // warm-up: nothing breaches
  std::printf(
      "| cycle | pairs | changed episodes | events | commands | notifications | load s | evaluate "
      "s | write s | total s | pairs/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  std::vector<double> totals;
  for (int i = 0; i < o.cycles + 1; ++i) {
    const bool steady = i == o.cycles;
    if (!steady) flip(admin, flipped, i % 2 == 0 ? 100 : 20);
    Phases p = evaluator_cycle(session, limits);
    const char* what = steady ? "no change" : i % 2 == 0 ? "1% fire" : "1% resolve";
    std::printf("| %s | %lld | %lld | %lld | %lld | %lld | %.3f | %.3f | %.3f | %.3f | %.0f |\n",
                what, static_cast<long long>(p.pairs), static_cast<long long>(p.writes),
                static_cast<long long>(p.events), static_cast<long long>(p.commands),
                static_cast<long long>(p.notifications), p.load, p.evaluate, p.write, p.total(),
                static_cast<double>(p.pairs) / p.total());
    if (!steady) totals.push_back(p.total());
  }
  std::sort(totals.begin(), totals.end());
  const double median = totals[totals.size() / 2];
  const double ours = static_cast<double>(o.workers) * o.rules / median;

  // Baseline with the same share of breaches: 1% of its pairs above the threshold.
  {
    pqxx::work tx(admin);
    tx.exec("UPDATE readings SET value = 10");
    tx.exec_params(
        "UPDATE readings SET value = 100 WHERE worker_id IN (SELECT id FROM workers "
        "ORDER BY id LIMIT $1)",
        o.baseline_pairs / 100);
    tx.commit();
  }
  pqxx::connection seed001(url);
  std::int64_t breaches = 0;
  const double base_seconds = baseline(seed001, o.baseline_pairs, breaches);
  const double base = o.baseline_pairs / base_seconds;
  std::printf("\n| design | pairs | seconds | pairs/s |\n|---|---|---|---|\n");
  std::printf(
      "| alert-evaluator (set-based), median of %d changing cycles | %lld | %.3f | %.0f |\n",
      o.cycles, static_cast<long long>(o.workers) * o.rules, median, ours);
  std::printf("| seed 001 (2 queries per alert), %lld events written | %d | %.3f | %.0f |\n",
              static_cast<long long>(breaches), o.baseline_pairs, base_seconds, base);
  std::printf("\nratio: %.0fx pairs/second (goal >= 50x); cycle %.3f s (goal <= 2 s)\n",
              ours / base, median);
  return 0;
}
