// heartbeat-monitor's SQL: a few set-based statements per cycle, whatever the fleet's size.
// Times are the database's (now()); the observations carry ages, not timestamps.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <pqxx/transaction_base>

#include "status_rules.h"

namespace fleet::heartbeat {

struct OpenHold {
  std::int64_t id = 0;
  std::string held_at;  // RFC 3339 UTC
};

struct Snapshot {
  // Workers whose status might change: every one but those online, recently seen and (nodes)
  // under the unhealthy streak. Each carries its site's hold state.
  std::vector<Observation> candidates;
  std::map<std::string, OpenHold> open_holds;  // by site
};

Snapshot load_snapshot(pqxx::transaction_base& tx, const MonitorOptions& options);

// Per site named: workers not removed, and the quiet ones among them (still counted alive but
// silent for more than partition_quiet_share of their timeout).
struct SiteSize {
  int workers = 0;
  int quiet = 0;
};
std::map<std::string, SiteSize> site_sizes(pqxx::transaction_base& tx,
                                           const std::vector<std::string>& sites,
                                           const MonitorOptions& options);

struct Applied {
  std::int64_t changed = 0;   // workers whose status changed (a stale decision changes nothing)
  std::int64_t notified = 0;  // notifications written (a repeated one is not)
  std::int64_t holds_opened = 0;
  std::int64_t holds_cleared = 0;
};

// Opens and clears site holds, changes the statuses (only where the status is still the one the
// decision saw) with their reasons, and writes the notifications, each once: the dedupe key
// names the event, the worker and the new status_since (or the hold).
Applied apply(pqxx::transaction_base& tx, const std::vector<Transition>& transitions,
              const std::vector<SiteAction>& sites, const MonitorOptions& options);

// The notification JSON payload of a transition (also what --dry-run prints).
std::string notification_payload(const Transition& t, const MonitorOptions& options);

// Deletes up to options.history_batch worker_status_history rows older than the retention;
// returns how many. Under dry-run use count_expired_history instead.
std::int64_t prune_history(pqxx::transaction_base& tx, const MonitorOptions& options);
std::int64_t count_expired_history(pqxx::transaction_base& tx, const MonitorOptions& options);

}  // namespace fleet::heartbeat
