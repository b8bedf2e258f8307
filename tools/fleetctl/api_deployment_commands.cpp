// fleetctl api orgs | deployments | routes | plans | migrations (issue 14).
#include "api_deployment_commands.h"

#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

void print_json(const std::string& raw, std::ostream& out) {
  out << json::parse(raw, nullptr, false).dump(2) << "\n";
}

template <class T>
void print_json_items(const std::vector<T>& items, std::ostream& out) {
  json array = json::array();
  for (const auto& i : items)
    array.push_back(json::parse(i.raw, nullptr, false));
  out << array.dump(2) << "\n";
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string node_cell(const std::optional<std::string>& name,
                      const std::optional<std::int64_t>& id) {
  if (name) return *name;
  return id ? "#" + std::to_string(*id) : "-";
}

// Every page from `offset` (when `all`), else the one page. `more`: a page is left unshown.
template <class T, class Fetch>
std::vector<T> fetch_list(const ApiListOptions& list, std::int64_t offset, Fetch fetch,
                          bool* more) {
  std::vector<T> items;
  std::int64_t total = 0;
  for (std::int64_t at = offset;;) {
    auto page = fetch(list.all && list.limit == 0 ? 1000 : list.limit, at);
    total = page.total;
    const auto got = static_cast<std::int64_t>(page.items.size());
    for (auto& i : page.items)
      items.push_back(std::move(i));
    at += got;
    if (!list.all || got == 0 || at >= total) break;
  }
  *more = !list.all && !list.json && offset + static_cast<std::int64_t>(items.size()) < total;
  return items;
}

void print_more(bool more, std::int64_t offset, std::size_t shown, std::ostream& out) {
  if (!more) return;
  out << "(" << shown << " shown; --offset " << offset + static_cast<std::int64_t>(shown)
      << " for the next page, or --all)\n";
}

std::string resources(const client::Deployment& d) {
  return api_number(d.cpu_cores, 2) + " cpu, " + std::to_string(d.memory_mb) + " MB, " +
         api_number(d.disk_gb, 1) + " GB";
}

void print_migrations(const std::vector<client::Migration>& migrations, std::ostream& out) {
  Table table({"ID", "PLAN", "SERVICE", "REPLICA", "FROM", "TO", "STATE", "REASON", "CREATED"});
  for (const auto& m : migrations) {
    table.add({std::to_string(m.id), std::to_string(m.plan_id), m.service,
               std::to_string(m.replica), node_cell(m.from_node_name, m.from_node_id),
               node_cell(m.to_node_name, m.to_node_id), m.state, m.reason, m.created_at});
  }
  out << (migrations.empty() ? "no migrations\n" : table.render(50));
}

void print_steps(const client::Migration& m, std::ostream& out) {
  for (const auto& s : m.steps)
    out << "    " << s.at << "  " << s.step << (s.detail.empty() ? "" : ": " + s.detail) << "\n";
}

}  // namespace

std::optional<client::PortSpec> parse_port(const std::string& text) {
  const auto slash = text.find('/');
  const std::string number = text.substr(0, slash);
  const std::string protocol = slash == std::string::npos ? "tcp" : text.substr(slash + 1);
  if (protocol != "tcp" && protocol != "udp") return std::nullopt;
  int port = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), port);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() || port < 1 ||
      port > 65535) {
    return std::nullopt;
  }
  return client::PortSpec{.container_port = port, .protocol = protocol};
}

