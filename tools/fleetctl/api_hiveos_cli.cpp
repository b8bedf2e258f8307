// CLI11 wiring of `fleetctl api hiveos accounts ...` (the logic is in api_hiveos_commands.cpp).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "api_cli.h"
#include "api_commands.h"

namespace fleet::cli {
namespace {

struct HiveosCliState {
  ApiHiveosAccountOptions account;
  std::string target;
  std::string exec;  // on | off
  bool enable = false, disable = false, yes = false;
  double rpm = 0;
  std::int64_t burst = 0;
};

}  // namespace

void add_api_hiveos_commands(CLI::App& api, const ApiCommandSetter& set) {
  auto st = std::make_shared<HiveosCliState>();
  auto& out = std::cout;
  auto* hv = api.add_subcommand("hiveos", "HiveOS accounts (docs/hiveos.md)");
  hv->require_subcommand(1);
  auto* ac = hv->add_subcommand(
      "accounts", "HiveOS accounts (reads: viewer; add, set: operator; exec, delete: admin)");
  ac->require_subcommand(1);

  auto* l = ac->add_subcommand("list", "every account with how its last sync went");
  l->add_flag("--json", st->account.json, "print JSON");
  l->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_hiveos_accounts_list(c, st->account.json, out);
    });
  });
  auto* s = ac->add_subcommand("show", "one account");
  s->add_option("account", st->target, "name or id")->required();
  s->add_flag("--json", st->account.json, "print JSON");
  s->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_hiveos_account_show(c, st->target, st->account.json, out);
    });
  });

  auto common = [st](CLI::App* sub) {
    sub->add_option("--token-file", st->account.token_file,
                    "file holding the personal token ('-' = standard input; never a flag value)");
    sub->add_option("--rpm", st->rpm, "request budget, requests per minute (0.01..6000)")
        ->check(CLI::Range(0.01, 6000.0));
    sub->add_option("--burst", st->burst, "requests at once before pacing (1..1000)")
        ->check(CLI::Range(1, 1000));
    sub->add_flag("--enable", st->enable, "sync it");
    sub->add_flag("--disable", st->disable, "stop syncing it and sending its commands");
    sub->add_flag("--json", st->account.json, "print JSON");
  };
  auto finish = [st] {
    if (st->rpm > 0) st->account.requests_per_minute = st->rpm;
    if (st->burst > 0) st->account.burst = st->burst;
    if (st->enable) st->account.enabled = true;
    if (st->disable) st->account.enabled = false;
    if (!st->exec.empty()) st->account.exec_enabled = st->exec == "on";
  };

  auto* a = ac->add_subcommand(
      "add",
      "add an account; the token (from --token-file, else standard input) is checked with "
      "HiveOS first and never shown again");
  a->add_option("name", st->account.name, "account name")->required();
  a->add_option("--url", st->account.url, "API base URL, e.g. https://api2.hiveos.farm/api/v2")
      ->required();
  common(a);
  a->callback([st, set, &out, finish] {
    finish();
    set([st, &out](client::Client& c) {
      return api_hiveos_account_add(c, st->account, std::cin, out, std::cerr);
    });
  });

  auto* u = ac->add_subcommand("set", "change an account (only what is given)");
  u->add_option("account", st->target, "name or id")->required();
  u->add_option("--name", st->account.name, "new name");
  u->add_option("--url", st->account.url, "new API base URL (checked with the token)");
  u->add_option("--exec", st->exec, "allow exec (a remote shell) on its rigs: on|off (admin)")
      ->check(CLI::IsMember({"on", "off"}));
  common(u);
  u->callback([st, set, &out, finish] {
    finish();
    set([st, &out](client::Client& c) {
      return api_hiveos_account_set(c, st->target, st->account, std::cin, out, std::cerr);
    });
  });

  auto* d = ac->add_subcommand("delete", "delete an account; its workers become 'removed' (admin)");
  d->add_option("account", st->target, "name or id")->required();
  d->add_flag("--yes,-y", st->yes, "confirm")->required();
  d->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_hiveos_account_delete(c, st->target, out); });
  });
}

}  // namespace fleet::cli
