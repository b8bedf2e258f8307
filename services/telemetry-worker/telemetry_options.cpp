// The telemetry-worker's configuration keys.
#include "telemetry_worker.h"

namespace fleet::telemetry {

void declare_config(config::Schema& schema) {
  using config::Type;
  asic::declare_firmware_config(schema, std::chrono::seconds(5));
  schema.add({.name = "telemetry.claim_batch",
              .type = Type::kInt,
              .help = "miners claimed per claim statement",
              .default_value = std::int64_t{1000},
              .min = 1,
              .max = 10'000});
  schema.add({.name = "telemetry.persist_batch",
              .type = Type::kInt,
              .help = "miners whose chains are stored per transaction",
              .default_value = std::int64_t{500},
              .min = 1,
              .max = 10'000});
  schema.add({.name = "telemetry.max_per_cycle",
              .type = Type::kInt,
              .help = "miners read per cycle at most (more waiting: the next cycle comes sooner)",
              .default_value = std::int64_t{100'000},
              .min = 1,
              .max = 1'000'000});
  schema.add({.name = "telemetry.lease",
              .type = Type::kDuration,
              .help = "how long a claim is held; a replica that dies frees its miners after this",
              .default_value = std::chrono::milliseconds(120'000),
              .min = 5,
              .max = 3600});
  schema.add({.name = "telemetry.max_backoff",
              .type = Type::kDuration,
              .help = "longest wait before reading a failing miner's chains again",
              .default_value = std::chrono::milliseconds(900'000),
              .min = 1,
              .max = 86'400});
  schema.add({.name = "telemetry.readings",
              .type = Type::kBool,
              .help = "also append the anomaly metrics to readings",
              .default_value = true});
  schema.add({.name = "telemetry.retention_days",
              .type = Type::kInt,
              .help = "days of chip telemetry kept: older daily partitions are dropped "
                      "(also set as chip_telemetry's partition policy)",
              .default_value = std::int64_t{7},
              .min = 1,
              .max = 3650});
}

TelemetryOptions options_from(const config::Config& config) {
  TelemetryOptions o;
  o.firmware = asic::firmware_settings_from(config);
  o.schedule.interval = config.duration("interval");
  o.schedule.max_backoff = config.duration("telemetry.max_backoff");
  o.claim_batch = static_cast<int>(config.integer("telemetry.claim_batch"));
  o.persist_batch = static_cast<int>(config.integer("telemetry.persist_batch"));
  o.max_per_cycle = static_cast<int>(config.integer("telemetry.max_per_cycle"));
  o.lease = config.duration("telemetry.lease");
  o.readings = config.boolean("telemetry.readings");
  o.retention_days = static_cast<int>(config.integer("telemetry.retention_days"));
  if (o.lease < 2 * o.firmware.api.timeout + std::chrono::seconds(5)) {
    throw runtime::ConfigError(
        "telemetry.lease must exceed twice firmware.request_timeout plus 5s");
  }
  return o;
}

}  // namespace fleet::telemetry
