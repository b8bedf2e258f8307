// What the deployment route files (issue 14: organisations, deployments, routes, migration plans
// and migrations) share: offset pages, name checks, and the views of routes and migrations that
// more than one answer embeds. Included by those route files only (it brings in pqxx and
// nlohmann).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "router.h"

namespace fleet::gateway {

struct PageWindow {
  std::int64_t limit = 100;
  std::int64_t offset = 0;
};
// ?limit= (1..1000, default 100) and ?offset= (default 0); a 400 naming the parameter.
PageWindow page_window(const Call& call);

// "%text%" for ILIKE with %, _ and \ taken literally.
std::string contains_pattern(const std::string& text);

// Organisation and deployment names, pools and anti-affinity keys (sql/0044's CHECKs):
// lower-case letters and digits first, then letters, digits and `extra` characters, 1..63 long.
bool is_slug(std::string_view text, std::string_view extra);

// A route as GET /api/routes and a deployment's detail show it. SELECT route_columns() FROM
// route_from() WHERE ...: r is routes, d deployments, o organizations, w the node's worker.
const std::string& route_columns();
const std::string& route_from();
nlohmann::json route_json(const pqxx::row& r);
const nlohmann::json& route_schema();

// A migration as GET /api/migrations, a plan's and a deployment's detail show it (m, d, o, and
// wf / wt the from / to nodes' workers). The steps only with `with_steps`.
const std::string& migration_columns();
const std::string& migration_from();
nlohmann::json migration_json(const pqxx::row& r, bool with_steps);
const nlohmann::json& migration_schema();

// A deployment as lists show it; load_deployment adds placements, routes and the last 20
// migrations (404 when there is no such deployment).
const std::string& deployment_columns();
const std::string& deployment_from();
nlohmann::json deployment_json(const pqxx::row& r);
nlohmann::json load_deployment(pqxx::transaction_base& tx, std::int64_t id);
const nlohmann::json& deployment_schema();
const nlohmann::json& deployment_detail_schema();

// The parts of add_deployment_routes (routes.h), one per file.
void add_organization_routes(Router& router);      // routes_organizations.cpp
void add_deployment_read_routes(Router& router);   // routes_deployments.cpp
void add_deployment_write_routes(Router& router);  // routes_deployments_write.cpp
void add_route_table_routes(Router& router);       // routes_routes.cpp
void add_migration_routes(Router& router);         // routes_migrations.cpp

}  // namespace fleet::gateway
