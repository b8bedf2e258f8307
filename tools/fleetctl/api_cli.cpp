#include "api_cli.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>

#include <CLI/CLI.hpp>

#include "api_commands.h"

extern char** environ;

namespace fleet::cli {
namespace {

std::map<std::string, std::string> api_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos && entry.rfind("FLEET_API_", 0) == 0 && eq + 1 < entry.size()) {
      env[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  }
  return env;
}

// Everything the api commands' flags write into; lives as long as the App.
struct ApiState {
  ApiFlags flags;
  bool json = false;
  ApiMinersOptions miners;
  ApiWorkersOptions workers;
  ApiCommandOptions command;
  ApiCommandsOptions commands;
  ApiAlertsOptions alerts;
  ApiSilenceOptions silence;
  ApiRelayControllerOptions controller;
  ApiRelayMapOptions map;
  std::string target;  // a controller or worker by name or id
  int press_ms = 0;
  std::int64_t id = 0;
  std::string alias, preset, condition, clear, file;
  bool all = false, managed = false, unmanaged = false, online = false, offline = false;
  std::int64_t worker_filter = 0;
};

void list_flags(CLI::App* c, ApiListOptions& list) {
  c->add_option("--limit", list.limit, "page size 1..1000 (default 100)")
      ->check(CLI::Range(1, 1000));
  c->add_flag("--all", list.all, "walk every page");
  c->add_flag("--json", list.json, "print JSON");
}

}  // namespace

