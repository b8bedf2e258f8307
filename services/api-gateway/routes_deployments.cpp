// Deployments, the reading side (issue 14): lists and the detail with placements, routes and
// the last migrations; and what the deployment route files share (routes_deployments.h). The
// changes (create, change, delete) are in routes_deployments_write.cpp.
#include "routes_deployments.h"

#include <pqxx/pqxx>

#include "routes.h"
#include "rows.h"

namespace fleet::gateway {

using json = nlohmann::json;

PageWindow page_window(const Call& call) {
  return {.limit = call.query_int("limit", 100, 1, 1000),
          .offset = call.query_int("offset", 0, 0, 1'000'000'000)};
}

std::string contains_pattern(const std::string& text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

bool is_slug(std::string_view text, std::string_view extra) {
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (text.empty() || text.size() > 63 || !lower_or_digit(text.front())) return false;
  for (char c : text) {
    if (!lower_or_digit(c) && extra.find(c) == std::string_view::npos) return false;
  }
  return true;
}

const std::string& deployment_columns() {
  static const std::string columns =
      "d.id, d.organization_id, o.name, d.name, d.image, array_to_json(d.command)::text, "
      "d.env::text, d.ports::text, d.cpu_cores, d.memory_mb, d.disk_gb, d.replicas, "
      "d.labels::text, d.pool, d.anti_affinity_key, d.max_unavailable, d.state, d.created_by, " +
      iso_sql("d.created_at") + ", " + iso_sql("d.updated_at") +
      ", (SELECT count(DISTINCT p.replica) FROM placements p WHERE p.deployment_id = d.id "
      "   AND p.retired_at IS NULL AND p.state = 'running'), "
      "(SELECT count(DISTINCT p.replica) FROM placements p WHERE p.deployment_id = d.id "
      "   AND p.retired_at IS NULL AND p.state = 'unplaced'), " +
      iso_sql("d.deleted_at");
  return columns;
}

const std::string& deployment_from() {
  static const std::string from =
      " FROM deployments d JOIN organizations o ON o.id = d.organization_id ";
  return from;
}

json deployment_json(const pqxx::row& r) {
  const std::string name = r[3].as<std::string>(), org = r[2].as<std::string>();
  return {{"id", r[0].as<std::int64_t>()},
          {"organization_id", r[1].as<std::int64_t>()},
          {"organization", org},
          {"name", name},
          {"service", name + "." + org},
          {"image", r[4].as<std::string>()},
          {"command", json::parse(r[5].as<std::string>())},
          {"env", json::parse(r[6].as<std::string>())},
          {"ports", json::parse(r[7].as<std::string>())},
          {"resources",
           {{"cpu_cores", r[8].as<double>()},
            {"memory_mb", r[9].as<std::int64_t>()},
            {"disk_gb", r[10].as<double>()}}},
          {"replicas", r[11].as<std::int64_t>()},
          {"labels", json::parse(r[12].as<std::string>())},
          {"pool", r[13].as<std::string>()},
          {"anti_affinity_key", opt_text(r[14])},
          {"max_unavailable", r[15].as<std::int64_t>()},
          {"state", r[16].as<std::string>()},
          {"created_by", r[17].as<std::string>()},
          {"created_at", r[18].as<std::string>()},
          {"updated_at", r[19].as<std::string>()},
          {"replicas_running", r[20].as<std::int64_t>()},
          {"replicas_unplaced", r[21].as<std::int64_t>()},
          {"deleted_at", opt_text(r[22])}};
}

json load_deployment(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows =
      tx.exec_params("SELECT " + deployment_columns() + deployment_from() + "WHERE d.id = $1", id);
  if (rows.empty()) throw ApiError::not_found("deployment " + std::to_string(id) + " not found");
  json out = deployment_json(rows[0]);

  // Every placement not removed, and the last 20 removed ones.
  json placements = json::array();
  for (const auto& r : tx.exec_params(
           "SELECT p.id, p.replica, p.node_id, w.name, p.container_name, p.state, p.reason, "
           "p.ports::text, " +
               iso_sql("p.running_since") + ", " + iso_sql("p.retired_at") + ", p.migration_id, " +
               iso_sql("p.created_at") +
               " FROM placements p LEFT JOIN workers w ON w.id = p.node_id "
               "WHERE p.deployment_id = $1 AND (p.state <> 'removed' OR p.id IN ("
               "  SELECT id FROM placements WHERE deployment_id = $1 AND state = 'removed' "
               "  ORDER BY id DESC LIMIT 20)) "
               "ORDER BY p.replica, p.id",
           id)) {
    placements.push_back({{"id", r[0].as<std::int64_t>()},
                          {"replica", r[1].as<std::int64_t>()},
                          {"node_id", opt_int(r[2])},
                          {"node_name", opt_text(r[3])},
                          {"container_name", opt_text(r[4])},
                          {"state", r[5].as<std::string>()},
                          {"reason", r[6].as<std::string>()},
                          {"ports", json::parse(r[7].as<std::string>())},
                          {"running_since", opt_text(r[8])},
                          {"retired_at", opt_text(r[9])},
                          {"migration_id", opt_int(r[10])},
                          {"created_at", r[11].as<std::string>()}});
  }
  out["placements"] = std::move(placements);

  json routes = json::array();
  for (const auto& r : tx.exec_params("SELECT " + route_columns() + route_from() +
                                          "WHERE r.deployment_id = $1 "
                                          "ORDER BY r.container_port, r.protocol, r.replica",
                                      id)) {
    routes.push_back(route_json(r));
  }
  out["routes"] = std::move(routes);

  json migrations = json::array();
  for (const auto& r : tx.exec_params("SELECT " + migration_columns() + migration_from() +
                                          "WHERE m.deployment_id = $1 ORDER BY m.id DESC LIMIT 20",
                                      id)) {
    migrations.push_back(migration_json(r, false));
  }
  out["migrations"] = std::move(migrations);
  return out;
}

namespace {

const json kNullableString = {{"type", "string"}, {"nullable", true}};
const json kNullableInteger = {{"type", "integer"}, {"nullable", true}};

}  // namespace

const json& deployment_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "integer"}}},
        {"organization_id", {{"type", "integer"}}},
        {"organization", {{"type", "string"}}},
        {"name", {{"type", "string"}}},
        {"service", {{"type", "string"}, {"description", "<name>.<organisation>"}}},
        {"image", {{"type", "string"}}},
        {"command", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"env",
         {{"type", "object"},
          {"description", "environment variables; not secrets (they are returned as stored)"}}},
        {"ports",
         {{"type", "array"},
          {"items",
           {{"type", "object"},
            {"properties",
             {{"container_port", {{"type", "integer"}}},
              {"protocol", {{"type", "string"}, {"enum", {"tcp", "udp"}}}}}}}}}},
        {"resources",
         {{"type", "object"},
          {"description", "what one replica reserves on a node"},
          {"properties",
           {{"cpu_cores", {{"type", "number"}}},
            {"memory_mb", {{"type", "integer"}}},
            {"disk_gb", {{"type", "number"}}}}}}},
        {"replicas", {{"type", "integer"}}},
        {"labels", {{"type", "object"}}},
        {"pool", {{"type", "string"}}},
        {"anti_affinity_key", kNullableString},
        {"max_unavailable", {{"type", "integer"}}},
        {"state", {{"type", "string"}, {"enum", {"active", "deleting", "deleted"}}}},
        {"created_by", {{"type", "string"}}},
        {"created_at", {{"type", "string"}, {"format", "date-time"}}},
        {"updated_at", {{"type", "string"}, {"format", "date-time"}}},
        {"replicas_running", {{"type", "integer"}}},
        {"replicas_unplaced", {{"type", "integer"}}},
        {"deleted_at", kNullableString}}}};
  return schema;
}

