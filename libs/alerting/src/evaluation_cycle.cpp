#include "alerting/evaluation_cycle.h"

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "alerting/change_writer.h"
#include "alerting/snapshot.h"
#include "core/strings.h"
#include "db/lease.h"
#include "db/session.h"
#include "db/watch.h"

namespace fleet::alerting {
namespace {

// Another replica took the leader lease while this one was evaluating: its decisions are void.
class LeaseLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void log_decisions(const rules::Evaluation& ev, const WriteOutcome* written, int budget) {
  int logged = 0;
  std::int64_t quiet = 0;
  for (const auto& note : ev.notes) {
    const bool info = note.important && logged < budget;
    if (info) {
      ++logged;
      spdlog::info("{}", note.message);
    } else {
      if (note.important) ++quiet;
      spdlog::debug("{}", note.message);
    }
    if (note.change == "triggered" && written) {
      // Seed 001 logs the metric's value; a compound condition logs its terms instead.
      std::string value = note.value ? rules::format_number(*note.value) : "";
      if (value.empty()) {
        std::vector<std::string> terms;
        for (const auto& t : note.terms) {
          terms.push_back(
              t.expression + "=" +
              (t.number ? rules::format_number(*t.number) : t.state.value_or("no data")));
        }
        value = join(terms, ", ");
      }
      const std::int64_t alert_id = written->alert_ids[note.write];
      if (info) {
        spdlog::info("Created alert event for alert {}, device {}, value {} (episode {})",
                     note.rule_id, note.worker, value, alert_id);
      } else {
        spdlog::debug("Created alert event for alert {}, device {}, value {} (episode {})",
                      note.rule_id, note.worker, value, alert_id);
      }
    }
  }
  if (quiet > 0) {
    spdlog::info("... and {} more decisions this cycle (logged at debug level)", quiet);
  }
}

}  // namespace

std::vector<std::pair<std::string, std::int64_t>> cycle_counts(const rules::EngineStats& s) {
  return {{"total_alerts", s.total_alerts},
          {"evaluated", s.evaluated},
          {"triggered", s.triggered},
          {"resolved", s.resolved},
          {"errors", s.errors},
          {"skipped", s.skipped},
          {"pending", s.pending},
          {"no_data", s.no_data},
          {"commands", s.commands},
          {"actions_skipped", s.actions_skipped},
          {"notifications", s.notifications},
          {"suppressed", s.suppressed}};
}

runtime::CycleReport run_alert_cycle(runtime::CycleContext& ctx, const EvaluatorOptions& options) {
  db::Session& session = ctx.db();
  std::optional<std::chrono::milliseconds> watching_for;
  Snapshot snap = session.transact([&](pqxx::transaction_base& tx) {
    watching_for = db::record_watch(tx, "alert-evaluator", options.watch_gap, ctx.dry_run());
    return load_snapshot(tx, options.limits);
  });
  ctx.progress();
  for (const auto& failure : snap.rules.failures()) {
    spdlog::warn("Rule {} ({}) skipped: {}", failure.rule_id, sanitize_utf8(failure.name),
                 sanitize_utf8(failure.message));
  }
  rules::Evaluation ev = rules::evaluate_fleet(
      {.rules = snap.rules,
       .fleet = snap.fleet,
       .open_episodes = snap.open,
       .silences = snap.silences,
       .ledger = *snap.ledger,
       .now = snap.now,
       .watching_for_ms =
           watching_for ? std::optional<std::int64_t>(watching_for->count()) : std::nullopt});
  ctx.progress();
  spdlog::info("Found {} enabled alerts to evaluate ({} rule × worker pairs, {} workers)",
               snap.enabled_rules, ev.stats.total_alerts, snap.fleet.workers.size());

  runtime::CycleReport report;
  report.items = ev.stats.total_alerts;
  report.counts = cycle_counts(ev.stats);
  if (ctx.dry_run()) {
    log_decisions(ev, nullptr, options.log_decisions);
    for (const auto& note : ev.notes) {
      const std::int64_t id = note.write < ev.writes.size() ? ev.writes[note.write].row.id : 0;
      ctx.emit(rules::decision_json(ev, note, id));
    }
    return report;
  }
  if (ev.writes.empty()) return report;
  // Stopping before the write leaves nothing half done: the next run decides afresh.
  if (ctx.stopping()) {
    spdlog::info("stopping: {} decisions of this cycle not written", ev.notes.size());
    return report;
  }
  WriteOutcome written = session.transact([&](pqxx::transaction_base& tx) {
    if (const db::LeaderLease* lease = ctx.lease(); lease && !lease->still_held(tx)) {
      throw LeaseLost("lost the leader lease during the cycle; its decisions were discarded");
    }
    return write_evaluation(tx, ev, options.instance_id);
  });
  ctx.progress();
  log_decisions(ev, &written, options.log_decisions);
  return report;
}

}  // namespace fleet::alerting
