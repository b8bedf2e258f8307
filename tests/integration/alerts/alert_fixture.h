// Helpers for the alert-evaluator's integration tests: a CycleContext over a real database, and
// shortcuts to put workers, metrics and rules into it.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "alerting/evaluation_cycle.h"
#include "db/session.h"
#include "pgtest.h"

namespace fleet::test {

class TestCycle final : public runtime::CycleContext {
 public:
  explicit TestCycle(const TestDatabase& db, bool dry_run = false)
      : session_(db::ConnectionOptions{.conninfo = db.url(), .read_only = dry_run}),
        dry_run_(dry_run) {
    spdlog::set_level(spdlog::level::warn);  // the cycle's decisions would drown the test output
  }

  db::Session& db() override { return session_; }
  bool dry_run() const override { return dry_run_; }
  std::stop_token stop_token() const override { return stop_.get_token(); }
  void progress() override {}
  bool sleep_for(std::chrono::milliseconds) override { return true; }
  void emit(std::string_view line) override { emitted.emplace_back(line); }
  const db::LeaderLease* lease() const override { return nullptr; }
  Clock& clock() override { return Clock::real(); }

  runtime::CycleReport run(const alerting::EvaluatorOptions& options = {}) {
    return alerting::run_alert_cycle(*this, options);
  }
  std::int64_t count(const runtime::CycleReport& report, const std::string& name) const {
    for (const auto& [n, v] : report.counts) {
      if (n == name) return v;
    }
    return -1;
  }

  std::vector<std::string> emitted;

 private:
  db::Session session_;
  bool dry_run_;
  std::stop_source stop_;
};

// Workers named w1..wN of a kind, online, with fresh metric values.
inline void add_workers(TestDatabase& db, int n, const std::string& kind = "asic",
                        const std::string& status = "online") {
  db.exec("INSERT INTO workers (kind, name, status) SELECT '" + kind + "', 'w' || i, '" + status +
          "' FROM generate_series(1, " + std::to_string(n) + ") i");
}

inline void set_metric(TestDatabase& db, const std::string& metric, double value,
                       const std::string& where = "true", const std::string& age = "0 seconds") {
  db.exec("INSERT INTO metrics_latest (worker_id, metric, value, observed_at) SELECT id, '" +
          metric + "', " + std::to_string(value) + ", now() - interval '" + age +
          "' FROM workers WHERE " + where +
          " ON CONFLICT (worker_id, metric) DO UPDATE SET value = EXCLUDED.value, "
          "observed_at = EXCLUDED.observed_at");
}

inline void add_rule(TestDatabase& db, const std::string& name, const std::string& condition,
                     const std::string& extra_columns = "", const std::string& extra_values = "") {
  db.exec("INSERT INTO rules (name, condition" + extra_columns + ") VALUES ('" + name + "', $c$" +
          condition + "$c$" + extra_values + ")");
}

}  // namespace fleet::test
