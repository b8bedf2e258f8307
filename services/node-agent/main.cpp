// node-agent: runs on each container host. `register` joins the fleet with a registration token;
// the default mode sends heartbeats (load and containers) and carries out agent commands through
// the Docker Engine API; `rotate` replaces the node credential. See docs/services/node-agent.md.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "core/version.h"
#include "logging/logging.h"
#include "nodeagent/agent.h"
#include "nodeagent/http_call.h"
#include "nodeagent/settings.h"
#include "probes.h"

extern char** environ;

namespace {

using namespace fleet;
using namespace fleet::nodeagent;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitInvalid = 2;

struct Invocation {
  std::string config_file;
  bool once = false;
  bool dry_run = false;
  bool config_check = false;
  bool verbose = false;
  std::vector<std::pair<std::string, std::string>> flags;
  std::string gateway;  // register
  std::string token;    // register
};

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<config::Config> load_config(const config::Schema& schema, const Invocation& inv,
                                   bool file_optional) {
  config::Sources sources;
  if (!inv.config_file.empty() && (!file_optional || file_exists(inv.config_file))) {
    sources.file_path = inv.config_file;
  }
  sources.env = config::environment_from(environ);
  sources.flags = inv.flags;
  return config::Config::load(schema, sources);
}

Status init_logging(const config::Config& c, bool verbose) {
  Status s = logging::init(logging::options_from(c, "node-agent", verbose));
  if (s.ok()) {
    for (const auto& w : c.warnings())
      spdlog::warn("{}", w);
  }
  return s;
}

int do_register(const config::Schema& schema, const Invocation& inv) {
  if (inv.config_file.empty()) {
    std::cerr << "node-agent register: --config PATH is required (the file is written)\n";
    return kExitInvalid;
  }
  if (Status s = check_gateway_url(inv.gateway); !s.ok()) {
    std::cerr << "node-agent register: --gateway: " << s.error().message() << "\n";
    return kExitInvalid;
  }
  auto config = load_config(schema, inv, /*file_optional=*/true);
  if (!config.ok()) {
    std::cerr << "node-agent: " << config.error().message() << "\n";
    return kExitInvalid;
  }
  if (Status s = init_logging(*config, inv.verbose); !s.ok()) {
    std::cerr << "node-agent: " << s.error().message() << "\n";
    return kExitInvalid;
  }
  auto settings = settings_from(*config, Needs::kNothing);
  if (!settings.ok()) {
    spdlog::error("{}", settings.error().message());
    return kExitInvalid;
  }
  settings->gateway.url = inv.gateway;
  auto facts = collect_host_facts(settings->paths);
  if (!facts.ok()) {
    spdlog::error("cannot read the host's facts: {}", facts.error().message());
    return kExitFailed;
  }
  EngineFacts engine{
      .engine = "unknown", .engine_version = "", .agent_version = std::string(version())};
  if (auto v = DockerClient(settings->docker).version(); v.ok()) {
    engine.engine = v->engine;
    engine.engine_version = v->version;
  } else {
    spdlog::warn("the Docker API on {} does not answer ({}): registering without an engine",
                 settings->docker.socket, v.error().message());
  }
  auto reg = GatewayClient(settings->gateway).register_node(inv.token, *facts, engine);
  if (!reg.ok()) {
    spdlog::error("registration failed: {}", reg.error().message());
    return reg.error().transient() ? kExitFailed : kExitInvalid;
  }
  nlohmann::json url = inv.gateway;
  nlohmann::json credential = reg->credential;
  nlohmann::json socket = settings->docker.socket;
  std::vector<std::pair<std::string, std::string>> values = {
      {"gateway_url", url.dump()},
      {"node_id", std::to_string(reg->node_id)},
      {"credential", credential.dump()},
      {"heartbeat_interval_s", std::to_string(reg->heartbeat_interval_s)},
      {"command_poll_s", std::to_string(reg->command_poll_s)},
      {"docker_socket", socket.dump()}};
  // What the host was registered as stays what it reports later (PUT .../facts at every start):
  // a name, addresses or machine id given here must not give way to the discovered ones.
  for (const char* key : {"hostname", "addresses", "machine_id"}) {
    if (const std::string v = config->str(key); !v.empty()) {
      values.emplace_back(key, nlohmann::json(v).dump());
    }
  }
  if (config->boolean("include_loopback")) values.emplace_back("include_loopback", "true");
  Status saved = update_config_file(inv.config_file, values);
  if (!saved.ok()) {
    spdlog::error("registered as node {}, but the config file could not be written: {}",
                  reg->node_id, saved.error().message());
    return kExitFailed;
  }
  spdlog::info("registered as node {} ({}); configuration written to {}", reg->node_id, reg->name,
               inv.config_file);
  std::cout << nlohmann::json({{"node_id", reg->node_id}, {"name", reg->name}}).dump() << "\n";
  return kExitOk;
}

int do_rotate(const config::Schema& schema, const Invocation& inv) {
  if (inv.config_file.empty()) {
    std::cerr << "node-agent rotate: --config PATH is required\n";
    return kExitInvalid;
  }
  auto config = load_config(schema, inv, false);
  if (!config.ok()) {
    std::cerr << "node-agent: " << config.error().message() << "\n";
    return kExitInvalid;
  }
  if (Status s = init_logging(*config, inv.verbose); !s.ok()) return kExitInvalid;
  auto settings = settings_from(*config, Needs::kRegistration);
  if (!settings.ok()) {
    spdlog::error("{}", settings.error().message());
    return kExitInvalid;
  }
  auto fresh =
      GatewayClient(settings->gateway).rotate_credential(settings->node_id, settings->credential);
  if (!fresh.ok()) {
    spdlog::error("credential rotation failed: {}", fresh.error().message());
    return fresh.error().kind() == ErrorKind::kUnauthenticated ? kExitInvalid : kExitFailed;
  }
  if (Status s =
          update_config_file(inv.config_file, {{"credential", nlohmann::json(*fresh).dump()}});
      !s.ok()) {
    spdlog::error(
        "the new credential could not be saved: {} (the old one stays valid for 5 "
        "minutes)",
        s.error().message());
    return kExitFailed;
  }
  spdlog::info("credential of node {} rotated; saved to {}", settings->node_id, inv.config_file);
  return kExitOk;
}

int do_dry_run(Agent& agent, const AgentSettings& s) {
  auto hb = agent.next_heartbeat();
  if (!hb.ok()) {
    spdlog::error("cannot sample the host: {}", hb.error().message());
    return kExitFailed;
  }
  const std::string base = s.gateway.url + "/api/nodes/" + std::to_string(s.node_id);
  nlohmann::json line = {{"type", "heartbeat"},
                         {"would_post", base + "/heartbeat"},
                         {"body", nlohmann::json::parse(heartbeat_body(*hb))}};
  std::cout << line.dump() << "\n";
  std::cout << nlohmann::json({{"type", "command_poll"},
                               {"would_get", base + "/commands"},
                               {"every_s", s.command_poll.count() / 1000},
                               {"note", "a dry run claims and runs no command"}})
                   .dump()
            << "\n";
  std::cout << nlohmann::json({{"type", "summary"}, {"heartbeats", 1}, {"sent", 0}}).dump() << "\n";
  return kExitOk;
}

int do_run(const config::Schema& schema, const Invocation& inv) {
  auto config = load_config(schema, inv, false);
  if (!config.ok()) {
    std::cerr << "node-agent: " << config.error().message() << "\n";
    return kExitInvalid;
  }
  if (Status s = init_logging(*config, inv.verbose); !s.ok()) {
    std::cerr << "node-agent: " << s.error().message() << "\n";
    return kExitInvalid;
  }
  auto settings = settings_from(*config, inv.dry_run ? Needs::kNothing : Needs::kRegistration);
  if (!settings.ok()) {
    spdlog::error("{}", settings.error().message());
    return kExitInvalid;
  }
  spdlog::info("Starting node-agent {} ({})", version_string(),
               inv.config_check ? "config check"
               : inv.dry_run    ? "dry run"
               : inv.once       ? "single heartbeat"
                                : "continuous");
  spdlog::info("Effective configuration: {}", config->describe_masked());

  if (inv.config_check) {
    auto v = DockerClient(settings->docker).version();
    if (!v.ok()) {
      spdlog::error("config check: the Docker API on {} does not answer: {}",
                    settings->docker.socket, v.error().message());
      return kExitFailed;
    }
    spdlog::info("config check passed: {} {} on {}", v->engine, v->version,
                 settings->docker.socket);
    return kExitOk;
  }
  Agent agent(*settings, AgentEnv{.config_path = inv.config_file});
  if (inv.dry_run) return do_dry_run(agent, *settings);
  if (inv.once) {
    Status s = agent.send_once();
    if (!s.ok()) {
      spdlog::error("heartbeat failed: {}", s.error().message());
      return s.error().kind() == ErrorKind::kUnauthenticated ? kExitInvalid : kExitFailed;
    }
    spdlog::info("heartbeat accepted");
    return kExitOk;
  }

  std::shared_ptr<void> probes;
  if (settings->health_port > 0) {
    auto started = start_probe_server(settings->health_address, settings->health_port, agent);
    if (!started.ok()) {
      spdlog::error("port in use or unavailable: health port {}: {}", settings->health_port,
                    started.error().message());
      return kExitFailed;
    }
    probes = std::move(*started);
  }
  std::atomic<bool> done{false};
  std::thread signals([&] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int received = 0;
    while (!done) {
      timespec slice{0, 200'000'000};
      const int sig = sigtimedwait(&set, nullptr, &slice);
      if (sig <= 0) continue;
      if (++received == 1) {
        spdlog::info("signal {} received: finishing the request in flight, then exiting", sig);
        agent.stop();
      } else {
        spdlog::warn("second signal: exiting now");
        logging::shutdown();
        _exit(kExitFailed);
      }
    }
  });
  agent.run();
  done = true;
  signals.join();
  probes.reset();
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  init_http();

