#include "sync_options.h"

#include "config/config.h"
#include "secrets/secret_box.h"

namespace fleet::hiveos_sync {

void declare_config(config::Schema& s) {
  using config::Type;
  secrets::declare_config(s);
  s.add({.name = "hiveos.stale_after_s",
         .type = Type::kInt,
         .help = "a rig whose HiveOS stats_time is older than this many seconds is not seen "
                 "(offline after monitor.rig_timeout) even if HiveOS says online",
         .default_value = std::int64_t{300},
         .min = 10,
         .max = 86'400});
  s.add({.name = "hiveos.timeout_ms",
         .type = Type::kInt,
         .help = "timeout of one HiveOS request, in milliseconds",
         .default_value = std::int64_t{15'000},
         .min = 100,
         .max = 300'000});
  s.add({.name = "hiveos.connect_timeout_ms",
         .type = Type::kInt,
         .help = "connect timeout of one HiveOS request, in milliseconds",
         .default_value = std::int64_t{3'000},
         .min = 100,
         .max = 60'000});
  s.add({.name = "hiveos.verify_tls",
         .type = Type::kBool,
         .help = "verify the TLS certificate of https:// accounts",
         .default_value = true});
  s.add({.name = "hiveos.retries",
         .type = Type::kInt,
         .help = "retries of a request after 5xx / 521 / timeout / transport failures, within a "
                 "cycle (jittered exponential backoff); then the account is failing",
         .default_value = std::int64_t{3},
         .min = 0,
         .max = 10});
  s.add({.name = "hiveos.retry_initial_ms",
         .type = Type::kInt,
         .help = "backoff before the first retry, in milliseconds (doubles per retry)",
         .default_value = std::int64_t{1'000},
         .min = 10,
         .max = 60'000});
  s.add({.name = "hiveos.max_budget_wait",
         .type = Type::kDuration,
         .help = "a request the account's budget (or a Retry-After) holds back longer than this "
                 "ends the account's cycle instead of waiting",
         .default_value = milliseconds(60'000),
         .min = 0,
         .max = 3600});
  s.add({.name = "hiveos.readings",
         .type = Type::kBool,
         .help = "also append live rigs' metrics to readings (the history rules' windows read)",
         .default_value = true});
  s.add({.name = "hiveos.readings_interval",
         .type = Type::kDuration,
         .help = "a live rig's metrics go to readings at most this often (metrics_latest is "
                 "updated every cycle); 0 = every new stats_time",
         .default_value = milliseconds(60'000),
         .min = 0,
         .max = 86'400});
  s.add({.name = "hiveos.latest_refresh",
         .type = Type::kDuration,
         .help = "a live rig's metric whose value did not change is rewritten in metrics_latest "
                 "(its observed_at moved to the new stats_time) at most this often; a changed "
                 "value always is. 0 = every cycle. Keep it well under the rules' stale_after",
         .default_value = milliseconds(60'000),
         .min = 0,
         .max = 3600});
}

SyncOptions options_from(const config::Config& c) {
  SyncOptions o;
  o.stale_after_s = c.integer("hiveos.stale_after_s");
  o.timeout = milliseconds(c.integer("hiveos.timeout_ms"));
  o.connect_timeout = milliseconds(c.integer("hiveos.connect_timeout_ms"));
  o.verify_tls = c.boolean("hiveos.verify_tls");
  o.retries = static_cast<int>(c.integer("hiveos.retries"));
  o.retry_initial = milliseconds(c.integer("hiveos.retry_initial_ms"));
  o.retry_max = std::max(o.retry_max, o.retry_initial);
  o.max_budget_wait = c.duration("hiveos.max_budget_wait");
  o.readings = c.boolean("hiveos.readings");
  o.readings_interval = c.duration("hiveos.readings_interval");
  o.latest_refresh = c.duration("hiveos.latest_refresh");
  return o;
}

}  // namespace fleet::hiveos_sync
