#include "asic/firmware_config.h"

namespace fleet::asic {

void declare_firmware_config(config::Schema& schema, std::chrono::milliseconds request_timeout,
                             std::size_t max_body_bytes, bool adaptive_concurrency) {
  using config::Type;
  schema.add({.name = "firmware.password",
              .type = Type::kString,
              .help = "unlock password of miners that have none of their own (Vnish default)",
              .default_value = std::string("admin"),
              .secret = true,
              .env = {"FLEET_MINER_PASSWORD"}});
  schema.add({.name = "firmware.api_key_description",
              .type = Type::kString,
              .help = "description of our API key on each miner; an existing key with it is reused",
              .default_value = std::string("fleetward")});
  schema.add({.name = "firmware.connect_timeout",
              .type = Type::kDuration,
              .help = "TCP connect timeout per request",
              .default_value = std::chrono::milliseconds(1000),
              .min = 0.05,
              .max = 60});
  schema.add({.name = "firmware.request_timeout",
              .type = Type::kDuration,
              .help = "whole-request timeout per firmware call",
              .default_value = request_timeout,
              .min = 0.1,
              .max = 300});
  schema.add({.name = "firmware.max_body_bytes",
              .type = Type::kInt,
              .help = "answers larger than this are cut off and counted as bad payloads",
              .default_value = static_cast<std::int64_t>(max_body_bytes),
              .min = 1024,
              .max = 64.0 * 1024 * 1024});
  schema.add({.name = "firmware.max_depth",
              .type = Type::kInt,
              .help = "answers nested deeper than this are refused before parsing",
              .default_value = std::int64_t{16},
              .min = 4,
              .max = 256});
  schema.add({.name = "firmware.max_concurrency",
              .type = Type::kInt,
              .help = "firmware requests in flight at once, at most",
              .default_value = std::int64_t{4096},
              .min = 1,
              .max = 16384});
  schema.add({.name = "firmware.adaptive_concurrency",
              .type = Type::kBool,
              .help = "keep fewer requests in flight while answers slow down (queueing), up to "
                      "firmware.max_concurrency",
              .default_value = adaptive_concurrency});
  schema.add({.name = "firmware.latency_target",
              .type = Type::kDuration,
              .help = "with firmware.adaptive_concurrency: fewer requests in flight while the "
                      "mean answer time is over this, more while it is under",
              .default_value = std::chrono::milliseconds(1000),
              .min = 0.001,
              .max = 60});
}

FirmwareSettings firmware_settings_from(const config::Config& config) {
  FirmwareSettings s;
  s.api.connect_timeout = config.duration("firmware.connect_timeout");
  s.api.timeout = config.duration("firmware.request_timeout");
  s.api.limits.max_bytes = static_cast<std::size_t>(config.integer("firmware.max_body_bytes"));
  s.api.limits.max_depth = static_cast<int>(config.integer("firmware.max_depth"));
  s.max_concurrency = static_cast<std::size_t>(config.integer("firmware.max_concurrency"));
  s.adaptive_concurrency = config.boolean("firmware.adaptive_concurrency");
  s.latency_target = config.duration("firmware.latency_target");
  s.default_password = config.str("firmware.password");
  s.key_description = config.str("firmware.api_key_description");
  return s;
}

firmware::CurlTransportOptions transport_options(const FirmwareSettings& settings) {
  firmware::CurlTransportOptions o;
  o.max_concurrent = settings.max_concurrency;
  o.adaptive_concurrency = settings.adaptive_concurrency;
  o.latency_target = settings.latency_target;
  return o;
}

}  // namespace fleet::asic
