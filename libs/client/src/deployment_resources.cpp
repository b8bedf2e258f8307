// Organisations, deployments, routes, migration plans and migrations (issue 14).
#include "client/client.h"
#include "parse_deployments.h"
#include "session.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;

std::string path(const char* base, std::int64_t id, const std::string& rest = "") {
  return std::string(base) + "/" + std::to_string(id) + rest;
}

void add_window(Query& q, int limit, std::int64_t offset) {
  q.add_limit(limit);
  if (offset > 0) q.add("offset", std::to_string(offset));
}

json note_body(const std::string& note) {
  return note.empty() ? json::object() : json{{"note", note}};
}

json labels_of(const Labels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels)
    out[k] = v;
  return out;
}

// Walks every page of an offset-paged list.
template <class T, class Page>
std::vector<T> every_page(std::int64_t start, const Page& page) {
  std::vector<T> out;
  for (std::int64_t offset = start;;) {
    auto p = page(offset);
    const auto got = static_cast<std::int64_t>(p.items.size());
    for (auto& item : p.items)
      out.push_back(std::move(item));
    offset += got;
    if (got == 0 || offset >= p.total) break;
  }
  return out;
}

}  // namespace

// --- organisations ---

OffsetPage<Organization> OrganizationsApi::page(const std::optional<std::string>& q, int limit,
                                                std::int64_t offset) {
  Query query("/api/organizations");
  query.add("q", q);
  add_window(query, limit, offset);
  return parse::offset_page<Organization>(s_.call("GET", query.str()), parse::organization);
}

std::vector<Organization> OrganizationsApi::all() {
  return every_page<Organization>(
      0, [&](std::int64_t offset) { return page(std::nullopt, 1000, offset); });
}

Organization OrganizationsApi::get(std::int64_t id) {
  return parse::organization(s_.call("GET", path("/api/organizations", id)));
}

Organization OrganizationsApi::create(const OrganizationRequest& request) {
  json body = {{"name", request.name}};
  if (request.display_name) body["display_name"] = *request.display_name;
  if (request.migration_policy) body["migration_policy"] = *request.migration_policy;
  return parse::organization(s_.call("POST", "/api/organizations", &body));
}

Organization OrganizationsApi::change(std::int64_t id, const OrganizationChange& change) {
  json body = json::object();
  if (change.display_name) body["display_name"] = *change.display_name;
  if (change.migration_policy) body["migration_policy"] = *change.migration_policy;
  return parse::organization(s_.call("PATCH", path("/api/organizations", id), &body));
}

void OrganizationsApi::remove(std::int64_t id) {
  s_.call("DELETE", path("/api/organizations", id));
}

Organization OrganizationsApi::set_member(std::int64_t id, std::int64_t user_id,
                                          const std::string& role) {
  json body = {{"role", role}};
  return parse::organization(
      s_.call("PUT", path("/api/organizations", id, "/members/" + std::to_string(user_id)), &body));
}

Organization OrganizationsApi::remove_member(std::int64_t id, std::int64_t user_id) {
  return parse::organization(
      s_.call("DELETE", path("/api/organizations", id, "/members/" + std::to_string(user_id))));
}

// --- deployments and routes ---

OffsetPage<Deployment> DeploymentsApi::page(const DeploymentFilter& f) {
  Query q("/api/deployments");
  q.add("organization_id", f.organization_id).add("state", f.state).add("q", f.q);
  add_window(q, f.limit, f.offset);
  return parse::offset_page<Deployment>(s_.call("GET", q.str()), parse::deployment);
}

std::vector<Deployment> DeploymentsApi::all(DeploymentFilter filter) {
  if (filter.limit == 0) filter.limit = 1000;
  return every_page<Deployment>(filter.offset, [&](std::int64_t offset) {
    filter.offset = offset;
    return page(filter);
  });
}

DeploymentDetail DeploymentsApi::get(std::int64_t id) {
  return parse::deployment_detail(s_.call("GET", path("/api/deployments", id)));
}

