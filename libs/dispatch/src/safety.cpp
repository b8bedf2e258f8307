#include "dispatch/safety.h"

#include <algorithm>
#include <string>

#include "core/duration.h"

namespace fleet::dispatch {

using std::chrono::milliseconds;

bool is_limited(std::string_view action) {
  return action != "find_miner";
}

bool takes_worker_down(std::string_view action) {
  return action == "reboot" || action == "power_cycle" || action == "shutdown" ||
         action == "power_off";
}

namespace {

// A rate limit frees up as its window slides; try again after a slice of it (at least 1 s, so a
// held burst is not re-examined in a tight loop).
milliseconds slice_of(milliseconds window) {
  return std::max<milliseconds>(window / 4, std::chrono::seconds(1));
}

std::string site_name(const std::string& site) {
  return site.empty() ? "(no site)" : site;
}

}  // namespace

Decision SafetyGate::decide(const Candidate& c) {
  if (!is_limited(c.action)) return {};
  WorkerHistory& w = workers_[c.worker_id];
  SiteState& site = sites_[c.site];
  const std::string worker = "worker " + std::to_string(c.worker_id);

  // Skips first: they are final, whatever else holds.
  if (takes_worker_down(c.action) && limits_.reboot_loop_count > 0 &&
      w.downs_in_loop_window >= limits_.reboot_loop_count) {
    return {.kind = Decision::Kind::kSkip,
            .reason = "reboot loop: " + worker + " was taken down " +
                      std::to_string(w.downs_in_loop_window) + " times in the last " +
                      format_duration(limits_.reboot_loop_window) + "; not again",
            .reboot_loop = true};
  }
  if (w.sent_last_day >= limits_.worker_daily_cap) {
    return {.kind = Decision::Kind::kSkip,
            .reason = "daily cap: " + worker + " had " + std::to_string(w.sent_last_day) +
                      " hardware actions in the last 24h (cap " +
                      std::to_string(limits_.worker_daily_cap) + ")"};
  }
  if (site.held_since) {
    return {.kind = Decision::Kind::kHold,
            .reason = "site " + site_name(c.site) + " unreachable (partition hold since " +
                      *site.held_since + ")",
            .hold_for = limits_.partition_recheck};
  }
  if (site.workers > 0 && site.unreachable >= limits_.partition_min_workers &&
      static_cast<double>(site.unreachable) >
          limits_.partition_share * static_cast<double>(site.workers)) {
    return {.kind = Decision::Kind::kHold,
            .reason = "partition hold: " + std::to_string(site.unreachable) + " of " +
                      std::to_string(site.workers) + " workers of site " + site_name(c.site) +
                      " are unreachable (suspect the network, not the workers)",
            .hold_for = limits_.partition_recheck};
  }
  if (w.since_last && *w.since_last < limits_.worker_min_interval) {
    return {.kind = Decision::Kind::kHold,
            .reason = "minimum interval: " + worker + " had a hardware action " +
                      format_duration(*w.since_last) + " ago (at most one per " +
                      format_duration(limits_.worker_min_interval) + ")",
            .hold_for = limits_.worker_min_interval - *w.since_last};
  }
  if (site.sent_in_window >= limits_.site_max_per_window) {
    return {.kind = Decision::Kind::kHold,
            .reason = "site rate limit: " + std::to_string(site.sent_in_window) +
                      " hardware actions at site " + site_name(c.site) + " in the last " +
                      format_duration(limits_.site_window) + " (limit " +
                      std::to_string(limits_.site_max_per_window) + ")",
            .hold_for = slice_of(limits_.site_window)};
  }
  if (fleet_sent_ >= limits_.fleet_max_per_window) {
    return {.kind = Decision::Kind::kHold,
            .reason = "fleet rate limit: " + std::to_string(fleet_sent_) +
                      " hardware actions in the last " + format_duration(limits_.fleet_window) +
                      " (limit " + std::to_string(limits_.fleet_max_per_window) + ")",
            .hold_for = slice_of(limits_.fleet_window)};
  }
  ++w.sent_last_day;
  if (takes_worker_down(c.action)) ++w.downs_in_loop_window;
  w.since_last = milliseconds(0);
  ++site.sent_in_window;
  ++fleet_sent_;
  return {};
}

}  // namespace fleet::dispatch
