// Container host nodes, the operator's side (issue 13, sql/0040): the list and detail of nodes,
// drain/undrain (operators), credential revocation and removal (admins), fleet-wide node stats
// and every worker's status history. Registration tokens and the installer are in
// routes_node_tokens.cpp; what nodes themselves call (register, heartbeat, commands) is elsewhere.
//
// Every status written here sets workers.status_reason, which the history trigger copies.
#include <cmath>

#include <pqxx/pqxx>

#include "core/strings.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

const std::string kNodeColumns =
    "w.id, w.name, w.status, w.status_reason, " + iso_sql("w.status_since") +
    ", w.site, n.pool, n.hostname, "
    "(SELECT coalesce(json_agg(host(a) ORDER BY i), '[]'::json) "
    "   FROM unnest(n.addresses) WITH ORDINALITY AS x(a, i))::text, "
    "n.cpu_cores, n.memory_mb, n.disk_gb, n.cpu_percent, n.memory_percent, n.disk_percent, "
    "n.containers, n.containers_running, " +
    iso_sql("n.last_heartbeat_at") +
    ", CASE WHEN n.last_heartbeat_at IS NOT NULL "
    "  THEN floor(extract(epoch FROM greatest(interval '0', now() - n.last_heartbeat_at))) "
    "END::bigint, "
    "w.status = 'draining', n.credential_revoked_at IS NOT NULL";

// Detail columns, after kNodeColumns.
const std::string kNodeDetailColumns =
    ", n.os, n.kernel, n.engine, n.engine_version, n.agent_version, n.machine_id, " +
    iso_sql("n.registered_at") + ", " + iso_sql("n.credential_rotated_at") + ", " +
    iso_sql("n.credential_revoked_at") +
    ", array_to_json(n.over_limit)::text, n.container_list::text, w.labels::text, " +
    iso_sql("n.drain_requested_at") + ", n.drain_requested_by, n.heartbeats";

const std::string kNodeFrom = " FROM nodes n JOIN workers w ON w.id = n.worker_id ";

// Mean of the load figures the node reported (null when it reported none).
json load_average(const std::vector<json>& parts) {
  double sum = 0;
  int n = 0;
  for (const auto& p : parts) {
    if (p.is_number()) {
      sum += p.get<double>();
      ++n;
    }
  }
  return n == 0 ? json() : json(sum / n);
}

json node_json(const pqxx::row& r) {
  json cpu = opt_double(r[12]), memory = opt_double(r[13]), disk = opt_double(r[14]);
  return {{"id", r[0].as<std::int64_t>()},
          {"name", r[1].as<std::string>()},
          {"status", r[2].as<std::string>()},
          {"status_reason", opt_text(r[3])},
          {"status_since", r[4].as<std::string>()},
          {"site", opt_text(r[5])},
          {"pool", r[6].as<std::string>()},
          {"hostname", r[7].as<std::string>()},
          {"addresses", json::parse(r[8].as<std::string>())},
          {"capacity",
           {{"cpu_cores", r[9].as<std::int64_t>()},
            {"memory_mb", r[10].as<std::int64_t>()},
            {"disk_gb", r[11].as<double>()}}},
          {"load",
           {{"cpu_percent", cpu},
            {"memory_percent", memory},
            {"disk_percent", disk},
            {"average", load_average({cpu, memory, disk})}}},
          {"containers", opt_int(r[15])},
          {"containers_running", opt_int(r[16])},
          {"last_heartbeat_at", opt_text(r[17])},
          {"heartbeat_age_s", opt_int(r[18])},
          {"draining", r[19].as<bool>()},
          {"credential_revoked", r[20].as<bool>()}};
}