std::optional<std::pair<std::string, std::string>> parse_assignment(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

std::optional<client::RouteFileFormat> parse_route_format(const std::string& text) {
  if (text == "json") return client::RouteFileFormat::kJson;
  if (text == "haproxy") return client::RouteFileFormat::kHaproxy;
  if (text == "nginx") return client::RouteFileFormat::kNginx;
  return std::nullopt;
}

std::int64_t resolve_organization(client::Client& c, const std::string& org) {
  if (all_digits(org)) return std::stoll(org);
  for (const auto& o : c.organizations().page(org, 1000).items) {
    if (o.name == org) return o.id;
  }
  throw client::NotFoundError(404, "not_found", "no organization named '" + org + "'", "org");
}

// --- organisations ---

int api_orgs_list(client::Client& c, const std::string& q, bool as_json, std::ostream& out) {
  std::vector<client::Organization> orgs =
      q.empty() ? c.organizations().all() : c.organizations().page(q, 1000).items;
  if (as_json) {
    print_json_items(orgs, out);
    return 0;
  }
  Table table({"ID", "NAME", "POLICY", "DEPLOYMENTS", "MEMBERS", "DISPLAY NAME"});
  for (const auto& o : orgs) {
    std::string members;
    for (const auto& m : o.members)
      members += (members.empty() ? "" : ", ") + m.username + (m.role == "owner" ? "*" : "");
    table.add({std::to_string(o.id), o.name, o.migration_policy, std::to_string(o.deployments),
               members.empty() ? "-" : members, o.display_name});
  }
  out << (orgs.empty() ? "no organizations\n" : table.render(50));
  return 0;
}

int api_org_show(client::Client& c, const std::string& org, bool as_json, std::ostream& out) {
  client::Organization o = c.organizations().get(resolve_organization(c, org));
  if (as_json) {
    print_json(o.raw, out);
    return 0;
  }
  out << "organization " << o.id << ": " << o.name
      << (o.display_name.empty() ? "" : " (" + o.display_name + ")") << "\n";
  out << "  migration policy: " << o.migration_policy << "\n";
  out << "  deployments: " << o.deployments << "\n";
  out << "  members:" << (o.members.empty() ? " none" : "") << "\n";
  for (const auto& m : o.members)
    out << "    " << m.username << " (user " << m.user_id << ", " << m.role << ")\n";
  return 0;
}

int api_org_create(client::Client& c, const client::OrganizationRequest& request, bool as_json,
                   std::ostream& out) {
  client::Organization o = c.organizations().create(request);
  if (as_json) {
    print_json(o.raw, out);
    return 0;
  }
  out << "organization " << o.id << " (" << o.name << ") created, migration policy "
      << o.migration_policy << "\n";
  return 0;
}

int api_org_set_policy(client::Client& c, const std::string& org, const std::string& policy,
                       std::ostream& out, std::ostream& err) {
  if (policy != "automatic" && policy != "manual" && policy != "none") {
    err << "fleetctl: the policy must be automatic, manual or none, not '" << policy << "'\n";
    return 2;
  }
  client::Organization o =
      c.organizations().change(resolve_organization(c, org), {.migration_policy = policy});
  out << "organization " << o.id << " (" << o.name << "): migration policy " << o.migration_policy
      << "\n";
  return 0;
}

int api_org_delete(client::Client& c, const std::string& org, std::ostream& out) {
  const std::int64_t id = resolve_organization(c, org);
  c.organizations().remove(id);
  out << "organization " << id << " deleted\n";
  return 0;
}

int api_org_add_member(client::Client& c, const std::string& org, std::int64_t user_id,
                       const std::string& role, std::ostream& out, std::ostream& err) {
  if (role != "owner" && role != "member") {
    err << "fleetctl: --role must be owner or member, not '" << role << "'\n";
    return 2;
  }
  client::Organization o =
      c.organizations().set_member(resolve_organization(c, org), user_id, role);
  out << "user " << user_id << " is a" << (role == "owner" ? "n " : " ") << role << " of " << o.name
      << "\n";
  return 0;
}

int api_org_remove_member(client::Client& c, const std::string& org, std::int64_t user_id,
                          std::ostream& out) {
  client::Organization o = c.organizations().remove_member(resolve_organization(c, org), user_id);
  out << "user " << user_id << " removed from " << o.name << "\n";
  return 0;
}

// --- deployments ---

int api_deployments_list(client::Client& c, const ApiDeploymentsOptions& o, std::ostream& out) {
  client::DeploymentFilter filter;
  if (!o.org.empty()) filter.organization_id = resolve_organization(c, o.org);
  if (!o.state.empty()) filter.state = o.state;
  if (!o.q.empty()) filter.q = o.q;
  bool more = false;
  auto items = fetch_list<client::Deployment>(
      o.list, o.offset,
      [&](int limit, std::int64_t offset) {
        filter.limit = limit;
        filter.offset = offset;
        return c.deployments().page(filter);
      },
      &more);
  if (o.list.json) {
    print_json_items(items, out);
    return 0;
  }
  Table table({"ID", "SERVICE", "IMAGE", "STATE", "REPLICAS", "RUNNING", "UNPLACED", "POOL"});
  for (const auto& d : items) {
    table.add({std::to_string(d.id), d.service, d.image, d.state, std::to_string(d.replicas),
               std::to_string(d.replicas_running), std::to_string(d.replicas_unplaced), d.pool});
  }
  out << (items.empty() ? "no deployments\n" : table.render(50));
  print_more(more, o.offset, items.size(), out);
  return 0;
}

int api_deployment_show(client::Client& c, std::int64_t id, bool as_json, std::ostream& out) {
  client::DeploymentDetail detail = c.deployments().get(id);
  if (as_json) {
    print_json(detail.raw, out);
    return 0;
  }
  const client::Deployment& d = detail.deployment;
  out << "deployment " << d.id << ": " << d.service << " (" << d.state << ")\n";
  out << "  image: " << d.image << "\n";
  if (!d.command.empty()) {
    out << "  command:";
    for (const auto& a : d.command)
      out << " " << a;
    out << "\n";
  }
  out << "  replicas: " << d.replicas << " (" << d.replicas_running << " running, "
      << d.replicas_unplaced << " unplaced), max unavailable " << d.max_unavailable << "\n";
  out << "  resources per replica: " << resources(d) << "\n";
  out << "  pool: " << d.pool << ", anti-affinity: " << api_cell(d.anti_affinity_key) << "\n";
  if (!d.ports.empty()) {
    out << "  ports:";
    for (const auto& p : d.ports)
      out << " " << p.container_port << "/" << p.protocol;
    out << "\n";
  }
  for (const auto& [k, v] : d.env)
    out << "  env " << k << "=" << v << "\n";
  out << "  created by " << d.created_by << " at " << d.created_at << "\n";
  if (!detail.placements.empty()) {
    Table table({"PLACEMENT", "REPLICA", "NODE", "STATE", "CONTAINER", "REASON"});
    for (const auto& p : detail.placements) {
      table.add({std::to_string(p.id), std::to_string(p.replica), node_cell(p.node_name, p.node_id),
                 p.state + (p.retired_at && p.state != "removed" ? " (retired)" : ""),
                 api_cell(p.container_name), p.reason.empty() ? "-" : p.reason});
    }
    out << table.render(60);
  }
  if (!detail.routes.empty()) {
    out << "routes:\n";
    for (const auto& r : detail.routes) {
      out << "  " << r.service << ":" << r.container_port << "/" << r.protocol << " replica "
          << r.replica << " -> " << r.address << ":" << r.host_port << " ("
          << node_cell(r.node_name, r.node_id) << ")\n";
    }
  }
  if (!detail.migrations.empty()) {
    out << "migrations:\n";
    print_migrations(detail.migrations, out);
  }
  return 0;
}

std::optional<client::DeploymentRequest> deployment_request(const ApiDeploymentCreateOptions& o,
                                                            std::int64_t organization_id,
                                                            std::ostream& err) {
  client::DeploymentRequest r{.organization_id = organization_id,
                              .name = o.name,
                              .image = o.image,
                              .command = o.command,
                              .cpu_cores = o.cpu_cores,
                              .memory_mb = o.memory_mb,
                              .disk_gb = o.disk_gb,
                              .replicas = o.replicas,
                              .pool = o.pool,
                              .anti_affinity_key = o.anti_affinity_key,
                              .max_unavailable = o.max_unavailable};
  for (const auto& e : o.env) {
    auto kv = parse_assignment(e);
    if (!kv) {
      err << "fleetctl: --env must be KEY=value, not '" << e << "'\n";
      return std::nullopt;
    }
    r.env[kv->first] = kv->second;
  }
  for (const auto& l : o.labels) {
    auto kv = parse_assignment(l);
    if (!kv) {
      err << "fleetctl: --label must be key=value, not '" << l << "'\n";
      return std::nullopt;
    }
    r.labels[kv->first] = kv->second;
  }
  for (const auto& p : o.ports) {
    auto port = parse_port(p);
    if (!port) {
      err << "fleetctl: --port must be PORT[/tcp|/udp] with PORT 1..65535, not '" << p << "'\n";
      return std::nullopt;
    }
    r.ports.push_back(*port);
  }
  return r;
}

int api_deployment_create(client::Client& c, const ApiDeploymentCreateOptions& o, std::ostream& out,
                          std::ostream& err) {
  // Checked before anything is sent (the organisation's name is looked up only then).
  if (!deployment_request(o, 0, err)) return 2;
  auto request = deployment_request(o, resolve_organization(c, o.org), err);
  client::DeploymentDetail d = c.deployments().create(*request);
  if (o.json) {
    print_json(d.raw, out);
    return 0;
  }
  out << "deployment " << d.deployment.id << " (" << d.deployment.service
      << ") created: " << d.deployment.replicas
      << (d.deployment.replicas == 1 ? " replica" : " replicas")
      << ", placed by migration-planner within a cycle\n";
  return 0;
}

int api_deployment_scale(client::Client& c, std::int64_t id, int replicas, std::ostream& out) {
  client::DeploymentDetail d = c.deployments().change(id, {.replicas = replicas});
  out << "deployment " << d.deployment.id << " (" << d.deployment.service
      << "): " << d.deployment.replicas << " replicas (" << d.deployment.replicas_running
      << " running now)\n";
  return 0;
}

int api_deployment_delete(client::Client& c, std::int64_t id, std::ostream& out) {
  client::DeploymentDetail d = c.deployments().remove(id);
  out << "deployment " << d.deployment.id << " (" << d.deployment.service << ") is "
      << d.deployment.state << ": migration-planner stops and removes its containers\n";
  return 0;
}

int api_routes(client::Client& c, std::optional<std::int64_t> deployment_id,
               const std::string& format, std::ostream& out, std::ostream& err) {
  if (!format.empty()) {
    auto f = parse_route_format(format);
    if (!f) {
      err << "fleetctl: --format must be json, haproxy or nginx, not '" << format << "'\n";
      return 2;
    }
    if (deployment_id) {
      err << "fleetctl: --format writes every route; leave out --deployment\n";
      return 2;
    }
    std::string text = c.deployments().route_file(*f);
    out << text;
    if (!text.empty() && text.back() != '\n') out << "\n";
    return 0;
  }
  auto routes = c.deployments().routes(deployment_id);
  Table table({"SERVICE", "PORT", "REPLICA", "NODE", "ADDRESS", "VERSION", "UPDATED"});
  for (const auto& r : routes) {
    table.add({r.service, std::to_string(r.container_port) + "/" + r.protocol,
               std::to_string(r.replica), node_cell(r.node_name, r.node_id),
               r.address + ":" + std::to_string(r.host_port), std::to_string(r.version),
               r.updated_at});
  }
  out << (routes.empty() ? "no routes\n" : table.render(50));
  return 0;
}

// --- migration plans and migrations ---

int api_plans_list(client::Client& c, const ApiPlansOptions& o, std::ostream& out) {
  client::PlanFilter filter{.node_id = o.node_id};
  if (!o.state.empty()) filter.state = o.state;
  if (!o.org.empty()) filter.organization_id = resolve_organization(c, o.org);
  bool more = false;
  auto plans = fetch_list<client::MigrationPlan>(
      o.list, o.offset,
      [&](int limit, std::int64_t offset) {
        filter.limit = limit;
        filter.offset = offset;
        return c.migrations().plans(filter);
      },
      &more);
  if (o.list.json) {
    print_json_items(plans, out);
    return 0;
  }
  Table table({"ID", "NODE", "ORGANIZATION", "TRIGGER", "POLICY", "STATE", "CREATED", "REASON"});
  for (const auto& p : plans) {
    table.add({std::to_string(p.id), p.node_name, p.organization, p.trigger, p.policy, p.state,
               p.created_at, p.reason});
  }
  out << (plans.empty() ? "no migration plans\n" : table.render(50));
  print_more(more, o.offset, plans.size(), out);
  return 0;
}

int api_plan_show(client::Client& c, std::int64_t id, bool as_json, std::ostream& out) {
  client::MigrationPlan p = c.migrations().plan(id);
  if (as_json) {
    print_json(p.raw, out);
    return 0;
  }
  out << "migration plan " << p.id << ": node " << p.node_name << ", organization "
      << p.organization << " (" << p.state << ")\n";
  out << "  trigger: " << p.trigger << ", policy: " << p.policy << "\n";
  out << "  reason: " << p.reason << "\n";
  out << "  created: " << p.created_at << "\n";
  if (p.decided_by) {
    out << "  decided by " << *p.decided_by << " at " << api_cell(p.decided_at)
        << (p.decision_note ? ": " + *p.decision_note : "") << "\n";
  }
  if (p.finished_at) out << "  finished: " << *p.finished_at << "\n";
  print_migrations(p.migrations, out);
  return 0;
}

int api_plan_decide(client::Client& c, std::int64_t id, bool approve, const std::string& note,
                    std::ostream& out) {
  client::MigrationPlan p =
      approve ? c.migrations().approve(id, note) : c.migrations().reject(id, note);
  out << "migration plan " << p.id << " (node " << p.node_name << ", " << p.organization << ") is "
      << p.state << ": " << p.migrations.size()
      << (p.migrations.size() == 1 ? " migration" : " migrations")
      << (approve ? " to be carried out by migration-planner" : " rejected") << "\n";
  return 0;
}

int api_migrations_list(client::Client& c, const ApiMigrationsOptions& o, std::ostream& out) {
  client::MigrationFilter filter{
      .deployment_id = o.deployment_id, .node_id = o.node_id, .plan_id = o.plan_id};
  if (!o.state.empty()) filter.state = o.state;
  bool more = false;
  auto items = fetch_list<client::Migration>(
      o.list, o.offset,
      [&](int limit, std::int64_t offset) {
        filter.limit = limit;
        filter.offset = offset;
        return c.migrations().page(filter);
      },
      &more);
  if (o.list.json) {
    print_json_items(items, out);
    return 0;
  }
  print_migrations(items, out);
  print_more(more, o.offset, items.size(), out);
  return 0;
}

int api_migration_show(client::Client& c, std::int64_t id, bool as_json, std::ostream& out) {
  client::Migration m = c.migrations().get(id);
  if (as_json) {
    print_json(m.raw, out);
    return 0;
  }
  out << "migration " << m.id << ": " << m.service << " replica " << m.replica << " (" << m.state
      << ")\n";
  out << "  from " << node_cell(m.from_node_name, m.from_node_id) << " to "
      << node_cell(m.to_node_name, m.to_node_id) << ", plan " << m.plan_id << ", attempts "
      << m.attempts << "\n";
  out << "  reason: " << m.reason << "\n";
  out << "  steps:" << (m.steps.empty() ? " none" : "") << "\n";
  print_steps(m, out);
  return 0;
}

}  // namespace fleet::cli
