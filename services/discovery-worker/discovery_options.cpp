// The discovery-worker's configuration keys.
#include "discovery_cycle.h"
#include "secrets/secret_box.h"

namespace fleet::discovery {

void declare_config(config::Schema& schema) {
  using config::Type;
  asic::declare_firmware_config(schema, std::chrono::seconds(3), 1 << 20,
                                /*adaptive_concurrency=*/true);
  secrets::declare_config(schema);
  schema.add({.name = "discovery.networks",
              .type = Type::kStringList,
              .help = "networks to sweep each cycle, e.g. [\"192.168.1.0/24\"] (seed 003)",
              .required = true,
              .env = {"FLEET_DISCOVERY_NETWORKS"}});
  schema.add({.name = "discovery.port",
              .type = Type::kInt,
              .help = "TCP port of the firmware's web API",
              .default_value = std::int64_t{80},
              .min = 1,
              .max = 65535});
  schema.add({.name = "discovery.dial_timeout",
              .type = Type::kDuration,
              .help = "TCP connect timeout of the light scan (seed 003: 300-500 ms)",
              .default_value = std::chrono::milliseconds(400),
              .min = 0.05,
              .max = 10});
  schema.add({.name = "discovery.max_dials",
              .type = Type::kInt,
              .help = "TCP connects in flight at once during the sweep",
              .default_value = std::int64_t{2048},
              .min = 1,
              .max = 16384});
  schema.add({.name = "discovery.max_addresses",
              .type = Type::kInt,
              .help = "refuse configurations that would sweep more addresses than this",
              .default_value = std::int64_t{1 << 18},
              .min = 1,
              .max = 1 << 24});
  schema.add({.name = "discovery.model_refresh",
              .type = Type::kDuration,
              .help = "re-read /model and /autotune/presets of a model this often",
              .default_value = std::chrono::milliseconds(6 * 3'600'000),
              .min = 1,
              .max = 30 * 86'400});
  schema.add({.name = "discovery.manage_new",
              .type = Type::kBool,
              .help = "new miners start managed (polled); otherwise an operator enables them",
              .default_value = false});
  schema.add({.name = "discovery.provision",
              .type = Type::kBool,
              .help = "provision our API key on miners that have none",
              .default_value = true});
  schema.add({.name = "discovery.max_provisions",
              .type = Type::kInt,
              .help = "API keys provisioned per cycle at most",
              .default_value = std::int64_t{1000},
              .min = 0,
              .max = 100'000});
  schema.add({.name = "discovery.partition_share",
              .type = Type::kDouble,
              .help = "when more than this share of known miners vanish in one sweep (and at "
                      "least 3), they are marked unreachable with their IPs kept",
              .default_value = 0.5,
              .min = 0.01,
              .max = 1});
}

DiscoveryOptions options_from(const config::Config& config) {
  DiscoveryOptions o;
  o.max_addresses = static_cast<std::uint64_t>(config.integer("discovery.max_addresses"));
  auto networks = netscan::parse_cidr_list(config.strings("discovery.networks"), o.max_addresses);
  if (!networks.ok())
    throw runtime::ConfigError("discovery.networks: " + networks.error().message());
  if (networks->empty()) throw runtime::ConfigError("discovery.networks: no network to sweep");
  o.networks = std::move(*networks);
  o.port = static_cast<int>(config.integer("discovery.port"));
  o.dial_timeout = config.duration("discovery.dial_timeout");
  o.max_dials = static_cast<std::size_t>(config.integer("discovery.max_dials"));
  o.firmware = asic::firmware_settings_from(config);
  o.model_refresh = config.duration("discovery.model_refresh");
  o.manage_new = config.boolean("discovery.manage_new");
  o.provision = config.boolean("discovery.provision");
  o.max_provisions = static_cast<int>(config.integer("discovery.max_provisions"));
  o.partition_share = config.number("discovery.partition_share");
  return o;
}

}  // namespace fleet::discovery