json node_detail_json(const pqxx::row& r) {
  json out = node_json(r);
  constexpr int d = 21;
  out["os"] = r[d].as<std::string>();
  out["kernel"] = r[d + 1].as<std::string>();
  out["engine"] = r[d + 2].as<std::string>();
  out["engine_version"] = r[d + 3].as<std::string>();
  out["agent_version"] = r[d + 4].as<std::string>();
  out["machine_id"] = opt_text(r[d + 5]);
  out["registered_at"] = r[d + 6].as<std::string>();
  out["credential_rotated_at"] = r[d + 7].as<std::string>();
  out["credential_revoked_at"] = opt_text(r[d + 8]);
  out["over_limit"] = json::parse(r[d + 9].as<std::string>());
  out["container_list"] = json::parse(r[d + 10].as<std::string>());
  out["labels"] = json::parse(r[d + 11].as<std::string>());
  out["drain_requested_at"] = opt_text(r[d + 12]);
  out["drain_requested_by"] = opt_text(r[d + 13]);
  out["heartbeats"] = r[d + 14].as<std::int64_t>();
  return out;
}

// The deployment replicas placed on the node now (issue 14: current placements, not retired and
// not removed).
json current_placements(pqxx::transaction_base& tx, std::int64_t id) {
  json out = json::array();
  for (const auto& r : tx.exec_params(
           "SELECT p.id, p.deployment_id, d.name || '.' || o.name, p.replica, p.state, "
           "p.container_name FROM placements p JOIN deployments d ON d.id = p.deployment_id "
           "JOIN organizations o ON o.id = d.organization_id "
           "WHERE p.node_id = $1 AND p.retired_at IS NULL AND p.state <> 'removed' "
           "ORDER BY p.deployment_id, p.replica, p.id",
           id)) {
    out.push_back({{"id", r[0].as<std::int64_t>()},
                   {"deployment_id", r[1].as<std::int64_t>()},
                   {"service", r[2].as<std::string>()},
                   {"replica", r[3].as<std::int64_t>()},
                   {"state", r[4].as<std::string>()},
                   {"container_name", opt_text(r[5])}});
  }
  return out;
}

json load_node(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(
      "SELECT " + kNodeColumns + kNodeDetailColumns + kNodeFrom + "WHERE n.worker_id = $1", id);
  if (rows.empty()) throw ApiError::not_found("node " + std::to_string(id) + " not found");
  json out = node_detail_json(rows[0]);
  out["placements"] = current_placements(tx, id);
  return out;
}

const json kNullableString = {{"type", "string"}, {"nullable", true}};
const json kNullableNumber = {{"type", "number"}, {"nullable", true}};
const json kNullableInteger = {{"type", "integer"}, {"nullable", true}};

const json kNode = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}, {"description", "the node's worker id"}}},
      {"name", {{"type", "string"}}},
      {"status",
       {{"type", "string"},
        {"enum",
         {"pending", "online", "unhealthy", "draining", "offline", "unreachable", "removed"}}}},
      {"status_reason", kNullableString},
      {"status_since", {{"type", "string"}, {"format", "date-time"}}},
      {"site", kNullableString},
      {"pool", {{"type", "string"}}},
      {"hostname", {{"type", "string"}}},
      {"addresses", {{"type", "array"}, {"items", {{"type", "string"}}}}},
      {"capacity",
       {{"type", "object"},
        {"properties",
         {{"cpu_cores", {{"type", "integer"}}},
          {"memory_mb", {{"type", "integer"}}},
          {"disk_gb", {{"type", "number"}}}}}}},
      {"load",
       {{"type", "object"},
        {"description", "the last heartbeat's figures; average is their mean"},
        {"properties",
         {{"cpu_percent", kNullableNumber},
          {"memory_percent", kNullableNumber},
          {"disk_percent", kNullableNumber},
          {"average", kNullableNumber}}}}},
      {"containers", kNullableInteger},
      {"containers_running", kNullableInteger},
      {"last_heartbeat_at", kNullableString},
      {"heartbeat_age_s", kNullableInteger},
      {"draining", {{"type", "boolean"}}},
      {"credential_revoked", {{"type", "boolean"}}}}}};

