#include "status_rules.h"

#include <algorithm>
#include <cstdio>

namespace fleet::heartbeat {
namespace {

std::int64_t whole_seconds(milliseconds d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

std::string percent(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

bool is_node(const Observation& w) {
  return w.kind == "node";
}

bool alive(const Observation& w) {
  return is_alive(w);
}

// What the silence is called for each kind.
std::string silence_text(const Observation& w, milliseconds silent) {
  std::string what = is_node(w)           ? "no heartbeat"
                     : w.kind == "asic"   ? "no successful poll"
                     : w.kind == "device" ? "no reading"
                                          : "not seen";
  return what + " for " + seconds_text(silent) + " (timeout " + seconds_text(w.timeout) + ")";
}

Transition make(const Observation& w, std::string to, std::string reason, std::string event) {
  return {.worker_id = w.worker_id,
          .name = w.name,
          .kind = w.kind,
          .site = w.site,
          .from = w.status,
          .to = std::move(to),
          .reason = std::move(reason),
          .event = std::move(event)};
}

// Silent past the timeout: offline. A worker never seen is measured from its status change.
// Not before the monitor itself has watched for a whole timeout since a gap in its cycles.
std::optional<Transition> went_silent(const Observation& w) {
  const milliseconds silent = w.silent_for.value_or(w.status_age);
  if (silent <= w.timeout) return std::nullopt;
  if (w.watching_for && *w.watching_for <= w.timeout) return std::nullopt;
  Transition t = make(w, "offline", silence_text(w, silent), "worker.offline");
  t.went_silent = true;
  return t;
}

// The limits a node's last heartbeat broke, with their values.
std::map<std::string, double> over_limits(const Observation& w, const MonitorOptions& o) {
  std::map<std::string, double> out;
  auto named = [&](const std::string& part) {
    return std::any_of(w.over_limit.begin(), w.over_limit.end(),
                       [&](const std::string& n) { return n.find(part) != std::string::npos; });
  };
  auto check = [&](const char* metric, const char* part, const std::optional<double>& v,
                   double limit) {
    if (v && (*v > limit || named(part))) out[metric] = *v;
  };
  check("cpu_percent", "cpu", w.cpu_percent, o.limit_cpu_percent);
  check("memory_percent", "mem", w.memory_percent, o.limit_memory_percent);
  check("disk_percent", "disk", w.disk_percent, o.limit_disk_percent);
  return out;
}

Transition unhealthy(const Observation& w, const MonitorOptions& o) {
  Transition t = make(w, "unhealthy", "", "worker.unhealthy");
  t.metrics = over_limits(w, o);
  std::string parts;
  for (const auto& [metric, value] : t.metrics) {
    const std::string name = metric.substr(0, metric.find('_'));
    const double limit = name == "cpu"      ? o.limit_cpu_percent
                         : name == "memory" ? o.limit_memory_percent
                                            : o.limit_disk_percent;
    parts +=
        (parts.empty() ? "" : ", ") + name + " " + percent(value) + " % > " + number(limit) + " %";
  }
  if (parts.empty()) parts = "over a resource limit";
  t.reason = parts + " for " + std::to_string(w.over_limit_streak) + " heartbeats";
  return t;
}

Transition recovered(const Observation& w, std::string to, const std::string& detail) {
  Transition t =
      make(w, std::move(to), "recovered after " + seconds_text(w.status_age) + " (" + detail + ")",
           "worker.recovered");
  t.outage_s = whole_seconds(w.status_age);
  return t;
}

std::optional<Transition> decide_node(const Observation& w, const MonitorOptions& o) {
  const bool up = alive(w);
  const bool over = w.over_limit_streak >= o.unhealthy_after;
  const milliseconds hold = recovery_hold(w, o);
  const std::string back_to = w.drain_requested ? "draining" : "online";
  if (w.status == "pending") {
    if (up) {
      return make(w, back_to, "heartbeat received " + seconds_text(*w.silent_for) + " ago", "");
    }
    return w.silent_for ? went_silent(w) : std::nullopt;  // never heartbeated: still installing
  }
  if (w.status == "online" || w.status == "draining") {
    if (!up) return went_silent(w);
    if (w.status == "online" && over) return unhealthy(w, o);
    return std::nullopt;
  }
  if (w.status == "unhealthy") {
    if (!up) return went_silent(w);
    if (w.over_limit_streak == 0 && w.healthy_for && *w.healthy_for >= hold) {
      return recovered(w, back_to, "under every limit for " + seconds_text(*w.healthy_for));
    }
    return std::nullopt;
  }
  if (w.status == "offline") {
    if (!up || !w.streak_for || *w.streak_for < hold) return std::nullopt;
    if (over && !w.drain_requested) return unhealthy(w, o);
    return recovered(w, back_to, "heartbeating for " + seconds_text(*w.streak_for));
  }
  return std::nullopt;
}

std::optional<Transition> decide_other(const Observation& w, const MonitorOptions& o) {
  const bool fresh = alive(w);
  if (w.status == "pending") {
    if (fresh) return make(w, "online", "seen " + seconds_text(*w.silent_for) + " ago", "");
    return w.silent_for ? went_silent(w) : std::nullopt;
  }
  if (w.status == "online" || w.status == "unhealthy" || w.status == "draining") {
    return fresh ? std::nullopt : went_silent(w);
  }
  if (w.status == "offline") {
    // Seen since it went offline (not merely a last poll before a poller marked it offline),
    // and offline for the hold at least.
    if (fresh && w.seen_since_status && w.status_age >= recovery_hold(w, o)) {
      return recovered(w, "online", "seen " + seconds_text(*w.silent_for) + " ago");
    }
  }
  return std::nullopt;
}

}  // namespace

bool is_alive(const Observation& w) {
  return w.silent_for && *w.silent_for <= w.timeout;
}

std::string seconds_text(milliseconds d) {
  return std::to_string(whole_seconds(d)) + " s";
}

milliseconds recovery_hold(const Observation& w, const MonitorOptions& o) {
  return w.recent_changes > o.flap_changes ? std::max(o.flap_hold, o.recovery_hold)
                                           : o.recovery_hold;
}

std::optional<Transition> decide(const Observation& w, const MonitorOptions& o) {
  if (w.status == "removed") return std::nullopt;
  if (w.status == "unreachable") {
    // Back: our network was at fault, not the worker, so no hold and no notification (the site's
    // site.reachable says it).
    if (alive(w) && (is_node(w) || w.seen_since_status)) {
      const std::string to = is_node(w) && w.drain_requested ? "draining" : "online";
      Transition t = make(w, to, "reachable again after " + seconds_text(w.status_age), "");
      if (to == "online" && is_node(w) && w.over_limit_streak >= o.unhealthy_after) {
        t = unhealthy(w, o);
      }
      return t;
    }
    if (w.site_held || alive(w)) return std::nullopt;
    // Still silent after its site's hold cleared: offline on its own.
    const milliseconds quiet = std::min(w.status_age, w.since_hold_cleared.value_or(w.status_age));
    if (quiet <= w.timeout) return std::nullopt;
    return make(w, "offline",
                silence_text(w, w.silent_for.value_or(w.status_age)) + ", still silent " +
                    seconds_text(quiet) + " after its site's partition hold",
                "worker.offline");
  }
  return is_node(w) ? decide_node(w, o) : decide_other(w, o);
}

std::vector<SiteAction> apply_partitions(std::vector<Transition>& transitions,
                                         const std::map<std::string, SiteState>& sites,
                                         const MonitorOptions& o) {
  std::map<std::string, int> silent;
  for (const auto& t : transitions) {
    if (t.went_silent) ++silent[t.site];
  }
  std::vector<SiteAction> actions;
  std::map<std::string, bool> hold;  // sites whose went-silent workers become unreachable
  auto partitioned = [&](int n, int workers) {
    return n >= o.partition_min_workers &&
           static_cast<double>(n) > o.partition_share * static_cast<double>(workers);
  };
  for (const auto& [site, st] : sites) {
    const int now_silent = silent.count(site) ? silent[site] : 0;
    // The workers timing out in this cycle are among the quiet ones (their status is still
    // online); the quiet count can only be short of them if they were not counted at all.
    const int quiet = std::max(st.quiet, now_silent);
    if (st.held) {
      const int still = st.still_silent + quiet;
      if (partitioned(still, st.workers)) {
        hold[site] = true;
      } else {
        actions.push_back({.site = site,
                           .kind = SiteAction::Kind::kClear,
                           .silent = still,
                           .workers = st.workers,
                           .reason = std::to_string(still) + " of " + std::to_string(st.workers) +
                                     " workers silent"});
      }
    } else if (now_silent > 0 && partitioned(quiet, st.workers)) {
      hold[site] = true;
      actions.push_back({.site = site,
                         .kind = SiteAction::Kind::kHold,
                         .silent = quiet,
                         .workers = st.workers,
                         .reason = std::to_string(quiet) + " of " + std::to_string(st.workers) +
                                   " workers went silent together: our own network or "
                                   "database is suspected"});
    }
  }
  for (auto& t : transitions) {
    if (!t.went_silent || !hold.count(t.site)) continue;
    t.to = "unreachable";
    t.event.clear();
    t.reason += "; its site " + (t.site.empty() ? std::string("(no site)") : t.site) +
                " is held (partition: most of it went silent at once)";
  }
  return actions;
}

}  // namespace fleet::heartbeat
