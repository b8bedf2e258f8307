// alert-evaluator: evaluates monitoring rules against the fleet's metrics and records alert
// episodes, their events, the commands of escalation ladders and notifications.
// See docs/services/alert-evaluator.md and docs/rules.md.
#include "alerting/evaluation_cycle.h"
#include "runtime/worker.h"

int main(int argc, char** argv) {
  using namespace fleet;
  return runtime::run(
      argc, argv,
      {
          .name = "alert-evaluator",
          .description = "evaluates monitoring rules; records alerts, commands and notifications",
          .default_interval = std::chrono::seconds(30),
          .required_tables = {"rules", "alerts", "alert_events", "silences", "metric_catalogue",
                              "commands", "notifications", "metrics_latest", "readings", "workers"},
          // Rules are evaluated once in the cluster: replicas stand by and take over on expiry.
          .leader_lease = "alert-evaluator",
          .declare_config =
              [](config::Schema& schema) {
                schema.add({.name = "alerts.worker_cooldown",
                            .type = config::Type::kDuration,
                            .help = "no second hardware action on a worker within this time",
                            .default_value = std::chrono::milliseconds(5 * 60'000),
                            .min = 0,
                            .max = 86'400});
                schema.add({.name = "alerts.worker_daily_cap",
                            .type = config::Type::kInt,
                            .help = "at most this many hardware actions per worker in 24 hours",
                            .default_value = std::int64_t{6},
                            .min = 0,
                            .max = 1000});
                schema.add(
                    {.name = "alerts.fleet_rate_limit",
                     .type = config::Type::kInt,
                     .help = "at most this many hardware actions across the fleet per window",
                     .default_value = std::int64_t{20},
                     .min = 0,
                     .max = 100'000});
                schema.add({.name = "alerts.fleet_rate_window",
                            .type = config::Type::kDuration,
                            .help = "the window of alerts.fleet_rate_limit",
                            .default_value = std::chrono::milliseconds(60'000),
                            .min = 1,
                            .max = 86'400});
                schema.add({.name = "alerts.escalation_exhausted_after",
                            .type = config::Type::kDuration,
                            .help = "an alert still firing this long after the last hardware "
                                    "step of its ladder is reported once as exhausted",
                            .default_value = std::chrono::milliseconds(10 * 60'000),
                            .min = 0,
                            .max = 7 * 86'400});
                schema.add({.name = "alerts.watch_gap",
                            .type = config::Type::kDuration,
                            .help = "when no evaluator cycle ran for longer than this (it or the "
                                    "whole system was down), missing data neither resolves nor "
                                    "opens an alert until each rule's stale_after has passed",
                            .default_value = std::chrono::milliseconds(120'000),
                            .min = 1,
                            .max = 86'400});
                schema.add({.name = "alerts.log_decisions",
                            .type = config::Type::kInt,
                            .help = "decisions logged at info level per cycle (the rest at debug)",
                            .default_value = std::int64_t{100},
                            .min = 0,
                            .max = 1'000'000});
              },
          .setup = [](const runtime::Setup& setup) -> runtime::CycleFn {
            alerting::EvaluatorOptions options;
            options.limits = {.worker_cooldown = setup.config.duration("alerts.worker_cooldown"),
                              .worker_daily_cap =
                                  static_cast<int>(setup.config.integer("alerts.worker_daily_cap")),
                              .fleet_max_per_window =
                                  static_cast<int>(setup.config.integer("alerts.fleet_rate_limit")),
                              .fleet_window = setup.config.duration("alerts.fleet_rate_window"),
                              .escalation_exhausted_after =
                                  setup.config.duration("alerts.escalation_exhausted_after")};
            options.log_decisions = static_cast<int>(setup.config.integer("alerts.log_decisions"));
            options.instance_id = setup.instance_id;
            options.watch_gap = setup.config.duration("alerts.watch_gap");
            return [options](runtime::CycleContext& ctx) {
              return alerting::run_alert_cycle(ctx, options);
            };
          },
      });
}
