// fleetctl: the operator's command line for fleetward (docs/fleetctl.md).
#include <iostream>

#include <CLI/CLI.hpp>

#include "api_cli.h"
#include "commands.h"
#include "core/strings.h"
#include "core/version.h"
#include "rules_commands.h"

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
  auto* m = app.add_subcommand("migrate",
                               "apply pending schema migrations (default), or show or verify them");
  m->add_option("--dir", migrate.dir,
                "read migrations from this directory instead of the built-in set");
  m->add_option("--target", migrate.target, "apply up to this version only")
      ->check(CLI::PositiveNumber);
  m->add_option("--wait", migrate.wait_seconds, "keep trying to connect for this many seconds")
      ->check(CLI::Range(0, 3600));
  m->add_flag("--create-database", migrate.create_database,
              "create the database when it does not exist");
  m->callback([&] {
    if (!action) action = [&](Context& c) { return migrate_apply(c, migrate); };
  });
  auto* ms = m->add_subcommand("status", "list applied and pending migrations");
  ms->callback([&] { action = [&](Context& c) { return migrate_status(c, migrate); }; });
  auto* mv =
      m->add_subcommand("verify", "check applied migrations against their files (checksums)");
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
  auto* lt =
      l->add_subcommand("tail", "print the last lines of the log files, and follow them with -f");
  lt->add_option("-n,--lines", tail.lines, "lines per file")->check(CLI::Range(0, 100000));
  lt->add_flag("-f,--follow", tail.follow, "keep printing new lines until Ctrl-C");
  lt->add_option("--dir", tail.dir, "log directory (default: logs.dir / FLEET_LOGS_DIR)");
  lt->add_option("services", tail.services, "only these services' logs (<service>.log)");
  lt->callback([&] { action = [&](Context& c) { return logs_tail(c, tail); }; });

  // users and API keys (the first admin is made here)
  UsersOptions users;
  auto* u = app.add_subcommand("users", "users of the API and dashboard");
  u->require_subcommand(1);
  auto* ua =
      u->add_subcommand("add", "create a user (password from the terminal, stdin, or generated)");
  ua->add_option("name", users.name, "user name")->required();
  ua->add_option("--role", users.role, "admin, operator or viewer (default viewer)");
  ua->add_flag("--password-stdin", users.password_stdin, "read the password from standard input");
  ua->add_flag("--generate-password", users.generate_password,
               "make a random password and print it");
  ua->callback([&] {
    users.action = "add";
    action = [&](Context& c) { return users_command(c, users); };
  });
  auto* ul = u->add_subcommand("list", "list users");
  ul->callback([&] {
    users.action = "list";
    action = [&](Context& c) { return users_command(c, users); };
  });
  for (const char* verb : {"disable", "enable", "delete", "passwd"}) {
    auto* sub = u->add_subcommand(verb, std::string(verb) + " a user");
    sub->add_option("name", users.name, "user name")->required();
    if (std::string(verb) == "passwd") {
      sub->add_flag("--password-stdin", users.password_stdin,
                    "read the password from standard input");
    }
    sub->callback([&, verb] {
      users.action = verb;
      action = [&](Context& c) { return users_command(c, users); };
    });
  }
  auto* ur = u->add_subcommand("set-role", "change a user's role");
  ur->add_option("name", users.name, "user name")->required();
  ur->add_option("role", users.role, "admin, operator or viewer")->required();
  ur->callback([&] {
    users.action = "set-role";
    action = [&](Context& c) { return users_command(c, users); };
  });

  KeysOptions keys;
  auto* k = app.add_subcommand("keys", "API keys");
  k->require_subcommand(1);
  auto* kc = k->add_subcommand("create", "create an API key for a user; prints the key once");
  kc->add_option("--user", keys.user, "owner")->required();
  kc->add_option("--name", keys.name, "what the key is for")->required();
  kc->add_option("--role", keys.role,
                 "admin, operator, viewer or ingest (push readings only; default: the owner's)");
  kc->add_option("--device", keys.devices,
                 "ingest keys: a device (worker name, or a prefix ending in *) it may write; "
                 "repeatable (default: every device)");
  kc->add_option("--expires-days", keys.expires_days, "expire after this many days (default 90)")
      ->check(CLI::Range(1, 3650));
  kc->callback([&] {
    keys.action = "create";
    action = [&](Context& c) { return keys_command(c, keys); };
  });
  auto* kl = k->add_subcommand("list", "list API keys");
  kl->add_option("--user", keys.user, "only this user's keys");
  kl->callback([&] {
    keys.action = "list";
    action = [&](Context& c) { return keys_command(c, keys); };
  });
  auto* kr = k->add_subcommand("revoke", "revoke an API key");
  kr->add_option("id", keys.id, "key id (from keys list)")->required()->check(CLI::PositiveNumber);
  kr->callback([&] {
    keys.action = "revoke";
    action = [&](Context& c) { return keys_command(c, keys); };
  });

  SecretsOptions secrets_options;
  auto* sec = app.add_subcommand("secrets", "secrets sealed at rest (FLEET_SECRET_KEY)");
  sec->require_subcommand(1);
  auto* rs = sec->add_subcommand(
      "reseal", "seal miner secrets of the old v1 form again, bound to their miner and column");
  rs->add_flag("--dry-run", secrets_options.dry_run, "only count what would be resealed");
  rs->callback([&] { action = [&](Context& c) { return secrets_command(c, secrets_options); }; });

  // up / watch / restart: the local supervisor (seed 004's service monitor). No database needed.
  MonitorOptions monitor;
  std::function<int()> local_action;
  auto* up = app.add_subcommand(
      "up", "start the services of a services file and supervise them until Ctrl-C");
  up->add_option("--services,-s", monitor.services_file,
                 "services file (default: $FLEET_SERVICES_FILE or ./services.json)");
  up->add_option("--status-every", monitor.interval_seconds,
                 "print the status table this often in seconds (0 = never)")
      ->check(CLI::Range(0, 86400));
  up->add_option("names", monitor.names, "only these services (and what they depend on)");
  up->callback([&] { local_action = [&] { return monitor_up(monitor); }; });
  auto* watch =
      app.add_subcommand("watch", "status of the supervised services, refreshed until Ctrl-C");
  watch->add_option("--services,-s", monitor.services_file, "services file");
  watch->add_option("--interval", monitor.interval_seconds, "refresh every N seconds")
      ->check(CLI::Range(1, 3600));
  watch->add_flag("--once", monitor.once, "print once and exit");
  watch->callback([&] { local_action = [&] { return monitor_watch(monitor); }; });
  auto* restart = app.add_subcommand("restart", "restart the named services, or every failed one");
  restart->add_option("--services,-s", monitor.services_file, "services file");
  restart->add_option("names", monitor.names, "services to restart (default: the failed ones)");
  restart->callback([&] { local_action = [&] { return monitor_restart(monitor); }; });

  // rules / silence / metrics: the rule engine without the API (docs/rules.md).
  auto repeated = [](CLI::Option* o) {
    return o->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  };
  auto scope_flags = [&](CLI::App* c, ScopeOptions& scope) {
    c->add_option("--kind", scope.kind, "only workers of this kind")
        ->check(CLI::IsMember({"asic", "rig", "node", "device"}));
    c->add_option("--farm", scope.farm, "only workers of this farm (id or name)");
    c->add_option("--worker", scope.worker, "only this worker (id or name)");
    repeated(c->add_option("--label", scope.labels,
                           "only workers with this label, key=value (repeatable)"));
  };
  RuleAddOptions rule_add;
  RuleTestOptions rule_test;
  std::string rule_ref;
  bool rules_json = false;
  auto* rl = app.add_subcommand("rules",
                                "monitoring rules: add, list, show, enable, disable, delete, test");
  rl->require_subcommand(1);
  auto* rla = rl->add_subcommand(
      "add", "add a rule; its condition is checked against the metric catalogue");
  rla->add_option("--file,-f", rule_add.file,
                  "a rule as JSON (docs/rules.md; - = stdin); flags override it");
  rla->add_option("--name", rule_add.name, "unique name of the rule");
  rla->add_option("--description", rule_add.description, "what it is for");
  rla->add_option("--condition", rule_add.condition,
                  "e.g. 'chip_temp_max > 85 and fan_rpm_min < 1000'");
  rla->add_option("--clear", rule_add.clear,
                  "resolve when this holds (hysteresis), e.g. 'chip_temp_max < 75'");
  rla->add_option("--metric", rule_add.metric, "seed 001's simple form: metric ...");
  rla->add_option("--operator", rule_add.op, "... operator (> < >= <= == !=) ...");
  rla->add_option("--threshold", rule_add.threshold, "... threshold");
  scope_flags(rla, rule_add.scope);
  rla->add_option("--for", rule_add.for_duration, "pending this long before firing (e.g. 2m)");
  rla->add_option("--keep-firing-for", rule_add.keep_firing_for,
                  "stay firing this long after clearing");
  rla->add_option("--stale-after", rule_add.stale_after, "older metrics are no data (default 5m)");
  rla->add_option("--severity", rule_add.severity, "info, warning (default) or critical");
  rla->add_option("--no-data", rule_add.no_data,
                  "ignore (default) or alert: raise a no-data alert");
  rla->add_flag("--no-notify", rule_add.no_notify, "record alerts without notifying");
  rla->add_flag("--disabled", rule_add.disabled, "add it disabled");
  repeated(rla->add_option(
      "--action", rule_add.actions,
      "escalation step ACTION[@AFTER], e.g. restart_mining, reboot@10m (repeatable)"));
  rla->callback([&] { action = [&](Context& c) { return rules_add(c, rule_add); }; });
  auto* rll = rl->add_subcommand("list", "list rules with their open alerts");
  rll->add_flag("--json", rules_json, "print JSON");
  rll->callback([&] { action = [&](Context& c) { return rules_list(c, rules_json); }; });
  auto* rls = rl->add_subcommand("show", "one rule and its open alerts");
  rls->add_option("rule", rule_ref, "rule id or name")->required();
  rls->add_flag("--json", rules_json, "print JSON");
  rls->callback([&] { action = [&](Context& c) { return rules_show(c, rule_ref, rules_json); }; });
  auto* rle = rl->add_subcommand("enable", "enable a rule");
  rle->add_option("rule", rule_ref, "rule id or name")->required();
  rle->callback([&] { action = [&](Context& c) { return rules_enable(c, rule_ref, true); }; });
  auto* rld = rl->add_subcommand("disable", "disable a rule (its open alerts resolve)");
  rld->add_option("rule", rule_ref, "rule id or name")->required();
  rld->callback([&] { action = [&](Context& c) { return rules_enable(c, rule_ref, false); }; });
  auto* rlx = rl->add_subcommand("delete", "delete a rule with its alert history");
  rlx->add_option("rule", rule_ref, "rule id or name")->required();
  rlx->callback([&] { action = [&](Context& c) { return rules_delete(c, rule_ref); }; });
  auto* rlt =
      rl->add_subcommand("test", "check a condition and show which workers match it right now");
  rlt->add_option("condition", rule_test.condition, "the condition, e.g. 'temperature > 80'");
  rlt->add_option("--rule", rule_test.rule, "test an existing rule (id or name) instead");
  scope_flags(rlt, rule_test.scope);
  rlt->add_option("--stale-after", rule_test.stale_after, "older metrics are no data (default 5m)");
  rlt->add_flag("--matches", rule_test.matches_only, "list only the workers that match");
  rlt->add_flag("--json", rule_test.json, "print JSON");
  rlt->callback([&] { action = [&](Context& c) { return rules_test(c, rule_test); }; });

  SilenceAddOptions silence;
  bool silence_all = false;
  bool silence_json = false;
  std::string silence_id;
  auto* si = app.add_subcommand(
      "silence", "maintenance windows: alerts are recorded but not notified or acted on");
  si->require_subcommand(1);
  auto* sia = si->add_subcommand("add", "silence a worker, farm, label or rule for a while");
  sia->add_option("--worker", silence.worker, "worker id or name");
  sia->add_option("--farm", silence.farm, "farm id or name");
  repeated(sia->add_option("--label", silence.labels,
                           "workers with this label, key=value (repeatable)"));
  sia->add_option("--rule", silence.rule, "rule id or name");
  sia->add_option("--duration,-d", silence.duration, "how long, e.g. 2h")->required();
  sia->add_option("--starts-in", silence.starts_in, "start later, e.g. 30m (default: now)");
  sia->add_option("--reason,-r", silence.reason, "why (shown in lists and logs)")->required();
  sia->callback([&] { action = [&](Context& c) { return silence_add(c, silence); }; });
  auto* sil = si->add_subcommand("list", "active and scheduled silences");
  sil->add_flag("--all", silence_all, "include ended ones");
  sil->add_flag("--json", silence_json, "print JSON");
  sil->callback(
      [&] { action = [&](Context& c) { return silence_list(c, silence_all, silence_json); }; });
  auto* sie = si->add_subcommand("end", "end a silence now");
  sie->add_option("id", silence_id, "silence id")->required();
  sie->callback([&] { action = [&](Context& c) { return silence_end(c, silence_id); }; });

  bool metrics_json = false;
  auto* mt = app.add_subcommand("metrics", "the metric catalogue rules are checked against");
  mt->require_subcommand(1);
  auto* mtl =
      mt->add_subcommand("list", "every metric a rule may name, with its type, unit and kinds");
  mtl->add_flag("--json", metrics_json, "print JSON");
  mtl->callback([&] { action = [&](Context& c) { return metrics_list(c, metrics_json); }; });

  // api ...: the running system through the REST API (no database needed).
  add_api_commands(app, local_action);

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
