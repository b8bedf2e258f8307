// fleetctl: the operator's command line for fleetward (docs/fleetctl.md).
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "core/strings.h"
#include "core/version.h"

extern char** environ;

int main(int argc, char** argv) {
  using namespace fleet::cli;
  CLI::App app("fleetctl — operate a fleetward installation", "fleetctl");
  app.set_version_flag("--version", "fleetctl " + std::string(fleet::version_string()));
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--config,-c", global.config_file, "JSON configuration file")
      ->check(CLI::ExistingFile);
  app.add_option("--database-url", global.database_url,
                 "PostgreSQL URI (default: DATABASE_URL or POSTGRES_* from the environment)");
  app.footer("Exit codes: 0 success; 1 failure (database unreachable, problems found); 2 usage.");

  std::function<int(Context&)> action;

  // migrate
  MigrateOptions migrate;
  auto* m = app.add_subcommand("migrate", "apply pending schema migrations (default), or show or verify them");
  m->add_option("--dir", migrate.dir, "read migrations from this directory instead of the built-in set");
  m->add_option("--target", migrate.target, "apply up to this version only")->check(CLI::PositiveNumber);
  m->add_option("--wait", migrate.wait_seconds, "keep trying to connect for this many seconds")
      ->check(CLI::Range(0, 3600));
  m->add_flag("--create-database", migrate.create_database, "create the database when it does not exist");
  m->callback([&] { if (!action) action = [&](Context& c) { return migrate_apply(c, migrate); }; });
  auto* ms = m->add_subcommand("status", "list applied and pending migrations");
  ms->callback([&] { action = [&](Context& c) { return migrate_status(c, migrate); }; });
  auto* mv = m->add_subcommand("verify", "check applied migrations against their files (checksums)");
  mv->callback([&] { action = [&](Context& c) { return migrate_verify(c, migrate); }; });
  auto* ma = m->add_subcommand("apply", "apply pending migrations");
  ma->callback([&] { action = [&](Context& c) { return migrate_apply(c, migrate); }; });

  // status
  StatusOptions status;
  auto* s = app.add_subcommand("status", "every worker process: state, uptime, cycles, errors");
  s->add_flag("--all", status.all, "include processes that ended over an hour ago");
  s->add_flag("--json", status.json, "print JSON");
  s->add_option("--service", status.service, "only this service");
  s->callback([&] { action = [&](Context& c) { return show_status(c, status); }; });

  // db connections
  bool db_all = false;
  bool db_json = false;
  auto* d = app.add_subcommand("db", "database information");
  d->require_subcommand(1);
  auto* dc = d->add_subcommand("connections", "connections to the database (pg_stat_activity)");
  dc->add_flag("--all", db_all, "every database and background process");
  dc->add_flag("--json", db_json, "print JSON");
  dc->callback([&] { action = [&](Context& c) { return db_connections(c, db_all, db_json); }; });

  // logs tail
  TailOptions tail;
  auto* l = app.add_subcommand("logs", "worker log files");
  l->require_subcommand(1);
  auto* lt = l->add_subcommand("tail", "print the last lines of the log files, and follow them with -f");
  lt->add_option("-n,--lines", tail.lines, "lines per file")->check(CLI::Range(0, 100000));
  lt->add_flag("-f,--follow", tail.follow, "keep printing new lines until Ctrl-C");
  lt->add_option("--dir", tail.dir, "log directory (default: logs.dir / FLEET_LOGS_DIR)");
  lt->add_option("services", tail.services, "only these services' logs (<service>.log)");
  lt->callback([&] { action = [&](Context& c) { return logs_tail(c, tail); }; });

  // up / watch / restart: the local supervisor (seed 004's service monitor). No database needed.
  MonitorOptions monitor;
  std::function<int()> local_action;
  auto* up = app.add_subcommand("up", "start the services of a services file and supervise them until Ctrl-C");
  up->add_option("--services,-s", monitor.services_file, "services file (default: $FLEET_SERVICES_FILE or ./services.json)");
  up->add_option("--status-every", monitor.interval_seconds, "print the status table this often in seconds (0 = never)")
      ->check(CLI::Range(0, 86400));
  up->add_option("names", monitor.names, "only these services (and what they depend on)");
  up->callback([&] { local_action = [&] { return monitor_up(monitor); }; });
  auto* watch = app.add_subcommand("watch", "status of the supervised services, refreshed until Ctrl-C");
  watch->add_option("--services,-s", monitor.services_file, "services file");
  watch->add_option("--interval", monitor.interval_seconds, "refresh every N seconds")->check(CLI::Range(1, 3600));
  watch->add_flag("--once", monitor.once, "print once and exit");
  watch->callback([&] { local_action = [&] { return monitor_watch(monitor); }; });
  auto* restart = app.add_subcommand("restart", "restart the named services, or every failed one");
  restart->add_option("--services,-s", monitor.services_file, "services file");
  restart->add_option("names", monitor.names, "services to restart (default: the failed ones)");
  restart->callback([&] { local_action = [&] { return monitor_restart(monitor); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    return kOk;
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  if (local_action) return local_action();
  if (!action) {
    std::cerr << app.help();
    return kUsage;
  }
  auto ctx = Context::load(global, environ);
  if (!ctx.ok()) {
    std::cerr << "fleetctl: " << ctx.error().message() << "\n";
    return kUsage;
  }
  try {
    return action(**ctx);
  } catch (const ConfigError& e) {
    std::cerr << "fleetctl: " << e.what() << "\n";
    return kUsage;
  } catch (const std::exception& e) {
    std::cerr << "fleetctl: " << fleet::redact_secrets(e.what()) << "\n";
    return kFailed;
  }
}