DeploymentDetail DeploymentsApi::create(const DeploymentRequest& r) {
  json body = {{"organization_id", r.organization_id}, {"name", r.name}, {"image", r.image}};
  if (!r.command.empty()) body["command"] = r.command;
  if (!r.env.empty()) body["env"] = labels_of(r.env);
  if (!r.ports.empty()) {
    json ports = json::array();
    for (const auto& p : r.ports)
      ports.push_back({{"container_port", p.container_port}, {"protocol", p.protocol}});
    body["ports"] = std::move(ports);
  }
  json resources = json::object();
  if (r.cpu_cores) resources["cpu_cores"] = *r.cpu_cores;
  if (r.memory_mb) resources["memory_mb"] = *r.memory_mb;
  if (r.disk_gb) resources["disk_gb"] = *r.disk_gb;
  if (!resources.empty()) body["resources"] = std::move(resources);
  if (r.replicas) body["replicas"] = *r.replicas;
  if (!r.labels.empty()) body["labels"] = labels_of(r.labels);
  if (r.pool) body["pool"] = *r.pool;
  if (r.anti_affinity_key) body["anti_affinity_key"] = *r.anti_affinity_key;
  if (r.max_unavailable) body["max_unavailable"] = *r.max_unavailable;
  return parse::deployment_detail(s_.call("POST", "/api/deployments", &body));
}

DeploymentDetail DeploymentsApi::change(std::int64_t id, const DeploymentChange& c) {
  json body = json::object();
  if (c.replicas) body["replicas"] = *c.replicas;
  if (c.labels) body["labels"] = labels_of(*c.labels);
  if (c.max_unavailable) body["max_unavailable"] = *c.max_unavailable;
  if (c.anti_affinity_key) body["anti_affinity_key"] = *c.anti_affinity_key;
  if (c.pool) body["pool"] = *c.pool;
  return parse::deployment_detail(s_.call("PATCH", path("/api/deployments", id), &body));
}

DeploymentDetail DeploymentsApi::remove(std::int64_t id) {
  return parse::deployment_detail(s_.call("DELETE", path("/api/deployments", id)));
}

std::vector<Route> DeploymentsApi::routes(std::optional<std::int64_t> deployment_id) {
  Query q("/api/routes");
  q.add("deployment_id", deployment_id);
  std::vector<Route> out;
  const json answer = s_.call("GET", q.str());  // items_of refers into it
  for (const auto& item : record::items_of(answer))
    out.push_back(parse::route(item));
  return out;
}

std::string DeploymentsApi::route_file(RouteFileFormat format) {
  const char* name = format == RouteFileFormat::kHaproxy ? "haproxy"
                     : format == RouteFileFormat::kNginx ? "nginx"
                                                         : "json";
  return s_.call_text("GET", std::string("/api/routes/file?format=") + name, "");
}

// --- migration plans and migrations ---

OffsetPage<MigrationPlan> MigrationsApi::plans(const PlanFilter& f) {
  Query q("/api/migration-plans");
  q.add("state", f.state).add("node_id", f.node_id).add("organization_id", f.organization_id);
  add_window(q, f.limit, f.offset);
  return parse::offset_page<MigrationPlan>(s_.call("GET", q.str()), parse::migration_plan);
}

MigrationPlan MigrationsApi::plan(std::int64_t id) {
  return parse::migration_plan(s_.call("GET", path("/api/migration-plans", id)));
}

MigrationPlan MigrationsApi::approve(std::int64_t id, const std::string& note) {
  json body = note_body(note);
  return parse::migration_plan(
      s_.call("POST", path("/api/migration-plans", id, "/approve"), &body));
}

MigrationPlan MigrationsApi::reject(std::int64_t id, const std::string& note) {
  json body = note_body(note);
  return parse::migration_plan(s_.call("POST", path("/api/migration-plans", id, "/reject"), &body));
}

OffsetPage<Migration> MigrationsApi::page(const MigrationFilter& f) {
  Query q("/api/migrations");
  q.add("deployment_id", f.deployment_id)
      .add("node_id", f.node_id)
      .add("plan_id", f.plan_id)
      .add("state", f.state);
  add_window(q, f.limit, f.offset);
  return parse::offset_page<Migration>(s_.call("GET", q.str()), parse::migration);
}

Migration MigrationsApi::get(std::int64_t id) {
  return parse::migration(s_.call("GET", path("/api/migrations", id)));
}

}  // namespace fleet::client