void add_api_commands(CLI::App& app, std::function<int()>& run) {
  auto st = std::make_shared<ApiState>();
  auto* api =
      app.add_subcommand("api", "manage the running system through the REST API (docs/client.md)");
  api->require_subcommand(1);
  api->fallthrough();  // --api-url etc. may follow the subcommand
  api->add_option("--api-url", st->flags.url,
                  "API base URL (default: FLEET_API_URL or http://127.0.0.1:8080)");
  api->add_option("--api-key", st->flags.api_key, "API key (default: FLEET_API_KEY)");
  api->add_option(
      "--user", st->flags.user,
      "log in as this user (default: FLEET_API_USER); password from FLEET_API_PASSWORD");
  api->footer(
      "Exit codes: 0 success; 1 the API refused or could not be reached; 2 usage or "
      "configuration.");

  // Runs `command` with a client made from the flags and environment.
  auto set = [&run, st](std::function<int(client::Client&)> command) {
    run = [st, command] {
      client::ClientOptions options;
      try {
        options = api_options(st->flags, api_environment());
      } catch (const client::Error& e) {
        std::cerr << "fleetctl: " << e.what() << "\n";
        return 2;
      }
      return run_api(options, std::cerr, command);
    };
  };
  auto& out = std::cout;

  // miners
  auto* mi = api->add_subcommand("miners", "ASIC miners");
  mi->require_subcommand(1);
  auto* mil = mi->add_subcommand("list", "miners with their latest status");
  list_flags(mil, st->miners.list);
  mil->add_flag("--managed", st->managed, "only managed miners");
  mil->add_flag("--unmanaged", st->unmanaged, "only unmanaged miners");
  mil->add_flag("--online", st->online, "only miners with an IP");
  mil->add_flag("--offline", st->offline, "only miners without an IP");
  mil->add_option("--model", st->miners.model, "model alias");
  mil->add_option("--search,-q", st->miners.q, "MAC, IP or name contains");
  mil->callback([st, set, &out] {
    if (st->managed || st->unmanaged) st->miners.managed = st->managed;
    if (st->online || st->offline) st->miners.online = st->online;
    set([st, &out](client::Client& c) { return api_miners_list(c, st->miners, out); });
  });
  mil->get_option("--managed")->excludes("--unmanaged");
  mil->get_option("--online")->excludes("--offline");
  auto* mis = mi->add_subcommand("show", "one miner");
  mis->add_option("id", st->id, "miner id")->required()->check(CLI::PositiveNumber);
  mis->add_flag("--json", st->json, "print JSON");
  mis->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_miner_show(c, st->id, st->json, out); });
  });
  for (const char* verb : {"manage", "unmanage"}) {
    const bool managed = std::string(verb) == "manage";
    auto* sub = mi->add_subcommand(
        verb, managed ? "let fleetward manage a miner" : "stop managing a miner");
    sub->add_option("id", st->id, "miner id")->required()->check(CLI::PositiveNumber);
    sub->callback([st, set, managed, &out] {
      set([st, managed, &out](client::Client& c) {
        return api_miner_manage(c, st->id, managed, out);
      });
    });
  }
  auto* mir = mi->add_subcommand("rescan", "ask discovery to look at a miner again");
  mir->add_option("id", st->id, "miner id")->required()->check(CLI::PositiveNumber);
  mir->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_miner_rescan(c, st->id, out); });
  });

  // workers
  auto* wk = api->add_subcommand("workers", "workers of every kind");
  wk->require_subcommand(1);
  auto* wkl = wk->add_subcommand("list", "list workers");
  list_flags(wkl, st->workers.list);
  wkl->add_option("--kind", st->workers.kind, "asic, rig, node or device");
  wkl->add_option("--status", st->workers.status, "online, offline, ...");
  wkl->add_option("--label", st->workers.label, "key:value");
  wkl->add_option("--search,-q", st->workers.q, "name contains");
  wkl->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_workers_list(c, st->workers, out); });
  });

  // models
  auto* mo = api->add_subcommand("models", "miner models and their max_preset");
  mo->require_subcommand(1);
  auto* mol = mo->add_subcommand("list", "models with their presets");
  mol->add_flag("--json", st->json, "print JSON");
  mol->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_models_list(c, st->json, out); });
  });
  auto* mop = mo->add_subcommand("set-preset", "choose a model's max_preset (\"none\" clears it)");
  mop->add_option("alias", st->alias, "model alias")->required();
  mop->add_option("preset", st->preset, "preset name, or none")->required();
  mop->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_models_set_preset(c, st->alias, st->preset, out);
    });
  });

  // services, summary, whoami
  auto* sv = api->add_subcommand("services", "every worker process and its state");
  sv->add_flag("--all", st->all, "include processes that ended over an hour ago");
  sv->add_flag("--json", st->json, "print JSON");
  sv->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_services(c, st->all, st->json, out); });
  });
  auto* su = api->add_subcommand("summary", "fleet counts, hashrate and power");
  su->add_flag("--json", st->json, "print JSON");
  su->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_summary(c, st->json, out); });
  });
  auto* who = api->add_subcommand("whoami", "who the credentials act as");
  who->add_flag("--json", st->json, "print JSON");
  who->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_whoami(c, st->json, out); });
  });

  // command / commands
  auto* cm = api->add_subcommand(
      "command",
      "queue an action on a worker (reboot, shutdown, exec and the power_* actions need --yes; "
      "the power_* actions need the worker's relay mapping; exec needs --cmd)");
  cm->add_option("worker", st->command.worker_id, "worker id")
      ->required()
      ->check(CLI::PositiveNumber);
  cm->add_option("action", st->command.action,
                 "restart_mining, reboot, shutdown, power_cycle, power_off, power_on, "
                 "power_button, set_preset, find_miner, start_mining, stop_mining, exec (HiveOS)")
      ->required();
  cm->add_option("--preset", st->command.preset, "preset for set_preset");
  cm->add_option("--ms", st->press_ms, "power_button: press length, 50..10000 ms")
      ->check(CLI::Range(50, 10000));
  cm->add_option("--cmd", st->command.cmd,
                 "exec: the shell command to run on the rig (its HiveOS account must allow exec)");
  cm->add_flag("--yes,-y", st->command.yes,
               "confirm an action that interrupts mining, switches power or runs a command");
  cm->add_flag("--json", st->command.json, "print JSON");
  cm->callback([st, set, &out] {
    if (st->press_ms > 0) st->command.press_ms = st->press_ms;
    set([st, &out](client::Client& c) { return api_command(c, st->command, out, std::cerr); });
  });
  auto* cms = api->add_subcommand("commands", "queued and past commands");
  cms->require_subcommand(1);
  auto* cmsl = cms->add_subcommand("list", "commands, newest first");
  list_flags(cmsl, st->commands.list);
  cmsl->add_option("--worker", st->worker_filter, "only this worker")->check(CLI::PositiveNumber);
  cmsl->add_option("--state", st->commands.state,
                   "queued, claimed, sent, succeeded, failed, expired, skipped");
  cmsl->callback([st, set, &out] {
    if (st->worker_filter > 0) st->commands.worker_id = st->worker_filter;
    set([st, &out](client::Client& c) { return api_commands_list(c, st->commands, out); });
  });
  auto* cmsc = cms->add_subcommand("cancel", "cancel a command not carried out yet");
  cmsc->add_option("id", st->id, "command id")->required()->check(CLI::PositiveNumber);
  cmsc->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_command_cancel(c, st->id, out); });
  });

  // relays
  auto* re = api->add_subcommand(
      "relays", "relay controllers and which worker is on which channel (docs/relay-mappings.md)");
  re->require_subcommand(1);
  auto* rel = re->add_subcommand("list", "every worker's relay mapping");
  rel->add_option("--controller", st->target, "only this controller (name or id)");
  rel->add_flag("--json", st->json, "print JSON");
  rel->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_relays_list(c, st->target, st->json, out); });
  });
  auto* rem = re->add_subcommand("map", "map a worker to a relay controller channel (operator)");
  rem->add_option("worker", st->map.worker, "worker id or name")->required();
  rem->add_option("--controller", st->map.controller, "controller name or id")->required();
  rem->add_option("--channel", st->map.channel, "relay channel, 1..64")
      ->required()
      ->check(CLI::Range(1, 64));
  rem->add_option("--wiring", st->map.wiring, "power_button or mains")
      ->required()
      ->check(CLI::IsMember({"power_button", "mains"}));
  rem->add_option("--pulse-ms", st->map.pulse_ms, "power button press, 50..10000 (default 500)");
  rem->add_option("--hold-ms", st->map.hold_ms, "hold to force off, 1000..60000 (default 6000)");
  rem->add_option("--off-ms", st->map.off_ms,
                  "off time of a power-cycle, 1000..300000 (default 10000)");
  rem->add_flag("--json", st->map.json, "print JSON");
  rem->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_relay_map(c, st->map, out); });
  });
  auto* reu = re->add_subcommand("unmap", "remove a worker's relay mapping (operator)");
  reu->add_option("worker", st->target, "worker id or name")->required();
  reu->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_relay_unmap(c, st->target, out); });
  });
  auto* rc = re->add_subcommand("controllers", "relay controllers (changes: admin)");
  rc->require_subcommand(1);
  auto* rcl = rc->add_subcommand("list", "every relay controller");
  rcl->add_flag("--json", st->json, "print JSON");
  rcl->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_relay_controllers_list(c, st->json, out); });
  });
  auto* rcs = rc->add_subcommand("show", "one controller and its mappings");
  rcs->add_option("controller", st->target, "name or id")->required();
  rcs->add_flag("--json", st->json, "print JSON");
  rcs->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_relay_controller_show(c, st->target, st->json, out);
    });
  });
  auto controller_flags = [st](CLI::App* sub, bool adding) {
    auto* name = sub->add_option("--name", st->controller.name, "1-64 of A-Z a-z 0-9 _ . -");
    auto* driver = sub->add_option("--driver", st->controller.driver, "fleetward or tasmota")
                       ->check(CLI::IsMember({"fleetward", "tasmota"}));
    auto* topic = sub->add_option("--topic", st->controller.topic, "its topic on the broker");
    if (adding) {
      name->required();
      driver->required();
      topic->required();
    }
    sub->add_option("--channels", st->controller.channels, "1..64 (default 8)")
        ->check(CLI::Range(1, 64));
    sub->add_option("--site", st->controller.site,
                    adding ? "where it is" : "where it is (\"\" clears it)");
    sub->add_option("--description", st->controller.description, "free text")
        ->each([st](const std::string&) { st->controller.description_set = true; });
  };
  auto* rca = rc->add_subcommand("add", "add a relay controller");
  controller_flags(rca, true);
  rca->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_relay_controller_add(c, st->controller, out); });
  });
  auto* rcu = rc->add_subcommand("update", "change a relay controller (only the flags given)");
  rcu->add_option("controller", st->target, "name or id")->required();
  controller_flags(rcu, false);
  rcu->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_relay_controller_update(c, st->target, st->controller, out, std::cerr);
    });
  });
  auto* rcr = rc->add_subcommand("remove", "remove a controller without mapped workers");
  rcr->add_option("controller", st->target, "name or id")->required();
  rcr->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_relay_controller_remove(c, st->target, out); });
  });

  add_api_node_commands(*api, set);
  add_api_deployment_commands(*api, set);
  add_api_notify_commands(*api, set);
  add_api_hiveos_commands(*api, set);

  // alerts
  auto* al = api->add_subcommand("alerts", "alert episodes");
  al->require_subcommand(1);
  auto* all = al->add_subcommand("list", "alerts, newest first");
  list_flags(all, st->alerts.list);
  all->add_flag("--open", st->alerts.open, "only pending or firing ones");
  all->add_option("--state", st->alerts.state, "open, pending, firing or resolved");
  all->add_option("--worker", st->worker_filter, "only this worker")->check(CLI::PositiveNumber);
  all->callback([st, set, &out] {
    if (st->worker_filter > 0) st->alerts.worker_id = st->worker_filter;
    set([st, &out](client::Client& c) { return api_alerts_list(c, st->alerts, out); });
  });
  auto* ala = al->add_subcommand("ack", "acknowledge an open alert");
  ala->add_option("id", st->id, "alert id")->required()->check(CLI::PositiveNumber);
  ala->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_alert_ack(c, st->id, out); });
  });

  // rules
  auto* ru = api->add_subcommand("rules", "monitoring rules");
  ru->require_subcommand(1);
  auto* rul = ru->add_subcommand("list", "every rule");
  rul->add_flag("--json", st->json, "print JSON");
  rul->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_rules_list(c, st->json, out); });
  });
  auto* ruv = ru->add_subcommand(
      "validate", "check a condition against the metric catalogue (exit 1 when invalid)");
  ruv->add_option("condition", st->condition, "e.g. 'chip_temp_max > 85'")->required();
  ruv->add_option("--clear", st->clear, "a clear condition to check too");
  ruv->add_flag("--json", st->json, "print JSON");
  ruv->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_rules_validate(c, st->condition, st->clear, st->json, out);
    });
  });
  auto* rut = ru->add_subcommand("test", "which workers a condition matches now");
  rut->add_option("condition", st->condition, "the condition")->required();
  rut->add_flag("--json", st->json, "print JSON");
  rut->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_rules_test(c, st->condition, st->json, out); });
  });
  auto* rua = ru->add_subcommand("add", "create a rule from its JSON (docs/rules.md)");
  rua->add_option("--file,-f", st->file, "rule JSON file, - = stdin")->required();
  rua->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      std::string text;
      if (st->file == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
      } else {
        std::ifstream in(st->file);
        if (!in) {
          std::cerr << "fleetctl: cannot read " << st->file << "\n";
          return 2;
        }
        text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
      return api_rules_add(c, text, out);
    });
  });
  auto* rud = ru->add_subcommand("delete", "delete a rule");
  rud->add_option("id", st->id, "rule id")->required()->check(CLI::PositiveNumber);
  rud->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_rules_delete(c, st->id, out); });
  });

  // silence
  auto* si = api->add_subcommand("silence", "maintenance windows");
  si->require_subcommand(1);
  auto* sia = si->add_subcommand("add", "silence a worker, farm, rule or labels for a while");
  sia->add_option("--worker", st->silence.worker_id, "worker id")->check(CLI::PositiveNumber);
  sia->add_option("--farm", st->silence.farm_id, "farm id")->check(CLI::PositiveNumber);
  sia->add_option("--rule", st->silence.rule_id, "rule id")->check(CLI::PositiveNumber);
  sia->add_option("--label", st->silence.labels, "key=value (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sia->add_option("--duration,-d", st->silence.duration, "how long, e.g. 2h")->required();
  sia->add_option("--reason,-r", st->silence.reason, "why")->required();
  sia->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_silence_add(c, st->silence, out, std::cerr); });
  });
  auto* sil = si->add_subcommand("list", "active and scheduled silences");
  sil->add_flag("--all", st->all, "include ended ones");
  sil->add_flag("--json", st->json, "print JSON");
  sil->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_silence_list(c, st->all, st->json, out); });
  });
  auto* sie = si->add_subcommand("end", "end a silence now");
  sie->add_option("id", st->id, "silence id")->required()->check(CLI::PositiveNumber);
  sie->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_silence_end(c, st->id, out); });
  });
}

}  // namespace fleet::cli
