#include "cli.h"

#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "core/version.h"

namespace fleet::runtime {

std::variant<Invocation, int> parse_command_line(int argc, char** argv, const WorkerSpec& spec,
                                                 const config::Schema& schema) {
  Invocation inv;
  CLI::App app(spec.name + " — " + spec.description, spec.name);
  app.set_version_flag("--version", std::string(spec.name) + " " + std::string(version_string()));
  app.add_option("--config,-c", inv.config_file, "JSON configuration file")
      ->check(CLI::ExistingFile);
  app.add_flag("--once", inv.once, "run one cycle, then exit (for cron)");
  app.add_flag("--dry-run", inv.dry_run,
               "run one cycle that reads and computes but writes and sends nothing; decisions are "
               "printed to stdout as JSON lines");
  app.add_flag("--config-check", inv.config_check,
               "validate the configuration, connect to the database, check the schema, then exit");
  app.add_flag("--verbose,-v", inv.verbose, "log at debug level");

  std::map<std::string, std::string> raw;  // key -> value given by its flag
  for (const auto& key : schema.keys()) {
    if (key.flag.empty()) continue;
    app.add_option(key.flag, raw[key.name], key.help);
  }
  std::vector<std::string> sets;
  app.add_option("--set", sets, "override any configuration key: --set key=value (repeatable)");

  app.footer(
      "Configuration precedence: flag > environment (DATABASE_URL or POSTGRES_SERVER/POSTGRES_DB/\n"
      "POSTGRES_USER/POSTGRES_PASSWORD, FLEET_<KEY>) > config file > defaults.\n"
      "Exit codes: 0 success; 1 the cycle failed or the database was unreachable (retry later);\n"
      "            2 configuration or schema invalid (fix it; do not restart blindly).\n"
      "Probes (with --health-port): /health (/livez), /ready (/readyz), /metrics.");

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
      std::cerr << spec.name << ": --set expects key=value (got '" << s << "')\n";
      return kExitInvalid;
    }
    inv.flags.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  int modes = int(inv.once) + int(inv.dry_run) + int(inv.config_check);
  if (modes > 1) {
    std::cerr << spec.name << ": --once, --dry-run and --config-check exclude each other\n";
    return kExitInvalid;
  }
  return inv;
}

}  // namespace fleet::runtime
