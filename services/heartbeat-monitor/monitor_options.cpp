#include "monitor_options.h"

#include <algorithm>

#include "config/config.h"
#include "runtime/worker.h"

namespace fleet::heartbeat {
namespace {

constexpr double kDay = 86'400;

milliseconds secs(std::int64_t s) {
  return milliseconds(s * 1000);
}

}  // namespace

bool MonitorOptions::notifies(const std::string& kind) const {
  return std::find(notify_kinds.begin(), notify_kinds.end(), kind) != notify_kinds.end();
}

void declare_config(config::Schema& s) {
  using config::Type;
  s.add({.name = "monitor.node_timeout",
         .type = Type::kDuration,
         .help = "a node without a heartbeat this long is offline",
         .default_value = secs(120),
         .min = 5,
         .max = kDay});
  s.add({.name = "monitor.asic_timeout",
         .type = Type::kDuration,
         .help = "an ASIC without a successful poll this long is offline (status-poller's own "
                 "poll.offline_after acts sooner; this is the backstop)",
         .default_value = secs(600),
         .min = 5,
         .max = 7 * kDay});
  s.add({.name = "monitor.rig_timeout",
         .type = Type::kDuration,
         .help = "a rig not seen (workers.last_seen_at) this long is offline",
         .default_value = secs(300),
         .min = 5,
         .max = 7 * kDay});
  s.add({.name = "monitor.device_timeout_factor",
         .type = Type::kDouble,
         .help = "a device without a reading for this many times its expected_interval is offline",
         .default_value = 2.0,
         .min = 1,
         .max = 100});
  s.add({.name = "monitor.unhealthy_after",
         .type = Type::kInt,
         .help = "a node is unhealthy after this many consecutive heartbeats over a limit",
         .default_value = std::int64_t{3},
         .min = 1,
         .max = 1000});
  s.add({.name = "monitor.recovery_hold",
         .type = Type::kDuration,
         .help = "a worker must be back (heartbeating, under every limit) this long to recover",
         .default_value = secs(60),
         .min = 0,
         .max = kDay});
  s.add({.name = "monitor.flap_changes",
         .type = Type::kInt,
         .help = "more status changes than this within monitor.flap_window: the worker flaps",
         .default_value = std::int64_t{4},
         .min = 1,
         .max = 1000});
  s.add({.name = "monitor.flap_window",
         .type = Type::kDuration,
         .help = "the window of monitor.flap_changes",
         .default_value = secs(15 * 60),
         .min = 60,
         .max = kDay});
  s.add({.name = "monitor.flap_hold",
         .type = Type::kDuration,
         .help = "the recovery hold of a flapping worker",
         .default_value = secs(5 * 60),
         .min = 0,
         .max = kDay});
  s.add({.name = "monitor.partition_share",
         .type = Type::kDouble,
         .help = "more than this share of a site's workers silent in one cycle holds the site "
                 "(unreachable, not offline)",
         .default_value = 0.5,
         .min = 0,
         .max = 1});
  s.add({.name = "monitor.partition_quiet_share",
         .type = Type::kDouble,
         .help = "a worker silent for more than this share of its timeout counts towards its "
                 "site's partition (heartbeats are spread over an interval, so a cut-off site's "
                 "workers time out in different cycles)",
         .default_value = 0.5,
         .min = 0.1,
         .max = 1});
  s.add({.name = "monitor.partition_min_workers",
         .type = Type::kInt,
         .help = "...and at least this many",
         .default_value = std::int64_t{3},
         .min = 1,
         .max = 1'000'000});
  s.add({.name = "monitor.notify_kinds",
         .type = Type::kStringList,
         .help = "kinds whose offline/unhealthy/recovered changes are notified (node, asic, rig, "
                 "device)",
         .default_value = std::vector<std::string>{"node"}});
  s.add({.name = "monitor.limits.cpu_percent",
         .type = Type::kDouble,
         .help = "a node's CPU limit, as the gateway's nodes.limits.cpu_percent (for messages)",
         .default_value = 90.0,
         .min = 0,
         .max = 100});
  s.add({.name = "monitor.limits.memory_percent",
         .type = Type::kDouble,
         .help = "as the gateway's nodes.limits.memory_percent (for messages)",
         .default_value = 95.0,
         .min = 0,
         .max = 100});
  s.add({.name = "monitor.limits.disk_percent",
         .type = Type::kDouble,
         .help = "as the gateway's nodes.limits.disk_percent (for messages)",
         .default_value = 90.0,
         .min = 0,
         .max = 100});
  s.add({.name = "monitor.watch_gap",
         .type = Type::kDuration,
         .help = "when no monitor cycle ran for longer than this (the monitor or the whole system "
                 "was down), every worker gets its full timeout from the next cycle before it "
                 "counts as silent; keep it above the interval between cycles (cron: the schedule)",
         .default_value = secs(120),
         .min = 1,
         .max = kDay});
  s.add({.name = "monitor.history_retention",
         .type = Type::kDuration,
         .help = "worker_status_history rows older than this are deleted",
         .default_value = milliseconds(static_cast<std::int64_t>(90 * kDay * 1000)),
         .min = 3600,
         .max = 3650 * kDay});
}

MonitorOptions options_from(const config::Config& c) {
  MonitorOptions o;
  o.node_timeout = c.duration("monitor.node_timeout");
  o.asic_timeout = c.duration("monitor.asic_timeout");
  o.rig_timeout = c.duration("monitor.rig_timeout");
  o.device_timeout_factor = c.number("monitor.device_timeout_factor");
  o.unhealthy_after = static_cast<int>(c.integer("monitor.unhealthy_after"));
  o.recovery_hold = c.duration("monitor.recovery_hold");
  o.flap_changes = static_cast<int>(c.integer("monitor.flap_changes"));
  o.flap_window = c.duration("monitor.flap_window");
  o.flap_hold = c.duration("monitor.flap_hold");
  o.partition_share = c.number("monitor.partition_share");
  o.partition_quiet_share = c.number("monitor.partition_quiet_share");
  o.partition_min_workers = static_cast<int>(c.integer("monitor.partition_min_workers"));
  o.notify_kinds = c.strings("monitor.notify_kinds");
  for (const auto& kind : o.notify_kinds) {
    if (kind != "node" && kind != "asic" && kind != "rig" && kind != "device") {
      throw runtime::ConfigError("monitor.notify_kinds: unknown kind '" + kind +
                                 "' (node, asic, rig or device)");
    }
  }
  o.limit_cpu_percent = c.number("monitor.limits.cpu_percent");
  o.limit_memory_percent = c.number("monitor.limits.memory_percent");
  o.limit_disk_percent = c.number("monitor.limits.disk_percent");
  o.history_retention = c.duration("monitor.history_retention");
  o.watch_gap = c.duration("monitor.watch_gap");
  return o;
}

}  // namespace fleet::heartbeat
