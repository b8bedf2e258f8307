// The status-poller's configuration keys.
#include "secrets/secret_box.h"
#include "status_poller.h"

namespace fleet::poller {

void declare_config(config::Schema& schema) {
  using config::Type;
  asic::declare_firmware_config(schema, std::chrono::seconds(3));
  secrets::declare_config(schema);
  schema.add({.name = "poll.claim_batch",
              .type = Type::kInt,
              .help = "miners claimed per claim statement",
              .default_value = std::int64_t{1000},
              .min = 1,
              .max = 10'000});
  schema.add({.name = "poll.persist_batch",
              .type = Type::kInt,
              .help = "statuses stored per transaction",
              .default_value = std::int64_t{1000},
              .min = 1,
              .max = 20'000});
  schema.add({.name = "poll.max_per_cycle",
              .type = Type::kInt,
              .help = "miners polled per cycle at most (more waiting: the next cycle comes sooner)",
              .default_value = std::int64_t{100'000},
              .min = 1,
              .max = 1'000'000});
  schema.add({.name = "poll.lease",
              .type = Type::kDuration,
              .help = "how long a claim is held; a replica that dies frees its miners after this",
              .default_value = std::chrono::milliseconds(60'000),
              .min = 5,
              .max = 3600});
  schema.add({.name = "poll.max_backoff",
              .type = Type::kDuration,
              .help = "longest wait before polling a failing miner again",
              .default_value = std::chrono::milliseconds(600'000),
              .min = 1,
              .max = 86'400});
  schema.add({.name = "poll.offline_after",
              .type = Type::kInt,
              .help = "consecutive failed polls before a miner's worker is marked offline",
              .default_value = std::int64_t{3},
              .min = 1,
              .max = 100});
  schema.add({.name = "poll.partition_share",
              .type = Type::kDouble,
              .help = "when more than this share of a cycle's polls fail, failing miners are "
                      "marked unreachable instead of offline (suspect our own network)",
              .default_value = 0.5,
              .min = 0.01,
              .max = 1});
  schema.add({.name = "poll.readings",
              .type = Type::kBool,
              .help = "also append every metric to readings (the history rules' windows read)",
              .default_value = true});
  schema.add({.name = "poll.readings_interval",
              .type = Type::kDuration,
              .help = "a miner's metrics go to readings at most this often (every poll still "
                      "updates metrics_latest and statuses); 0 = every poll",
              .default_value = std::chrono::milliseconds(60'000),
              .min = 0,
              .max = 86'400});
  schema.add({.name = "poll.retention_days",
              .type = Type::kInt,
              .help = "days of statuses, status_fans and chain_snapshots kept (partition policy)",
              .default_value = std::int64_t{7},
              .min = 1,
              .max = 3650});
  schema.add({.name = "poll.reprovision",
              .type = Type::kBool,
              .help = "re-provision a miner's API key when it is rejected (401)",
              .default_value = true});
  schema.add({.name = "poll.max_reprovisions",
              .type = Type::kInt,
              .help = "API keys re-provisioned per cycle at most",
              .default_value = std::int64_t{100},
              .min = 0,
              .max = 100'000});
  schema.add({.name = "poll.provision_backoff",
              .type = Type::kDuration,
              .help = "a miner's key is provisioned at most once per this period",
              .default_value = std::chrono::milliseconds(300'000),
              .min = 1,
              .max = 86'400});
  schema.add({.name = "poll.timeout_floor",
              .type = Type::kDuration,
              .help = "shortest deadline of a poll; a miner that answered its last poll gets "
                      "poll.timeout_multiplier times its usual answer time, at least this and at "
                      "most firmware.request_timeout (0: always firmware.request_timeout)",
              .default_value = std::chrono::milliseconds(1000),
              .min = 0,
              .max = 300});
  schema.add({.name = "poll.timeout_multiplier",
              .type = Type::kDouble,
              .help = "a healthy miner's deadline in multiples of its usual answer time",
              .default_value = 4.0,
              .min = 1,
              .max = 100});
}

PollerOptions options_from(const config::Config& config) {
  PollerOptions o;
  o.firmware = asic::firmware_settings_from(config);
  o.schedule.interval = config.duration("interval");
  o.schedule.max_backoff = config.duration("poll.max_backoff");
  o.claim_batch = static_cast<int>(config.integer("poll.claim_batch"));
  o.persist_batch = static_cast<int>(config.integer("poll.persist_batch"));
  o.max_per_cycle = static_cast<int>(config.integer("poll.max_per_cycle"));
  o.lease = config.duration("poll.lease");
  o.offline_after = static_cast<int>(config.integer("poll.offline_after"));
  o.partition_share = config.number("poll.partition_share");
  o.readings = config.boolean("poll.readings");
  o.readings_interval = config.duration("poll.readings_interval");
  o.retention_days = static_cast<int>(config.integer("poll.retention_days"));
  o.reprovision = config.boolean("poll.reprovision");
  o.max_reprovisions = static_cast<int>(config.integer("poll.max_reprovisions"));
  o.provision_backoff = config.duration("poll.provision_backoff");
  o.timeout = {.max = o.firmware.api.timeout,
               .floor = config.duration("poll.timeout_floor"),
               .multiplier = config.number("poll.timeout_multiplier")};
  if (o.lease < 2 * o.firmware.api.timeout + std::chrono::seconds(5)) {
    throw runtime::ConfigError(
        "poll.lease must exceed twice firmware.request_timeout plus 5s, or a slow miner's claim "
        "could expire while it is still being polled");
  }
  return o;
}

}  // namespace fleet::poller
