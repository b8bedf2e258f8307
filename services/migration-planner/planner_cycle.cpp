#include "planner_cycle.h"

#include <chrono>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "db/lease.h"
#include "db/session.h"
#include "metrics/registry.h"
#include "planner_engine.h"
#include "planner_store.h"

namespace fleet::planner {
namespace {

class LeaseLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace

constexpr const char* kOpenStates[] = {"awaiting_approval", "pending", "starting", "switching",
                                       "cleanup"};

MigrationPlanner::MigrationPlanner(PlannerOptions options, metrics::Registry* registry)
    : options_(std::move(options)) {
  if (!registry) return;
  for (const char* state : kOpenStates) {
    by_state_[state] =
        &registry->gauge("fleet_migration_planner_migrations",
                         "open migrations by state after the last cycle", {{"state", state}});
  }
  plan_seconds_ = &registry->histogram("fleet_migration_planner_plan_seconds",
                                       "time a cycle spent deciding (placement included)",
                                       metrics::duration_buckets());
}

runtime::CycleReport MigrationPlanner::run_cycle(runtime::CycleContext& ctx) {
  db::Session& session = ctx.db();
  struct Outcome {
    std::int64_t expired = 0;
    std::int64_t nodes = 0;
    EngineResult result;
    Written written;
    double plan_ms = 0;
    std::map<std::string, std::int64_t> open;  // migrations by state after the cycle
  };
  Outcome out = session.transact([&](pqxx::transaction_base& tx) {
    Outcome o;
    if (!ctx.dry_run()) o.expired = expire_commands(tx);
    Snapshot snap = load_snapshot(tx, options_);
    o.nodes = static_cast<std::int64_t>(snap.nodes.size());
    std::int64_t next_dry_id = -1;
    IdSource ids = ctx.dry_run() ? IdSource([&](const std::string&) { return next_dry_id--; })
                                 : sequence_ids(tx);
    const auto started = std::chrono::steady_clock::now();
    o.result = run_engine(snap, options_, ids);
    o.plan_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (ctx.dry_run()) return o;
    if (const db::LeaderLease* lease = ctx.lease(); lease && !lease->still_held(tx)) {
      throw LeaseLost("lost the leader lease during the cycle; its decisions were discarded");
    }
    o.written = apply(tx, snap, options_);
    return o;
  });
  ctx.progress();
  if (!ctx.dry_run()) {
    for (auto& [state, gauge] : by_state_)
      gauge->set(static_cast<double>(out.open.count(state) ? out.open.at(state) : 0));
    if (plan_seconds_) plan_seconds_->observe(out.plan_ms / 1000);
  }
  for (const auto& line : out.result.decisions) {
    if (ctx.dry_run()) {
      ctx.emit(line);
    } else {
      spdlog::info("{}", line);
    }
  }
  if (!ctx.dry_run() && out.written.routes > 0 && !options_.route_file.empty()) {
    const std::string content =
        session.transact([](pqxx::transaction_base& tx) { return routes_json(tx); });
    std::string error;
    if (!write_file_atomically(options_.route_file, content, error)) {
      spdlog::error("route file: {}", error);
    }
  }
  const EngineResult& r = out.result;
  return {.items = r.placements_made + r.plans_opened,
          .more_work = r.more_work,
          .counts = {{"nodes", out.nodes},
                     {"commands_expired", out.expired},
                     {"placements_made", r.placements_made},
                     {"unplaceable", r.unplaceable},
                     {"plans_opened", r.plans_opened},
                     {"migrations_started", r.migrations_started},
                     {"migrations_completed", r.migrations_completed},
                     {"migrations_done", r.migrations_done},
                     {"migrations_failed", r.migrations_failed},
                     {"routes_changed", r.routes_changed},
                     {"removes", r.removes},
                     {"stale_removes", r.stale_removes},
                     {"held_nodes", r.held_nodes},
                     {"rate_limited", r.rate_limited},
                     {"notifications", out.written.notifications},
                     {"plan_time_us", static_cast<std::int64_t>(out.plan_ms * 1000)}}};
}

}  // namespace fleet::planner