const json& deployment_detail_schema() {
  static const json schema = [] {
    json s = deployment_schema();
    auto& p = s["properties"];
    p["placements"] = {
        {"type", "array"},
        {"description", "placements not removed, and the last 20 removed"},
        {"items",
         {{"type", "object"},
          {"properties",
           {{"id", {{"type", "integer"}}},
            {"replica", {{"type", "integer"}}},
            {"node_id", kNullableInteger},
            {"node_name", kNullableString},
            {"container_name", kNullableString},
            {"state",
             {{"type", "string"},
              {"enum",
               {"unplaced", "starting", "running", "failed", "lost", "stopping", "removed"}}}},
            {"reason", {{"type", "string"}}},
            {"ports", {{"type", "array"}, {"items", {{"type", "object"}}}}},
            {"running_since", kNullableString},
            {"retired_at", kNullableString},
            {"migration_id", kNullableInteger},
            {"created_at", {{"type", "string"}}}}}}}};
    p["routes"] = {{"type", "array"}, {"items", route_schema()}};
    p["migrations"] = {
        {"type", "array"}, {"description", "the last 20"}, {"items", migration_schema()}};
    return s;
  }();
  return schema;
}

void add_deployment_read_routes(Router& router) {
  router.add(
      {.method = "GET",
       .path = "/api/deployments",
       .tag = "deployments",
       .summary = "Deployments with their replicas running and unplaced, in pages (offset). "
                  "Deleted ones only with state=deleted.",
       .response_schema = offset_page_schema(deployment_schema()),
       .query_parameters = {query_param("organization_id", "integer", "only this organisation's"),
                            query_param("state", "string", "active, deleting or deleted"),
                            query_param("q", "string", "name, service address or image contains"),
                            query_param("limit", "integer", "page size, 1..1000 (default 100)"),
                            query_param("offset", "integer", "items to skip (default 0)")},
       .handler = [](Call& call) {
         const auto organization = call.query_opt_int("organization_id", 1, INT64_MAX);
         auto state = call.query("state", 20);
         if (state && *state != "active" && *state != "deleting" && *state != "deleted") {
           throw ApiError::bad_request(
               "query parameter 'state' must be active, deleting or deleted", "state");
         }
         auto q = call.query("q", 200);
         std::optional<std::string> pattern;
         if (q && !q->empty()) pattern = contains_pattern(*q);
         const PageWindow page = page_window(call);
         const std::string where =
             "WHERE ($1::bigint IS NULL OR d.organization_id = $1) "
             "AND (CASE WHEN $2::text IS NULL THEN d.state <> 'deleted' ELSE d.state = $2 END) "
             "AND ($3::text IS NULL OR d.name ILIKE $3 OR d.image ILIKE $3 "
             "     OR d.name || '.' || o.name ILIKE $3) ";
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const auto total = tx.exec_params1("SELECT count(*)" + deployment_from() + where,
                                              organization, state, pattern)[0]
                                  .as<std::int64_t>();
           json items = json::array();
           for (const auto& r :
                tx.exec_params("SELECT " + deployment_columns() + deployment_from() + where +
                                   "ORDER BY d.id LIMIT $4 OFFSET $5",
                               organization, state, pattern, page.limit, page.offset)) {
             items.push_back(deployment_json(r));
           }
           out = {{"items", std::move(items)},
                  {"total", total},
                  {"limit", page.limit},
                  {"offset", page.offset}};
         });
         return Reply{.body = out};
       }});

  router.add({.method = "GET",
              .path = "/api/deployments/{id}",
              .tag = "deployments",
              .summary = "One deployment with its placements, routes and last 20 migrations",
              .response_schema = deployment_detail_schema(),
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = load_deployment(tx, call.id()); });
                return Reply{.body = out};
              }});
}

void add_deployment_routes(Router& router) {
  add_organization_routes(router);
  add_deployment_read_routes(router);
  add_deployment_write_routes(router);
  add_route_table_routes(router);
  add_migration_routes(router);
}

}  // namespace fleet::gateway
