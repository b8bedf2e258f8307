// fleetctl api orgs | deployments | routes | plans | migrations (issue 14; docs/fleetctl.md):
// organisations and their migration policy, deployments, routes and the reverse-proxy files,
// migration plans (approve / reject) and migrations, through the REST API. Like the other api
// commands each writes its result to `out` and returns fleetctl's exit code; a usage error
// (a malformed --env, --port, --label) is exit 2 with a message on `err`, nothing sent.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "api_commands.h"
#include "client/client.h"

namespace fleet::cli {

// "8080", "8080/tcp", "53/udp" -> a port; nullopt when malformed or out of 1..65535.
std::optional<client::PortSpec> parse_port(const std::string& text);
// "KEY=value" -> the pair (value may be empty or hold '='); nullopt without a key or '='.
std::optional<std::pair<std::string, std::string>> parse_assignment(const std::string& text);
// "route", "json", "haproxy", "nginx"... -> the format; nullopt when unknown.
std::optional<client::RouteFileFormat> parse_route_format(const std::string& text);

// An organisation named by its id or its name (404 -> NotFoundError).
std::int64_t resolve_organization(client::Client& c, const std::string& org);

int api_orgs_list(client::Client& c, const std::string& q, bool json, std::ostream& out);
int api_org_show(client::Client& c, const std::string& org, bool json, std::ostream& out);
int api_org_create(client::Client& c, const client::OrganizationRequest& request, bool json,
                   std::ostream& out);
int api_org_set_policy(client::Client& c, const std::string& org, const std::string& policy,
                       std::ostream& out, std::ostream& err);
int api_org_delete(client::Client& c, const std::string& org, std::ostream& out);
int api_org_add_member(client::Client& c, const std::string& org, std::int64_t user_id,
                       const std::string& role, std::ostream& out, std::ostream& err);
int api_org_remove_member(client::Client& c, const std::string& org, std::int64_t user_id,
                          std::ostream& out);

struct ApiDeploymentsOptions {
  ApiListOptions list;
  std::string org;  // id or name; "" = every organisation
  std::string state, q;
  std::int64_t offset = 0;
};
int api_deployments_list(client::Client& c, const ApiDeploymentsOptions& options,
                         std::ostream& out);
int api_deployment_show(client::Client& c, std::int64_t id, bool json, std::ostream& out);

struct ApiDeploymentCreateOptions {
  std::string org;  // id or name
  std::string name, image;
  std::vector<std::string> command;
  std::vector<std::string> env;     // KEY=value
  std::vector<std::string> ports;   // 8080[/tcp|/udp]
  std::vector<std::string> labels;  // key=value
  std::optional<double> cpu_cores;
  std::optional<std::int64_t> memory_mb;
  std::optional<double> disk_gb;
  std::optional<int> replicas, max_unavailable;
  std::optional<std::string> pool, anti_affinity_key;
  bool json = false;
};
// Builds the request from the options (exit 2 on `err` for a malformed value, nothing sent).
std::optional<client::DeploymentRequest> deployment_request(const ApiDeploymentCreateOptions& o,
                                                            std::int64_t organization_id,
                                                            std::ostream& err);
int api_deployment_create(client::Client& c, const ApiDeploymentCreateOptions& options,
                          std::ostream& out, std::ostream& err);
int api_deployment_scale(client::Client& c, std::int64_t id, int replicas, std::ostream& out);
int api_deployment_delete(client::Client& c, std::int64_t id, std::ostream& out);

// No format: the route table. json, haproxy or nginx: the file a reverse proxy loads.
int api_routes(client::Client& c, std::optional<std::int64_t> deployment_id,
               const std::string& format, std::ostream& out, std::ostream& err);

struct ApiPlansOptions {
  ApiListOptions list;
  std::string state, org;
  std::optional<std::int64_t> node_id;
  std::int64_t offset = 0;
};
int api_plans_list(client::Client& c, const ApiPlansOptions& options, std::ostream& out);
int api_plan_show(client::Client& c, std::int64_t id, bool json, std::ostream& out);
int api_plan_decide(client::Client& c, std::int64_t id, bool approve, const std::string& note,
                    std::ostream& out);

struct ApiMigrationsOptions {
  ApiListOptions list;
  std::optional<std::int64_t> deployment_id, node_id, plan_id;
  std::string state;
  std::int64_t offset = 0;
};
int api_migrations_list(client::Client& c, const ApiMigrationsOptions& options, std::ostream& out);
int api_migration_show(client::Client& c, std::int64_t id, bool json, std::ostream& out);

}  // namespace fleet::cli