  config::Schema schema;
  declare_config(schema);
  Invocation inv;
  CLI::App app("node-agent — reports this container host to fleetward and runs its containers",
               "node-agent");
  app.set_version_flag("--version", "node-agent " + std::string(version_string()));
  app.fallthrough();
  app.add_option("--config,-c", inv.config_file, "JSON configuration file");
  app.add_flag("--once", inv.once, "send one heartbeat, then exit");
  app.add_flag("--dry-run", inv.dry_run,
               "print the heartbeat and the command poll as JSON lines on stdout; send nothing");
  app.add_flag("--config-check", inv.config_check,
               "validate the configuration and reach the Docker socket, then exit");
  app.add_flag("--verbose,-v", inv.verbose, "log at debug level");
  std::map<std::string, std::string> raw;
  for (const auto& key : schema.keys()) {
    if (!key.flag.empty()) app.add_option(key.flag, raw[key.name], key.help);
  }
  std::vector<std::string> sets;
  app.add_option("--set", sets, "override any configuration key: --set key=value (repeatable)");
  auto* reg = app.add_subcommand("register", "join the fleet with a registration token");
  reg->add_option("--gateway", inv.gateway, "the api-gateway URL")->required();
  reg->add_option("--token", inv.token, "the registration token fwr_...")->required();
  auto* rot = app.add_subcommand("rotate", "replace this node's credential (saved to --config)");
  app.require_subcommand(0, 1);
  app.footer(
      "Configuration precedence: flag > environment (FLEET_<KEY>) > config file > defaults.\n"
      "Exit codes: 0 success; 1 the gateway or Docker could not be reached (retry later);\n"
      "            2 configuration invalid or credential refused (fix it; do not restart "
      "blindly).\n"
      "Probes (with --health-port): /health, /ready, /metrics.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitInvalid;
  }
  for (const auto& key : schema.keys()) {
    if (key.flag.empty()) continue;
    if (app.get_option(key.flag.substr(0, key.flag.find(',')))->count() > 0) {
      inv.flags.emplace_back(key.name, raw[key.name]);
    }
  }
  for (const auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "node-agent: --set expects key=value (got '" << s << "')\n";
      return kExitInvalid;
    }
    inv.flags.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  if (int(inv.once) + int(inv.dry_run) + int(inv.config_check) > 1) {
    std::cerr << "node-agent: --once, --dry-run and --config-check exclude each other\n";
    return kExitInvalid;
  }
  int rc;
  if (reg->parsed()) {
    rc = do_register(schema, inv);
  } else if (rot->parsed()) {
    rc = do_rotate(schema, inv);
  } else {
    rc = do_run(schema, inv);
  }
  logging::shutdown();
  return rc;
}