const json kNodeDetail = [] {
  json s = kNode;
  auto& p = s["properties"];
  for (const char* f : {"os", "kernel", "engine", "engine_version", "agent_version"})
    p[f] = {{"type", "string"}};
  p["machine_id"] = kNullableString;
  p["registered_at"] = {{"type", "string"}};
  p["credential_rotated_at"] = {{"type", "string"}};
  p["credential_revoked_at"] = kNullableString;
  p["over_limit"] = {{"type", "array"},
                     {"items", {{"type", "string"}}},
                     {"description", "the limits the last heartbeat broke"}};
  p["container_list"] = {{"type", "array"},
                         {"items", {{"type", "object"}}},
                         {"description", "the containers of the last heartbeat"}};
  p["labels"] = {{"type", "object"}};
  p["drain_requested_at"] = kNullableString;
  p["drain_requested_by"] = kNullableString;
  p["heartbeats"] = {{"type", "integer"}};
  p["placements"] = {
      {"type", "array"},
      {"description", "deployment replicas placed on the node now (not retired, not removed)"},
      {"items",
       {{"type", "object"},
        {"properties",
         {{"id", {{"type", "integer"}}},
          {"deployment_id", {{"type", "integer"}}},
          {"service", {{"type", "string"}}},
          {"replica", {{"type", "integer"}}},
          {"state", {{"type", "string"}}},
          {"container_name", kNullableString}}}}}};
  return s;
}();

const json kReasonBody = {{"type", "object"},
                          {"properties", {{"reason", {{"type", "string"}, {"maxLength", 500}}}}}};

// "drained by alice: kernel upgrade" — the status reason of a user's action. An empty body is
// no reason; a body may only carry {"reason"}.
std::string action_reason(const Call& call, const std::string& verb) {
  std::string reason = verb + " by " + call.who().name;
  if (call.request().body.empty()) return reason;
  JsonBody body = call.body();
  body.only({"reason"});
  if (auto why = body.opt_string("reason", 500)) reason += ": " + *why;
  return reason;
}

// The node's worker row, locked; 404 when there is no such node.
std::string lock_node_status(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(
      "SELECT w.status FROM workers w JOIN nodes n ON n.worker_id = w.id WHERE w.id = $1 "
      "FOR UPDATE OF w, n",
      id);
  if (rows.empty()) throw ApiError::not_found("node " + std::to_string(id) + " not found");
  return rows[0][0].as<std::string>();
}

// Current placements of deployments on the node (what migration-planner still counts there).
std::int64_t placements_on(pqxx::transaction_base& tx, std::int64_t id) {
  return tx
      .exec_params1(
          "SELECT count(*) FROM placements WHERE node_id = $1 AND retired_at IS NULL "
          "AND state <> 'removed'",
          id)[0]
      .as<std::int64_t>();
}

// Containers of fleetward deployments on the node, from its last heartbeat's container list.
std::int64_t managed_containers(pqxx::transaction_base& tx, std::int64_t id) {
  return tx
      .exec_params1(
          "SELECT count(*) FROM nodes n, jsonb_array_elements(n.container_list) c "
          "WHERE n.worker_id = $1 AND jsonb_typeof(c -> 'labels') = 'object' "
          "AND (c -> 'labels') ? 'fleetward.deployment'",
          id)[0]
      .as<std::int64_t>();
}

