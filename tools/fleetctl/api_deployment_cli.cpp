// CLI11 wiring of `fleetctl api orgs | deployments | routes | plans | migrations` (the logic is
// in api_deployment_commands.cpp).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "api_cli.h"
#include "api_deployment_commands.h"

namespace fleet::cli {
namespace {

// Everything the commands' flags write into; lives as long as the App.
struct DeploymentCliState {
  ApiDeploymentsOptions list;
  ApiDeploymentCreateOptions create;
  ApiPlansOptions plans;
  ApiMigrationsOptions migrations;
  client::OrganizationRequest org_request;
  std::string org, q, policy, role = "owner", note, format;
  std::int64_t id = 0, user_id = 0;
  std::optional<std::int64_t> deployment_id, node_id, plan_id;
  int replicas = 0;
  bool json = false;
};

void add_list_flags(CLI::App* sub, ApiListOptions& list, std::int64_t& offset) {
  sub->add_option("--limit", list.limit, "page size 1..1000 (default 100)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("--offset", offset, "items to skip")->check(CLI::NonNegativeNumber);
  sub->add_flag("--all", list.all, "walk every page");
  sub->add_flag("--json", list.json, "print JSON");
}

void add_org_commands(CLI::App& api, const ApiCommandSetter& set,
                      const std::shared_ptr<DeploymentCliState>& st) {
  auto& out = std::cout;
  auto* og = api.add_subcommand(
      "orgs", "organisations: migration policy and members (reads: viewer; changes: admin)");
  og->require_subcommand(1);
  auto* ol = og->add_subcommand("list", "organisations with policy, deployments, members");
  ol->add_option("--search,-q", st->q, "name or display name contains");
  ol->add_flag("--json", st->json, "print JSON");
  ol->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_orgs_list(c, st->q, st->json, out); });
  });
  auto* os = og->add_subcommand("show", "one organisation");
  os->add_option("org", st->org, "id or name")->required();
  os->add_flag("--json", st->json, "print JSON");
  os->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_org_show(c, st->org, st->json, out); });
  });
  auto* oc = og->add_subcommand("create", "create an organisation");
  oc->add_option("name", st->org_request.name, "lower-case letters, digits, '-'")->required();
  oc->add_option("--display-name", st->org_request.display_name, "a longer name");
  oc->add_option("--policy", st->org_request.migration_policy,
                 "migration policy: automatic (default), manual or none")
      ->check(CLI::IsMember({"automatic", "manual", "none"}));
  oc->add_flag("--json", st->json, "print JSON");
  oc->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_org_create(c, st->org_request, st->json, out);
    });
  });
  auto* op = og->add_subcommand("set-policy", "change the migration policy");
  op->add_option("org", st->org, "id or name")->required();
  op->add_option("policy", st->policy, "automatic, manual or none")->required();
  op->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_org_set_policy(c, st->org, st->policy, out, std::cerr);
    });
  });
  auto* od = og->add_subcommand("delete", "delete an organisation without deployments");
  od->add_option("org", st->org, "id or name")->required();
  od->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_org_delete(c, st->org, out); });
  });
  auto* oa = og->add_subcommand("add-member", "add a user (owners are told about migrations)");
  oa->add_option("org", st->org, "id or name")->required();
  oa->add_option("user_id", st->user_id, "the user's id (fleetctl users list)")
      ->required()
      ->check(CLI::PositiveNumber);
  oa->add_option("--role", st->role, "owner (default) or member");
  oa->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_org_add_member(c, st->org, st->user_id, st->role, out, std::cerr);
    });
  });
  auto* orm = og->add_subcommand("remove-member", "remove a user from an organisation");
  orm->add_option("org", st->org, "id or name")->required();
  orm->add_option("user_id", st->user_id, "the user's id")->required()->check(CLI::PositiveNumber);
  orm->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_org_remove_member(c, st->org, st->user_id, out);
    });
  });
}

