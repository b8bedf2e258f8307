// CLI11 wiring of `fleetctl api nodes ...` (the logic is in api_node_commands.cpp).
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>

#include "api_cli.h"
#include "api_commands.h"

namespace fleet::cli {
namespace {

// Everything the nodes commands' flags write into; lives as long as the App.
struct NodeCliState {
  ApiNodesOptions list;
  ApiNodeTokenOptions token;
  std::int64_t id = 0;
  int limit = 0;
  bool json = false;
  bool force = false;
  std::string reason;
};

}  // namespace

void add_api_node_commands(CLI::App& api, const ApiCommandSetter& set) {
  auto st = std::make_shared<NodeCliState>();
  auto& out = std::cout;
  auto* no = api.add_subcommand(
      "nodes",
      "container host nodes and their registration tokens (reads: viewer; drain: "
      "operator; revoke, remove, tokens: admin)");
  no->require_subcommand(1);

  auto* nl = no->add_subcommand("list", "nodes with their status, load and last heartbeat");
  nl->add_option("--limit", st->list.list.limit, "page size 1..1000 (default 100)")
      ->check(CLI::Range(1, 1000));
  nl->add_option("--offset", st->list.offset, "nodes to skip")->check(CLI::NonNegativeNumber);
  nl->add_flag("--all", st->list.list.all, "walk every page");
  nl->add_flag("--json", st->list.list.json, "print JSON");
  nl->add_option("--status", st->list.status,
                 "pending, online, unhealthy, draining, offline, unreachable or removed");
  nl->add_option("--site", st->list.site, "only this site");
  nl->add_option("--pool", st->list.pool, "only this pool");
  nl->add_option("--search,-q", st->list.q, "name, hostname or address contains");
  nl->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_nodes_list(c, st->list, out); });
  });

  auto id_command = [&](const char* name, const char* help) {
    auto* sub = no->add_subcommand(name, help);
    sub->add_option("id", st->id, "node id")->required()->check(CLI::PositiveNumber);
    return sub;
  };
  auto* ns = id_command("show", "one node: host facts, load, containers");
  ns->add_flag("--json", st->json, "print JSON");
  ns->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_node_show(c, st->id, st->json, out); });
  });
  auto* nh = id_command("history", "a node's status changes, newest first, with the reasons");
  nh->add_option("--limit", st->limit, "1..1000 (default 100)")->check(CLI::Range(1, 1000));
  nh->add_flag("--json", st->json, "print JSON");
  nh->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_node_history(c, st->id, st->limit, st->json, out);
    });
  });
  auto* nd = id_command("drain", "drain a node: no new containers, deployments move away");
  nd->add_option("--reason,-r", st->reason, "why (kept in the status history)");
  nd->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_node_drain(c, st->id, st->reason, out); });
  });
  auto* nu = id_command("undrain", "end a drain (pending until the node is seen healthy)");
  nu->add_option("--reason,-r", st->reason, "why (kept in the status history)");
  nu->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_node_undrain(c, st->id, st->reason, out); });
  });
  auto* nr = id_command("revoke", "revoke a node's credential at once");
  nr->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_node_revoke(c, st->id, out); });
  });
  auto* nm = id_command("remove", "remove a node and revoke its credential");
  nm->add_flag("--force", st->force, "even while containers of deployments remain on it");
  nm->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_node_remove(
          c, st->id,
          st->force ? client::NodeRemoval::kForce : client::NodeRemoval::kRefuseWithDeployments,
          out);
    });
  });
  auto* nst = no->add_subcommand("stats", "node counts, capacity, used capacity, average load");
  nst->add_flag("--json", st->json, "print JSON");
  nst->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_nodes_stats(c, st->json, out); });
  });

  auto* tk = no->add_subcommand("tokens", "registration tokens for new nodes (admin)");
  tk->require_subcommand(1);
  auto* tc = tk->add_subcommand(
      "create", "make a token; prints it and the install command (shown only this once)");
  tc->add_option("--max-uses", st->token.max_uses, "registrations it allows, 1..100000 (default 1)")
      ->check(CLI::Range(1, 100000));
  tc->add_option("--expires-in-hours", st->token.expires_in_hours, "1..720 (default 24)")
      ->check(CLI::Range(1, 720));
  tc->add_option("--site", st->token.site, "site of the nodes it registers");
  tc->add_option("--pool", st->token.pool, "pool of the nodes it registers (default: default)");
  tc->add_option("--description,-d", st->token.description, "what it is for");
  tc->add_option("--label", st->token.labels, "key=value for the nodes it registers (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  tc->add_flag("--json", st->token.json, "print JSON");
  tc->callback([st, set, &out] {
    set([st, &out](client::Client& c) {
      return api_node_token_create(c, st->token, out, std::cerr);
    });
  });
  auto* tl = tk->add_subcommand("list", "every token with its state (never the token itself)");
  tl->add_flag("--json", st->json, "print JSON");
  tl->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_node_tokens_list(c, st->json, out); });
  });
  auto* tr = tk->add_subcommand("revoke", "revoke a token (nodes registered with it stay)");
  tr->add_option("id", st->id, "token id (the number in the list)")
      ->required()
      ->check(CLI::PositiveNumber);
  tr->callback([st, set, &out] {
    set([st, &out](client::Client& c) { return api_node_token_revoke(c, st->id, out); });
  });
}

}  // namespace fleet::cli