void add_node_read_routes(Router& router) {
  router.add(
      {.method = "GET",
       .path = "/api/nodes",
       .tag = "nodes",
       .summary = "Container host nodes with their capacity, last load and heartbeat, filtered, "
                  "in pages (offset). Removed nodes only with status=removed.",
       .response_schema = offset_page_schema(kNode),
       .query_parameters =
           {query_param("status", "string",
                        "pending, online, unhealthy, draining, offline, unreachable or removed"),
            query_param("site", "string", "only this site"),
            query_param("pool", "string", "only this pool"),
            query_param("q", "string", "name, hostname or address contains"),
            query_param("limit", "integer", "page size, 1..1000 (default 100)"),
            query_param("offset", "integer", "items to skip (default 0)")},
       .handler = [](Call& call) {
         auto status = call.query("status", 20);
         if (status && !is_worker_status(*status)) {
           throw ApiError::bad_request(
               "query parameter 'status' must be pending, online, unhealthy, draining, offline, "
               "unreachable or removed",
               "status");
         }
         auto site = call.query("site", 200);
         auto pool = call.query("pool", 63);
         auto q = call.query("q", 200);
         std::optional<std::string> pattern;
         if (q && !q->empty()) pattern = like_pattern(*q);
         const auto limit = call.query_int("limit", 100, 1, 1000);
         const auto offset = call.query_int("offset", 0, 0, 1'000'000'000);
         const std::string where =
             "WHERE (CASE WHEN $1::text IS NULL THEN w.status <> 'removed' ELSE w.status = $1 END) "
             "AND ($2::text IS NULL OR w.site = $2) AND ($3::text IS NULL OR n.pool = $3) "
             "AND ($4::text IS NULL OR w.name ILIKE $4 OR n.hostname ILIKE $4 "
             "     OR EXISTS (SELECT 1 FROM unnest(n.addresses) a WHERE host(a) LIKE $4)) ";
         json page;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const auto total = tx.exec_params1("SELECT count(*)" + kNodeFrom + where, status, site,
                                              pool, pattern)[0]
                                  .as<std::int64_t>();
           json items = json::array();
           for (const auto& r : tx.exec_params("SELECT " + kNodeColumns + kNodeFrom + where +
                                                   "ORDER BY w.id LIMIT $5 OFFSET $6",
                                               status, site, pool, pattern, limit, offset)) {
             items.push_back(node_json(r));
           }
           page = {
               {"items", std::move(items)}, {"total", total}, {"limit", limit}, {"offset", offset}};
         });
         return Reply{.body = page};
       }});

  router.add({.method = "GET",
              .path = "/api/nodes/stats",
              .tag = "nodes",
              .summary = "Node totals over the nodes not removed: how many per status, their "
                         "capacity; used capacity and average load over the online, unhealthy "
                         "and draining nodes that have sent a heartbeat",
              .response_schema =
                  {{"type", "object"},
                   {"properties",
                    {{"total", {{"type", "integer"}}},
                     {"by_status", {{"type", "object"}}},
                     {"capacity", {{"type", "object"}}},
                     {"used", {{"type", "object"}}},
                     {"average_load",
                      {{"type", "object"},
                       {"description",
                        "means of cpu_percent, memory_percent, disk_percent over the nodes; "
                        "overall is the mean of the three (null without heartbeats)"}}}}}},
              .handler = [](Call& call) {
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  json by_status = json::object();
                  for (const char* s :
                       {"pending", "online", "unhealthy", "draining", "offline", "unreachable"})
                    by_status[s] = 0;
                  std::int64_t total = 0;
                  for (const auto& r : tx.exec("SELECT w.status, count(*)" + kNodeFrom +
                                               "WHERE w.status <> 'removed' GROUP BY w.status")) {
                    by_status[r[0].as<std::string>()] = r[1].as<std::int64_t>();
                    total += r[1].as<std::int64_t>();
                  }
                  auto cap = tx.exec1(
                      "SELECT coalesce(sum(n.cpu_cores), 0)::bigint, "
                      "coalesce(sum(n.memory_mb), 0)::bigint, coalesce(sum(n.disk_gb), 0)" +
                      kNodeFrom + "WHERE w.status <> 'removed'");
                  // Used: each node's capacity times its load share.
                  auto used = tx.exec1(
                      "SELECT coalesce(sum(n.cpu_cores * n.cpu_percent / 100.0), 0), "
                      "coalesce(sum(n.memory_mb * n.memory_percent / 100.0), 0), "
                      "coalesce(sum(n.disk_gb * n.disk_percent / 100.0), 0), "
                      "avg(n.cpu_percent), avg(n.memory_percent), avg(n.disk_percent)" +
                      kNodeFrom +
                      "WHERE w.status IN ('online', 'unhealthy', 'draining') "
                      "AND n.last_heartbeat_at IS NOT NULL");
                  json cpu = opt_double(used[3]), memory = opt_double(used[4]),
                       disk = opt_double(used[5]);
                  out = {{"total", total},
                         {"by_status", by_status},
                         {"capacity",
                          {{"cpu_cores", cap[0].as<std::int64_t>()},
                           {"memory_mb", cap[1].as<std::int64_t>()},
                           {"disk_gb", cap[2].as<double>()}}},
                         {"used",
                          {{"cpu_cores", used[0].as<double>()},
                           {"memory_mb", used[1].as<double>()},
                           {"disk_gb", used[2].as<double>()}}},
                         {"average_load",
                          {{"cpu_percent", cpu},
                           {"memory_percent", memory},
                           {"disk_percent", disk},
                           {"overall", load_average({cpu, memory, disk})}}}};
                });
                return Reply{.body = out};
              }});

  router.add({.method = "GET",
              .path = "/api/nodes/{id}",
              .tag = "nodes",
              .summary = "One node with its host facts, credential state, last container list "
                         "and the deployment replicas placed on it",
              .response_schema = kNodeDetail,
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = load_node(tx, call.id()); });
                return Reply{.body = out};
              }});

  router.add({.method = "GET",
              .path = "/api/workers/{id}/status-history",
              .tag = "workers",
              .summary = "A worker's status changes, newest first, with why and by which service",
              .response_schema = {{"type", "object"},
                                  {"properties",
                                   {{"items",
                                     {{"type", "array"},
                                      {"items",
                                       {{"type", "object"},
                                        {"properties",
                                         {{"from", {{"type", "string"}}},
                                          {"to", {{"type", "string"}}},
                                          {"reason", {{"type", "string"}}},
                                          {"at", {{"type", "string"}, {"format", "date-time"}}},
                                          {"changed_by", {{"type", "string"}}}}}}}}}}}},
              .query_parameters = {query_param("limit", "integer", "1..1000 (default 100)")},
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                const auto limit = call.query_int("limit", 100, 1, 1000);
                json items = json::array();
                call.db().transact([&](pqxx::transaction_base& tx) {
                  if (tx.exec_params("SELECT 1 FROM workers WHERE id = $1", id).empty())
                    throw ApiError::not_found("worker " + std::to_string(id) + " not found");
                  items = json::array();
                  for (const auto& r : tx.exec_params(
                           "SELECT from_status, to_status, reason, " + iso_sql("at") +
                               ", changed_by FROM worker_status_history WHERE worker_id = $1 "
                               "ORDER BY at DESC, id DESC LIMIT $2",
                           id, limit)) {
                    items.push_back({{"from", r[0].as<std::string>()},
                                     {"to", r[1].as<std::string>()},
                                     {"reason", r[2].as<std::string>()},
                                     {"at", r[3].as<std::string>()},
                                     {"changed_by", r[4].as<std::string>()}});
                  }
                });
                return Reply{.body = {{"items", items}}};
              }});
}