void add_deployment_commands(CLI::App& api, const ApiCommandSetter& set,
                             const std::shared_ptr<DeploymentCliState>& st) {
  auto& out = std::cout;
  auto* dp = api.add_subcommand(
      "deployments", "deployments: containers placed on nodes (reads: viewer; changes: operator)");
  dp->require_subcommand(1);
  auto* dl = dp->add_subcommand("list", "deployments with replicas running and unplaced");
  add_list_flags(dl, st->list.list, st->list.offset);
  dl->add_option("--org", st->list.org, "organisation id or name");
  dl->add_option("--state", st->list.state, "active, deleting or deleted");
  dl->add_option("--search,-q", st->list.q, "name, service or image contains");
  dl->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_deployments_list(c, st->list, out); });
  });
  auto* ds = dp->add_subcommand("show", "one deployment: placements, routes, migrations");
  ds->add_option("id", st->id, "deployment id")->required()->check(CLI::PositiveNumber);
  ds->add_flag("--json", st->json, "print JSON");
  ds->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_deployment_show(c, st->id, st->json, out); });
  });
  auto& cr = st->create;
  auto* dc = dp->add_subcommand("create", "create a deployment (the planner places it)");
  dc->add_option("--org", cr.org, "organisation id or name")->required();
  dc->add_option("--name", cr.name, "lower-case letters, digits, '-'")->required();
  dc->add_option("--image", cr.image, "image reference")->required();
  dc->add_option("--cmd", cr.command, "command argument (repeatable, in order)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  dc->add_option("--env,-e", cr.env, "KEY=value (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  dc->add_option("--port,-p", cr.ports, "container port, PORT[/tcp|/udp] (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  dc->add_option("--label", cr.labels, "key=value (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  dc->add_option("--cpu", cr.cpu_cores, "CPU cores per replica (default 0.1)");
  dc->add_option("--memory-mb", cr.memory_mb, "memory per replica (default 64)");
  dc->add_option("--disk-gb", cr.disk_gb, "disk per replica (default 0)");
  dc->add_option("--replicas", cr.replicas, "0..1000 (default 1)")->check(CLI::Range(0, 1000));
  dc->add_option("--pool", cr.pool, "node pool (default: default)");
  dc->add_option("--anti-affinity", cr.anti_affinity_key,
                 "deployments sharing this key avoid each other's nodes");
  dc->add_option("--max-unavailable", cr.max_unavailable,
                 "replicas moving at once, 1..1000 (default 1)")
      ->check(CLI::Range(1, 1000));
  dc->add_flag("--json", cr.json, "print JSON");
  dc->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_deployment_create(c, st->create, out, std::cerr);
    });
  });
  auto* dsc = dp->add_subcommand("scale", "change the number of replicas");
  dsc->add_option("id", st->id, "deployment id")->required()->check(CLI::PositiveNumber);
  dsc->add_option("replicas", st->replicas, "0..1000")->required()->check(CLI::Range(0, 1000));
  dsc->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_deployment_scale(c, st->id, st->replicas, out);
    });
  });
  auto* dd = dp->add_subcommand("delete", "delete (the planner removes every container)");
  dd->add_option("id", st->id, "deployment id")->required()->check(CLI::PositiveNumber);
  dd->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_deployment_delete(c, st->id, out); });
  });

  auto* rt = api.add_subcommand(
      "routes", "where each service address reaches its replicas now, or the proxy file");
  rt->add_option("--deployment", st->deployment_id, "only this deployment's routes")
      ->check(CLI::PositiveNumber);
  rt->add_option("--format", st->format,
                 "print the file a reverse proxy loads: json, haproxy or nginx");
  rt->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_routes(c, st->deployment_id, st->format, out, std::cerr);
    });
  });
}

void add_migration_commands(CLI::App& api, const ApiCommandSetter& set,
                            const std::shared_ptr<DeploymentCliState>& st) {
  auto& out = std::cout;
  auto* pl = api.add_subcommand(
      "plans", "migration plans of failed nodes (reads: viewer; approve/reject: operator)");
  pl->require_subcommand(1);
  auto* pll = pl->add_subcommand("list", "plans, newest first");
  add_list_flags(pll, st->plans.list, st->plans.offset);
  pll->add_option("--state", st->plans.state,
                  "awaiting_approval, executing, done, failed, rejected, recorded, cancelled");
  pll->add_option("--node", st->plans.node_id, "node id")->check(CLI::PositiveNumber);
  pll->add_option("--org", st->plans.org, "organisation id or name");
  pll->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_plans_list(c, st->plans, out); });
  });
  auto* pls = pl->add_subcommand("show", "one plan with its migrations");
  pls->add_option("id", st->id, "plan id")->required()->check(CLI::PositiveNumber);
  pls->add_flag("--json", st->json, "print JSON");
  pls->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_plan_show(c, st->id, st->json, out); });
  });
  for (const bool approve : {true, false}) {
    auto* d = pl->add_subcommand(approve ? "approve" : "reject",
                                 approve ? "approve a plan awaiting approval (moves start)"
                                         : "reject a plan awaiting approval (nothing moves)");
    d->add_option("id", st->id, "plan id")->required()->check(CLI::PositiveNumber);
    d->add_option("--note,-n", st->note, "why (kept with the decision)");
    d->callback([st, set, &out, approve] {
      set([st, &out, approve](client::Client& c) {
        return api_plan_decide(c, st->id, approve, st->note, out);
      });
    });
  }

  auto* mg = api.add_subcommand("migrations", "migrations: one replica's move each");
  mg->require_subcommand(1);
  auto* mgl = mg->add_subcommand("list", "migrations, newest first");
  add_list_flags(mgl, st->migrations.list, st->migrations.offset);
  mgl->add_option("--deployment", st->migrations.deployment_id, "deployment id")
      ->check(CLI::PositiveNumber);
  mgl->add_option("--node", st->migrations.node_id, "moves from or to this node")
      ->check(CLI::PositiveNumber);
  mgl->add_option("--plan", st->migrations.plan_id, "plan id")->check(CLI::PositiveNumber);
  mgl->add_option("--state", st->migrations.state, "e.g. pending, starting, done, failed");
  mgl->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_migrations_list(c, st->migrations, out); });
  });
  auto* mgs = mg->add_subcommand("show", "one migration with its steps");
  mgs->add_option("id", st->id, "migration id")->required()->check(CLI::PositiveNumber);
  mgs->add_flag("--json", st->json, "print JSON");
  mgs->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_migration_show(c, st->id, st->json, out); });
  });
}

}  // namespace

void add_api_deployment_commands(CLI::App& api, const ApiCommandSetter& set) {
  auto st = std::make_shared<DeploymentCliState>();
  add_org_commands(api, set, st);
  add_deployment_commands(api, set, st);
  add_migration_commands(api, set, st);
}

}  // namespace fleet::cli
