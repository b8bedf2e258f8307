#include "dispatch/options.h"

#include "asic/firmware_config.h"
#include "runtime/worker.h"
#include "secrets/secret_box.h"

namespace fleet::dispatch {

using config::Type;
using std::chrono::milliseconds;

namespace {
constexpr double kDay = 86'400;
}

void declare_config(config::Schema& schema) {
  asic::declare_firmware_config(schema, std::chrono::seconds(10));
  secrets::declare_config(schema);
  schema.add({.name = "dispatch.batch",
              .type = Type::kInt,
              .help = "due commands examined per claim",
              .default_value = std::int64_t{500},
              .min = 1,
              .max = 10'000});
  schema.add({.name = "dispatch.max_in_flight",
              .type = Type::kInt,
              .help = "commands sent and not yet reported, at most",
              .default_value = std::int64_t{5000},
              .min = 1,
              .max = 100'000});
  schema.add({.name = "dispatch.lease",
              .type = Type::kDuration,
              .help = "a command in flight is rescued by another dispatcher after this long "
                      "without a renewal",
              .default_value = milliseconds(60'000),
              .min = 3,
              .max = 3600});
  schema.add({.name = "dispatch.retry_initial",
              .type = Type::kDuration,
              .help = "first retry delay after a transient failure (doubles, with jitter)",
              .default_value = milliseconds(2000),
              .min = 0.01,
              .max = 3600});
  schema.add({.name = "dispatch.retry_max",
              .type = Type::kDuration,
              .help = "longest retry delay",
              .default_value = milliseconds(60'000),
              .min = 0.01,
              .max = kDay});
  schema.add({.name = "dispatch.sweep_every",
              .type = Type::kDuration,
              .help = "how often expired commands and dead dispatchers' leases are looked for",
              .default_value = milliseconds(5000),
              .min = 0.1,
              .max = 3600});
  schema.add({.name = "dispatch.drain_timeout",
              .type = Type::kDuration,
              .help = "on shutdown, wait this long for commands in flight to report",
              .default_value = milliseconds(20'000),
              .min = 0,
              .max = 600});
  schema.add({.name = "dispatch.firmware_threads",
              .type = Type::kInt,
              .help = "firmware commands carried out at once (0 = no firmware channel)",
              .default_value = std::int64_t{32},
              .min = 0,
              .max = 1024});
  schema.add({.name = "dispatch.reboot_after",
              .type = Type::kInt,
              .help = "seconds a miner waits before rebooting (POST /system/reboot after)",
              .default_value = std::int64_t{3},
              .min = 0,
              .max = 600});
  // Safety (DESIGN §6).
  schema.add({.name = "dispatch.worker_min_interval",
              .type = Type::kDuration,
              .help = "at most one hardware action per worker within this time (held until then)",
              .default_value = milliseconds(5 * 60'000),
              .min = 0,
              .max = kDay});
  schema.add({.name = "dispatch.worker_daily_cap",
              .type = Type::kInt,
              .help = "at most this many hardware actions per worker in 24 hours (then skipped)",
              .default_value = std::int64_t{6},
              .min = 0,
              .max = 100'000});
  schema.add({.name = "dispatch.reboot_loop_count",
              .type = Type::kInt,
              .help = "a worker taken down this often within dispatch.reboot_loop_window is not "
                      "taken down again (0 = off)",
              .default_value = std::int64_t{3},
              .min = 0,
              .max = 1000});
  schema.add({.name = "dispatch.reboot_loop_window",
              .type = Type::kDuration,
              .help = "the window of dispatch.reboot_loop_count",
              .default_value = milliseconds(3'600'000),
              .min = 1,
              .max = 7 * kDay});
  schema.add(
      {.name = "dispatch.fleet_rate_limit",
       .type = Type::kInt,
       .help = "hardware actions across the fleet per dispatch.fleet_rate_window (more wait)",
       .default_value = std::int64_t{20},
       .min = 0,
       .max = 10'000'000});
  schema.add({.name = "dispatch.fleet_rate_window",
              .type = Type::kDuration,
              .help = "the window of dispatch.fleet_rate_limit",
              .default_value = milliseconds(60'000),
              .min = 0.1,
              .max = kDay});
  schema.add({.name = "dispatch.site_rate_limit",
              .type = Type::kInt,
              .help = "hardware actions per site per dispatch.site_rate_window (more wait)",
              .default_value = std::int64_t{10},
              .min = 0,
              .max = 10'000'000});
  schema.add({.name = "dispatch.site_rate_window",
              .type = Type::kDuration,
              .help = "the window of dispatch.site_rate_limit",
              .default_value = milliseconds(60'000),
              .min = 0.1,
              .max = kDay});
  schema.add({.name = "dispatch.partition_share",
              .type = Type::kDouble,
              .help = "hold a site's hardware actions while more than this share of its workers "
                      "is unreachable",
              .default_value = 0.5,
              .min = 0,
              .max = 1});
  schema.add({.name = "dispatch.partition_min_workers",
              .type = Type::kInt,
              .help = "...and at least this many",
              .default_value = std::int64_t{3},
              .min = 1,
              .max = 1'000'000});
  schema.add({.name = "dispatch.partition_recheck",
              .type = Type::kDuration,
              .help = "how often a command held by a partition is looked at again",
              .default_value = milliseconds(30'000),
              .min = 0.1,
              .max = 3600});
  // The hiveos channel (issue 11).
  schema.add({.name = "hiveos.enabled",
              .type = Type::kBool,
              .help = "carry out commands of HiveOS workers through their HiveOS account",
              .default_value = true});
  schema.add({.name = "hiveos.threads",
              .type = Type::kInt,
              .help = "threads of the hiveos channel (accounts are spread over them)",
              .default_value = std::int64_t{2},
              .min = 1,
              .max = 64});
  schema.add({.name = "hiveos.gather",
              .type = Type::kDuration,
              .help = "commands for one farm and command queued within this go as one "
                      "multi-worker request",
              .default_value = milliseconds(250),
              .min = 0,
              .max = 60});
  schema.add({.name = "hiveos.poll_every",
              .type = Type::kDuration,
              .help = "how often a sent command's worker messages are read for its result",
              .default_value = milliseconds(3000),
              .min = 0.05,
              .max = 600});
  schema.add({.name = "hiveos.result_timeout",
              .type = Type::kDuration,
              .help = "a command without a result message from HiveOS within this fails",
              .default_value = milliseconds(120'000),
              .min = 0.1,
              .max = 3600});
  schema.add({.name = "hiveos.timeout",
              .type = Type::kDuration,
              .help = "one HiveOS request may take this long",
              .default_value = milliseconds(15'000),
              .min = 0.1,
              .max = 300});
  schema.add({.name = "hiveos.verify_tls",
              .type = Type::kBool,
              .help = "verify HiveOS's TLS certificate",
              .default_value = true});
  // The relay channel's broker.
  schema.add({.name = "mqtt.host",
              .type = Type::kString,
              .help = "MQTT broker of the relay controllers",
              .default_value = std::string("127.0.0.1")});
  schema.add({.name = "mqtt.port",
              .type = Type::kInt,
              .help = "MQTT broker port; 0 = no relay channel",
              .default_value = std::int64_t{0},
              .min = 0,
              .max = 65535});
  schema.add({.name = "mqtt.client_id",
              .type = Type::kString,
              .help = "MQTT client id (default: fleetward-dispatcher-<instance id>)",
              .default_value = std::string()});
  schema.add({.name = "mqtt.username",
              .type = Type::kString,
              .help = "MQTT user name (empty: anonymous)",
              .default_value = std::string()});
  schema.add({.name = "mqtt.password",
              .type = Type::kString,
              .help = "MQTT password",
              .default_value = std::string(),
              .secret = true,
              .env = {"FLEET_MQTT_PASSWORD"}});
  schema.add({.name = "mqtt.tls",
              .type = Type::kBool,
              .help = "connect with TLS (certificate verified against mqtt.ca_file)",
              .default_value = false});
  schema.add({.name = "mqtt.ca_file",
              .type = Type::kString,
              .help = "CA certificate(s) for mqtt.tls",
              .default_value = std::string()});
  schema.add({.name = "mqtt.cert_file",
              .type = Type::kString,
              .help = "client certificate for mqtt.tls (optional)",
              .default_value = std::string()});
  schema.add({.name = "mqtt.key_file",
              .type = Type::kString,
              .help = "client key for mqtt.tls (optional)",
              .default_value = std::string()});
  schema.add({.name = "mqtt.keepalive",
              .type = Type::kDuration,
              .help = "MQTT keepalive",
              .default_value = milliseconds(30'000),
              .min = 5,
              .max = 3600});
  schema.add({.name = "relay.topic_prefix",
              .type = Type::kString,
              .help = "topic prefix of fleetward-layout controllers",
              .default_value = std::string("fleetward/relay")});
  schema.add({.name = "relay.ack_timeout",
              .type = Type::kDuration,
              .help = "a relay command fails when its controller has not acknowledged within this "
                      "(after the command's own duration)",
              .default_value = milliseconds(10'000),
              .min = 0.05,
              .max = 600});
  schema.add({.name = "relay.controller_refresh",
              .type = Type::kDuration,
              .help = "how often the list of relay controllers is read again",
              .default_value = milliseconds(30'000),
              .min = 0.1,
              .max = 3600});
}

Settings settings_from(const config::Config& c) {
  Settings s;
  auto& d = s.dispatcher;
  d.batch = static_cast<int>(c.integer("dispatch.batch"));
  d.max_in_flight = static_cast<int>(c.integer("dispatch.max_in_flight"));
  d.store.lease = c.duration("dispatch.lease");
  d.store.retry_initial = c.duration("dispatch.retry_initial");
  d.store.retry_max = c.duration("dispatch.retry_max");
  d.sweep_every = c.duration("dispatch.sweep_every");
  d.drain_timeout = c.duration("dispatch.drain_timeout");
  if (d.store.retry_max < d.store.retry_initial) {
    throw runtime::ConfigError(
        "dispatch.retry_max must not be shorter than dispatch.retry_initial");
  }
  auto& l = d.limits;
  l.worker_min_interval = c.duration("dispatch.worker_min_interval");
  l.worker_daily_cap = static_cast<int>(c.integer("dispatch.worker_daily_cap"));
  l.reboot_loop_count = static_cast<int>(c.integer("dispatch.reboot_loop_count"));
  l.reboot_loop_window = c.duration("dispatch.reboot_loop_window");
  l.fleet_max_per_window = static_cast<int>(c.integer("dispatch.fleet_rate_limit"));
  l.fleet_window = c.duration("dispatch.fleet_rate_window");
  l.site_max_per_window = static_cast<int>(c.integer("dispatch.site_rate_limit"));
  l.site_window = c.duration("dispatch.site_rate_window");
  l.partition_share = c.number("dispatch.partition_share");
  l.partition_min_workers = static_cast<int>(c.integer("dispatch.partition_min_workers"));
  l.partition_recheck = c.duration("dispatch.partition_recheck");

  const auto fw = asic::firmware_settings_from(c);
  s.firmware.threads = static_cast<int>(c.integer("dispatch.firmware_threads"));
  s.firmware_enabled = s.firmware.threads > 0;
  s.firmware.api = fw.api;
  s.firmware.default_password = fw.default_password;
  s.firmware.key_description = fw.key_description;
  s.firmware.reboot_after_seconds = c.integer("dispatch.reboot_after");

  s.hiveos_enabled = c.boolean("hiveos.enabled");
  s.hiveos.threads = static_cast<int>(c.integer("hiveos.threads"));
  s.hiveos.gather = c.duration("hiveos.gather");
  s.hiveos.poll_every = c.duration("hiveos.poll_every");
  s.hiveos.result_timeout = c.duration("hiveos.result_timeout");
  s.hiveos.http_timeout = c.duration("hiveos.timeout");
  s.hiveos.verify_tls = c.boolean("hiveos.verify_tls");

  auto& m = s.mqtt;
  m.host = c.str("mqtt.host");
  m.port = static_cast<int>(c.integer("mqtt.port"));
  m.client_id = c.str("mqtt.client_id");
  m.username = c.str("mqtt.username");
  m.password = c.str("mqtt.password");
  m.tls = c.boolean("mqtt.tls");
  m.ca_file = c.str("mqtt.ca_file");
  m.cert_file = c.str("mqtt.cert_file");
  m.key_file = c.str("mqtt.key_file");
  m.keepalive = c.duration("mqtt.keepalive");
  m.topic_prefix = c.str("relay.topic_prefix");
  m.ack_timeout = c.duration("relay.ack_timeout");
  m.controller_refresh = c.duration("relay.controller_refresh");
  if (m.tls && m.ca_file.empty()) {
    throw runtime::ConfigError("mqtt.tls needs mqtt.ca_file (the broker's CA certificate)");
  }
  if (m.cert_file.empty() != m.key_file.empty()) {
    throw runtime::ConfigError("mqtt.cert_file and mqtt.key_file go together");
  }
  return s;
}

}  // namespace fleet::dispatch