void add_node_action_routes(Router& router) {
  router.add({.method = "POST",
              .path = "/api/nodes/{id}/drain",
              .tag = "nodes",
              .summary = "Drain a node: status draining (no new containers; the planner moves its "
                         "deployments away). Optional body {reason}. 409 when removed or draining.",
              .role = Role::kOperator,
              .request_schema = kReasonBody,
              .response_schema = kNodeDetail,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                const std::string reason = action_reason(call, "drained");
                call.audit_target("node:" + std::to_string(id));
                call.audit_detail("reason", reason);
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  const std::string status = lock_node_status(tx, id);
                  if (status == "removed" || status == "draining") {
                    throw ApiError::conflict("node " + std::to_string(id) + " is " + status,
                                             "status");
                  }
                  tx.exec_params(
                      "UPDATE workers SET status = 'draining', status_reason = $2 WHERE id = $1",
                      id, reason);
                  tx.exec_params(
                      "UPDATE nodes SET drain_requested_at = now(), drain_requested_by = $2 "
                      "WHERE worker_id = $1",
                      id, call.who().name);
                  out = load_node(tx, id);
                });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/nodes/{id}/undrain",
       .tag = "nodes",
       .summary = "End a drain: status pending until the heartbeat-monitor sees the node healthy "
                  "again. Optional body {reason}. 409 unless the node is draining.",
       .role = Role::kOperator,
       .request_schema = kReasonBody,
       .response_schema = kNodeDetail,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         const std::string reason = action_reason(call, "undrained");
         call.audit_target("node:" + std::to_string(id));
         call.audit_detail("reason", reason);
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const std::string status = lock_node_status(tx, id);
           if (status != "draining") {
             throw ApiError::conflict(
                 "node " + std::to_string(id) + " is " + status + ", not draining", "status");
           }
           tx.exec_params("UPDATE workers SET status = 'pending', status_reason = $2 WHERE id = $1",
                          id, reason);
           tx.exec_params(
               "UPDATE nodes SET drain_requested_at = NULL, drain_requested_by = NULL "
               "WHERE worker_id = $1",
               id);
           out = load_node(tx, id);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "POST",
       .path = "/api/nodes/{id}/credential/revoke",
       .tag = "nodes",
       .summary = "Revoke a node's credential at once (every gateway replica refuses it from "
                  "now); the node must register again with a new token",
       .role = Role::kAdmin,
       .response_schema = kNodeDetail,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("node:" + std::to_string(id));
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           lock_node_status(tx, id);
           // Revoked stays revoked at its first time; the grace of a rotated credential ends.
           tx.exec_params(
               "UPDATE nodes SET credential_revoked_at = coalesce(credential_revoked_at, now()), "
               "previous_valid_until = NULL WHERE worker_id = $1",
               id);
           out = load_node(tx, id);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "DELETE",
       .path = "/api/nodes/{id}",
       .tag = "nodes",
       .summary = "Remove a node: status removed, credential revoked. Refused (409) while "
                  "deployments have current placements on it or containers of fleetward "
                  "deployments remain in its last container list, unless force=true.",
       .role = Role::kAdmin,
       .response_schema = kNodeDetail,
       .query_parameters = {query_param("force", "boolean",
                                        "remove even with deployments left (default false)")},
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         const bool force = call.query_bool("force").value_or(false);
         call.audit_target("node:" + std::to_string(id));
         call.audit_detail("force", force);
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const std::string status = lock_node_status(tx, id);
           if (status == "removed")
             throw ApiError::conflict("node " + std::to_string(id) + " is removed already");
           const std::int64_t placed = placements_on(tx, id);
           const std::int64_t left = managed_containers(tx, id);
           if ((placed > 0 || left > 0) && !force) {
             throw ApiError::conflict("node " + std::to_string(id) + " still holds " +
                                          std::to_string(placed) +
                                          " current placement(s) and runs " + std::to_string(left) +
                                          " container(s) of fleetward deployments: drain it "
                                          "first, or remove with force=true",
                                      "force");
           }
           std::string reason = "removed by " + call.who().name;
           if (placed > 0 || left > 0) {
             reason += " (forced, " + std::to_string(placed) + " placement(s), " +
                       std::to_string(left) + " deployment container(s) left)";
           }
           tx.exec_params("UPDATE workers SET status = 'removed', status_reason = $2 WHERE id = $1",
                          id, reason);
           tx.exec_params(
               "UPDATE nodes SET credential_revoked_at = coalesce(credential_revoked_at, now()), "
               "previous_valid_until = NULL WHERE worker_id = $1",
               id);
           out = load_node(tx, id);
         });
         return Reply{.body = out};
       }});
}

}  // namespace

void add_node_admin_routes(Router& router, const NodeAdminOptions& options) {
  add_node_token_routes(router, options);
  add_node_read_routes(router);
  add_node_action_routes(router);
}

}  // namespace fleet::gateway
