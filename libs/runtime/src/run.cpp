#include <signal.h>

#include <iostream>

#include <spdlog/spdlog.h>

#include "cli.h"
#include "core/duration.h"
#include "core/version.h"
#include "db/connection_options.h"
#include "logging/logging.h"
#include "runner.h"
#include "runtime/worker.h"

extern char** environ;

namespace fleet::runtime {
namespace {

void declare_runtime_config(config::Schema& schema, const WorkerSpec& spec) {
  using config::Type;
  using std::chrono::milliseconds;
  schema.add({.name = "interval",
              .type = Type::kDuration,
              .help = "time between cycles when idle (seconds, or e.g. 30s, 5m)",
              .default_value = spec.default_interval,
              .flag = "--interval,-i",
              .min = 0.01,
              .max = 86'400});
  schema.add({.name = "active_interval",
              .type = Type::kDuration,
              .help = "time between cycles while work is waiting (adaptive polling)",
              .default_value = milliseconds(1000),
              .min = 0.01,
              .max = 86'400});
  schema.add({.name = "backoff.initial",
              .type = Type::kDuration,
              .help = "wait after the first failed cycle; doubles per failure, with jitter",
              .default_value = milliseconds(1000),
              .min = 0.01,
              .max = 3600});
  schema.add({.name = "backoff.max",
              .type = Type::kDuration,
              .help = "longest wait between failed cycles",
              .default_value = milliseconds(300'000),
              .min = 0.01,
              .max = 86'400});
  schema.add({.name = "health.port",
              .type = Type::kInt,
              .help = "port of the probe server (/health, /ready, /metrics); 0 = off",
              .default_value = std::int64_t{0},
              .flag = "--health-port",
              .min = 0,
              .max = 65535});
  schema.add({.name = "health.address",
              .type = Type::kString,
              .help = "address the probe server listens on",
              .default_value = std::string("0.0.0.0")});
  schema.add(
      {.name = "health.stall_after",
       .type = Type::kDuration,
       .help = "/health fails when the loop made no progress this long (0 = 3 x interval + 30s)",
       .default_value = milliseconds(0),
       .min = 0,
       .max = 86'400});
  schema.add({.name = "shutdown.grace",
              .type = Type::kDuration,
              .help =
                  "on SIGTERM: half of this to finish the cycle, then its statement is cancelled; "
                  "the process exits by the end of it",
              .default_value = milliseconds(4500),
              .min = 0.1,
              .max = 300});
  schema.add({.name = "leader.ttl",
              .type = Type::kDuration,
              .help = "leader lease lifetime (0 = 2 x interval + 10s, at least 15s)",
              .default_value = milliseconds(0),
              .min = 0,
              .max = 86'400});
  db::declare_config(schema);
  logging::declare_config(schema);
  if (spec.declare_config) spec.declare_config(schema);
}

}  // namespace

int run(int argc, char** argv, const WorkerSpec& spec) {
  // Signals are taken by the runner's signal thread (sigtimedwait): block them before any thread
  // starts so every thread inherits the mask. A closed socket must not kill the process.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  config::Schema schema;
  declare_runtime_config(schema, spec);
  auto parsed = parse_command_line(argc, argv, spec, schema);
  if (const int* code = std::get_if<int>(&parsed)) return *code;
  const Invocation& inv = std::get<Invocation>(parsed);

  auto config = config::Config::load(
      schema,
      {.file_path = inv.config_file, .env = config::environment_from(environ), .flags = inv.flags});
  if (!config.ok()) {
    std::cerr << spec.name << ": " << config.error().message() << "\n";
    return kExitInvalid;
  }
  if (Status s = logging::init(logging::options_from(*config, spec.name, inv.verbose)); !s.ok()) {
    std::cerr << spec.name << ": " << s.error().message() << "\n";
    return kExitInvalid;
  }
  for (const auto& w : config->warnings())
    spdlog::warn("{}", w);

  auto database = db::options_from(*config);
  if (!database.ok()) {
    spdlog::error("{}", database.error().message());
    return kExitInvalid;
  }
  database->application_name = spec.name;
  database->read_only = inv.dry_run;

  RunnerOptions options;
  options.invocation = inv;
  options.database = *database;
  options.schedule.interval = config->duration("interval");
  options.schedule.active_interval = config->duration("active_interval");
  options.schedule.failure_backoff.initial = config->duration("backoff.initial");
  options.schedule.failure_backoff.max = config->duration("backoff.max");
  options.health_port = static_cast<int>(config->integer("health.port"));
  options.health_address = config->str("health.address");
  options.stall_after = config->duration("health.stall_after");
  if (options.stall_after.count() == 0) {
    options.stall_after = 3 * options.schedule.interval + std::chrono::seconds(30);
  }
  options.shutdown_grace = config->duration("shutdown.grace");
  options.lease_ttl = config->duration("leader.ttl");
  if (options.lease_ttl.count() != 0 && options.lease_ttl < std::chrono::seconds(1)) {
    spdlog::error("key 'leader.ttl': must be at least 1 second");
    return kExitInvalid;
  }

  spdlog::info("Starting {} {} ({})", spec.name, version_string(),
               inv.config_check ? "config check"
               : inv.dry_run    ? "dry run"
               : inv.once       ? "single cycle"
                                : "continuous");
  spdlog::info("Evaluation interval: {}", format_duration(options.schedule.interval));
  spdlog::info("Database: {}", db::describe(options.database));
  spdlog::info("Effective configuration: {}", config->describe_masked());

  int rc;
  {
    Runner runner(spec, *config, std::move(options));
    rc = runner.main();
  }
  logging::shutdown();
  return rc;
}

}  // namespace fleet::runtime
