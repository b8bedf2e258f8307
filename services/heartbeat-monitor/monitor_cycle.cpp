#include "monitor_cycle.h"

#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/lease.h"
#include "db/session.h"
#include "db/watch.h"
#include "monitor_store.h"

namespace fleet::heartbeat {
namespace {

using json = nlohmann::json;

constexpr int kMaxPruneBatches = 20;  // per run of the chore; the rest waits for the next run

class LeaseLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

json transition_json(const Transition& t, const MonitorOptions& o) {
  json j{
      {"action", "transition"}, {"worker_id", t.worker_id}, {"name", t.name}, {"kind", t.kind},
      {"site", t.site},         {"from", t.from},           {"to", t.to},     {"reason", t.reason}};
  if (!t.event.empty() && o.notifies(t.kind)) {
    j["notify"] = t.event;
    j["payload"] = json::parse(notification_payload(t, o));
  }
  return j;
}

}  // namespace

HeartbeatMonitor::HeartbeatMonitor(MonitorOptions options) : options_(std::move(options)) {}

runtime::CycleReport HeartbeatMonitor::run_cycle(runtime::CycleContext& ctx) {
  db::Session& session = ctx.db();
  struct Outcome {
    std::int64_t candidates = 0;
    std::vector<Transition> transitions;
    std::vector<SiteAction> sites;
    Applied applied;
  };
  Outcome out = session.transact([&](pqxx::transaction_base& tx) {
    Outcome o;
    const std::optional<milliseconds> watching_for =
        db::record_watch(tx, "heartbeat-monitor", options_.watch_gap, ctx.dry_run());
    Snapshot snap = load_snapshot(tx, options_);
    o.candidates = static_cast<std::int64_t>(snap.candidates.size());
    for (auto& w : snap.candidates)
      w.watching_for = watching_for;
    std::map<std::string, SiteState> sites;
    std::map<std::string, int> went_silent;
    for (const auto& [site, hold] : snap.open_holds)
      sites[site].held = true;
    for (const auto& w : snap.candidates) {
      auto t = decide(w, options_);
      const bool silent_unreachable =
          w.status == "unreachable" && (!t || t->to == "offline") && !is_alive(w);
      if (silent_unreachable && w.site_held) ++sites[w.site].still_silent;
      if (t) {
        if (t->went_silent) ++went_silent[t->site];
        o.transitions.push_back(std::move(*t));
      }
    }
    // A site can only be held with at least partition_min_workers silent at once: only those
    // sites (and the held ones) need their size counted.
    // A site with a worker timing out now may be held if enough others are quiet: those sites
    // (and the held ones) need their sizes counted.
    for (const auto& [site, n] : went_silent) {
      if (n > 0) sites[site];
    }
    std::vector<std::string> names;
    for (const auto& [site, st] : sites)
      names.push_back(site);
    for (const auto& [site, size] : site_sizes(tx, names, options_)) {
      sites[site].workers = size.workers;
      sites[site].quiet = size.quiet;
    }
    o.sites = apply_partitions(o.transitions, sites, options_);
    if (ctx.dry_run() || (o.transitions.empty() && o.sites.empty())) return o;
    if (const db::LeaderLease* lease = ctx.lease(); lease && !lease->still_held(tx)) {
      throw LeaseLost("lost the leader lease during the cycle; its decisions were discarded");
    }
    o.applied = apply(tx, o.transitions, o.sites, options_);
    return o;
  });
  ctx.progress();

  std::map<std::string, std::int64_t> to;
  for (const auto& t : out.transitions) {
    ++to[t.to];
    if (ctx.dry_run()) {
      ctx.emit(transition_json(t, options_).dump());
    } else {
      spdlog::info("worker {} ({} {}): {} -> {}: {}", t.worker_id, t.kind, t.name, t.from, t.to,
                   t.reason);
    }
  }
  for (const auto& a : out.sites) {
    const bool hold = a.kind == SiteAction::Kind::kHold;
    if (ctx.dry_run()) {
      ctx.emit(json{{"action", hold ? "hold_site" : "clear_site"},
                    {"site", a.site},
                    {"silent", a.silent},
                    {"workers", a.workers},
                    {"reason", a.reason}}
                   .dump());
    } else if (hold) {
      spdlog::warn("site '{}' held (partition): {}", a.site, a.reason);
    } else {
      spdlog::info("site '{}' hold cleared: {}", a.site, a.reason);
    }
  }
  const std::int64_t pruned = expire_history(ctx);
  auto count = [&](const char* status) { return to.count(status) ? to[status] : 0; };
  return {.items = out.candidates,
          .counts = {{"candidates", out.candidates},
                     {"transitions", static_cast<std::int64_t>(out.transitions.size())},
                     {"changed", out.applied.changed},
                     {"offline", count("offline")},
                     {"unhealthy", count("unhealthy")},
                     {"online", count("online")},
                     {"unreachable", count("unreachable")},
                     {"notifications", out.applied.notified},
                     {"holds_opened", out.applied.holds_opened},
                     {"holds_cleared", out.applied.holds_cleared},
                     {"history_pruned", pruned}}};
}

std::int64_t HeartbeatMonitor::expire_history(runtime::CycleContext& ctx) {
  std::int64_t total = 0;
  retention_.run_if_due(ctx.clock().steady_now(), [&] {
    db::Session& session = ctx.db();
    if (ctx.dry_run()) {
      total = session.transact(
          [&](pqxx::transaction_base& tx) { return count_expired_history(tx, options_); });
      if (total > 0) {
        ctx.emit(json{{"action", "prune_status_history"}, {"rows", total}}.dump());
      }
      return;
    }
    for (int batch = 0; batch < kMaxPruneBatches && !ctx.stopping(); ++batch) {
      const std::int64_t n =
          session.transact([&](pqxx::transaction_base& tx) { return prune_history(tx, options_); });
      total += n;
      ctx.progress();
      if (n < options_.history_batch) break;
    }
    if (total > 0) spdlog::info("deleted {} worker_status_history rows", total);
  });
  return total;
}

}  // namespace fleet::heartbeat
