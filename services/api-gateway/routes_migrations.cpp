// Migration plans and migrations (issue 14): what migration-planner decided for a failed or
// draining node and one organisation, and each replica's move step by step. Operators approve or
// reject plans that wait for approval (policy manual); the planner carries approved plans out.
#include <pqxx/pqxx>

#include "routes.h"
#include "routes_deployments.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

constexpr const char* kPlanStates[] = {"awaiting_approval", "executing", "done",     "failed",
                                       "rejected",          "recorded",  "cancelled"};
constexpr const char* kMigrationStates[] = {"awaiting_approval", "recorded", "pending", "starting",
                                            "switching",         "cleanup",  "done",    "failed",
                                            "rejected",          "cancelled"};

template <std::size_t N>
std::optional<std::string> state_query(const Call& call, const char* const (&known)[N]) {
  auto state = call.query("state", 40);
  if (!state) return state;
  std::string list;
  for (const char* k : known) {
    if (*state == k) return state;
    list += (list.empty() ? "" : ", ") + std::string(k);
  }
  throw ApiError::bad_request("query parameter 'state' must be one of " + list, "state");
}

const std::string kPlanColumns =
    "p.id, p.node_id, w.name, p.organization_id, o.name, p.trigger, p.policy, p.state, p.reason, " +
    iso_sql("p.created_at") + ", p.decided_by, " + iso_sql("p.decided_at") + ", p.decision_note, " +
    iso_sql("p.finished_at") + ", p.summary::text, p.created_by";
const std::string kPlanFrom =
    " FROM migration_plans p JOIN workers w ON w.id = p.node_id "
    "JOIN organizations o ON o.id = p.organization_id ";

json plan_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"node_id", r[1].as<std::int64_t>()},
          {"node_name", r[2].as<std::string>()},
          {"organization_id", r[3].as<std::int64_t>()},
          {"organization", r[4].as<std::string>()},
          {"trigger", r[5].as<std::string>()},
          {"policy", r[6].as<std::string>()},
          {"state", r[7].as<std::string>()},
          {"reason", r[8].as<std::string>()},
          {"created_at", r[9].as<std::string>()},
          {"decided_by", opt_text(r[10])},
          {"decided_at", opt_text(r[11])},
          {"decision_note", opt_text(r[12])},
          {"finished_at", opt_text(r[13])},
          {"summary", json::parse(r[14].as<std::string>())},
          {"created_by", r[15].as<std::string>()}};
}

json load_plan(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params("SELECT " + kPlanColumns + kPlanFrom + "WHERE p.id = $1", id);
  if (rows.empty())
    throw ApiError::not_found("migration plan " + std::to_string(id) + " not found");
  json plan = plan_json(rows[0]);
  json migrations = json::array();
  for (const auto& r : tx.exec_params("SELECT " + migration_columns() + migration_from() +
                                          "WHERE m.plan_id = $1 ORDER BY m.deployment_id, "
                                          "m.replica, m.id",
                                      id)) {
    migrations.push_back(migration_json(r, true));
  }
  plan["migrations"] = std::move(migrations);
  return plan;
}

const json& plan_schema() {
  static const json schema = {
      {"type", "object"},
      {"properties",
       {{"id", {{"type", "integer"}}},
        {"node_id", {{"type", "integer"}}},
        {"node_name", {{"type", "string"}}},
        {"organization_id", {{"type", "integer"}}},
        {"organization", {{"type", "string"}}},
        {"trigger", {{"type", "string"}, {"enum", {"offline", "draining"}}}},
        {"policy", {{"type", "string"}, {"enum", {"automatic", "manual", "none"}}}},
        {"state", {{"type", "string"}, {"enum", kPlanStates}}},
        {"reason", {{"type", "string"}}},
        {"created_at", {{"type", "string"}, {"format", "date-time"}}},
        {"decided_by", {{"type", "string"}, {"nullable", true}}},
        {"decided_at", {{"type", "string"}, {"nullable", true}}},
        {"decision_note", {{"type", "string"}, {"nullable", true}}},
        {"finished_at", {{"type", "string"}, {"nullable", true}}},
        {"summary", {{"type", "object"}, {"description", "{moves, done, failed, pending}"}}},
        {"created_by", {{"type", "string"}, {"description", "the planner instance"}}}}}};
  return schema;
}

const json& plan_detail_schema() {
  static const json schema = [] {
    json s = plan_schema();
    s["properties"]["migrations"] = {{"type", "array"}, {"items", migration_schema()}};
    return s;
  }();
  return schema;
}

const json kNoteBody = {{"type", "object"},
                        {"properties", {{"note", {{"type", "string"}, {"maxLength", 1000}}}}}};

// The optional {note} of an approval or rejection (an empty body is no note).
std::optional<std::string> decision_note(const Call& call) {
  if (call.request().body.empty()) return std::nullopt;
  JsonBody body = call.body();
  body.only({"note"});
  return body.opt_string("note", 1000, true);
}

// The plan's state, its row locked; 404 when there is no such plan.
std::string lock_plan(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params("SELECT state FROM migration_plans WHERE id = $1 FOR UPDATE", id);
  if (rows.empty())
    throw ApiError::not_found("migration plan " + std::to_string(id) + " not found");
  return rows[0][0].as<std::string>();
}

void require_awaiting(const std::string& state, std::int64_t id) {
  if (state != "awaiting_approval") {
    throw ApiError::conflict(
        "migration plan " + std::to_string(id) + " is " + state + ", not awaiting_approval",
        "state");
  }
}

// Approve and reject: the decision, who made it and the note, in one transaction with the
// plan's migrations when rejected.
Handler decide(bool approve) {
  return [approve](Call& call) {
    const std::int64_t id = call.id();
    const auto note = decision_note(call);
    call.audit_target("migration-plan:" + std::to_string(id));
    if (note) call.audit_detail("note", *note);
    json out;
    call.db().transact([&](pqxx::transaction_base& tx) {
      require_awaiting(lock_plan(tx, id), id);
      const std::string who = call.who().name;
      if (approve) {
        tx.exec_params(
            "UPDATE migration_plans SET state = 'executing', decided_by = $2, decided_at = now(), "
            "decision_note = $3 WHERE id = $1",
            id, who, note);
      } else {
        tx.exec_params(
            "UPDATE migration_plans SET state = 'rejected', decided_by = $2, decided_at = now(), "
            "decision_note = $3, finished_at = now() WHERE id = $1",
            id, who, note);
        const std::string detail =
            "rejected by " + who + (note && !note->empty() ? ": " + *note : "");
        tx.exec_params(
            "UPDATE migrations SET state = 'rejected', finished_at = now(), "
            "steps = steps || jsonb_build_array(jsonb_build_object('at', " +
                iso_sql("now()") +
                ", 'step', 'rejected', 'detail', $2::text)) "
                "WHERE plan_id = $1 AND state = 'awaiting_approval'",
            id, detail);
      }
      out = load_plan(tx, id);
    });
    return Reply{.body = out};
  };
}

void add_plan_routes(Router& router) {
  router.add(
      {.method = "GET",
       .path = "/api/migration-plans",
       .tag = "deployments",
       .summary = "Migration plans, newest first, in pages (offset)",
       .response_schema = offset_page_schema(plan_schema()),
       .query_parameters = {query_param("state", "string",
                                        "awaiting_approval, executing, done, failed, rejected, "
                                        "recorded or cancelled"),
                            query_param("node_id", "integer", "only this node's plans"),
                            query_param("organization_id", "integer", "only this organisation's"),
                            query_param("limit", "integer", "page size, 1..1000 (default 100)"),
                            query_param("offset", "integer", "items to skip (default 0)")},
       .handler = [](Call& call) {
         const auto state = state_query(call, kPlanStates);
         const auto node = call.query_opt_int("node_id", 1, INT64_MAX);
         const auto organization = call.query_opt_int("organization_id", 1, INT64_MAX);
         const PageWindow page = page_window(call);
         const std::string where =
             "WHERE ($1::text IS NULL OR p.state = $1) AND ($2::bigint IS NULL OR p.node_id = $2) "
             "AND ($3::bigint IS NULL OR p.organization_id = $3) ";
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const auto total =
               tx.exec_params1("SELECT count(*)" + kPlanFrom + where, state, node, organization)[0]
                   .as<std::int64_t>();
           json items = json::array();
           for (const auto& r :
                tx.exec_params("SELECT " + kPlanColumns + kPlanFrom + where +
                                   "ORDER BY p.id DESC LIMIT $4 OFFSET $5",
                               state, node, organization, page.limit, page.offset)) {
             items.push_back(plan_json(r));
           }
           out = {{"items", std::move(items)},
                  {"total", total},
                  {"limit", page.limit},
                  {"offset", page.offset}};
         });
         return Reply{.body = out};
       }});

  router.add({.method = "GET",
              .path = "/api/migration-plans/{id}",
              .tag = "deployments",
              .summary = "One migration plan with its migrations and their steps",
              .response_schema = plan_detail_schema(),
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = load_plan(tx, call.id()); });
                return Reply{.body = out};
              }});

  router.add({.method = "POST",
              .path = "/api/migration-plans/{id}/approve",
              .tag = "deployments",
              .summary = "Approve a plan awaiting approval: state executing (migration-planner "
                         "carries its migrations out). Optional body {note}. 409 in any other "
                         "state.",
              .role = Role::kOperator,
              .request_schema = kNoteBody,
              .response_schema = plan_detail_schema(),
              .handler = decide(true)});

  router.add({.method = "POST",
              .path = "/api/migration-plans/{id}/reject",
              .tag = "deployments",
              .summary = "Reject a plan awaiting approval: the plan and its migrations rejected, "
                         "nothing moves. Optional body {note}. 409 in any other state.",
              .role = Role::kOperator,
              .request_schema = kNoteBody,
              .response_schema = plan_detail_schema(),
              .handler = decide(false)});
}

void add_migration_list_routes(Router& router) {
  router.add(
      {.method = "GET",
       .path = "/api/migrations",
       .tag = "deployments",
       .summary = "Migrations (one replica's move each), newest first, in pages (offset)",
       .response_schema = offset_page_schema(migration_schema()),
       .query_parameters = {query_param("deployment_id", "integer", "only this deployment's"),
                            query_param("node_id", "integer", "moves from or to this node"),
                            query_param("plan_id", "integer", "only this plan's"),
                            query_param("state", "string",
                                        "awaiting_approval, recorded, pending, starting, "
                                        "switching, cleanup, done, failed, rejected or cancelled"),
                            query_param("limit", "integer", "page size, 1..1000 (default 100)"),
                            query_param("offset", "integer", "items to skip (default 0)")},
       .handler = [](Call& call) {
         const auto deployment = call.query_opt_int("deployment_id", 1, INT64_MAX);
         const auto node = call.query_opt_int("node_id", 1, INT64_MAX);
         const auto plan = call.query_opt_int("plan_id", 1, INT64_MAX);
         const auto state = state_query(call, kMigrationStates);
         const PageWindow page = page_window(call);
         const std::string where =
             "WHERE ($1::bigint IS NULL OR m.deployment_id = $1) "
             "AND ($2::bigint IS NULL OR m.from_node_id = $2 OR m.to_node_id = $2) "
             "AND ($3::bigint IS NULL OR m.plan_id = $3) AND ($4::text IS NULL OR m.state = $4) ";
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const auto total = tx.exec_params1("SELECT count(*)" + migration_from() + where,
                                              deployment, node, plan, state)[0]
                                  .as<std::int64_t>();
           json items = json::array();
           for (const auto& r :
                tx.exec_params("SELECT " + migration_columns() + migration_from() + where +
                                   "ORDER BY m.id DESC LIMIT $5 OFFSET $6",
                               deployment, node, plan, state, page.limit, page.offset)) {
             items.push_back(migration_json(r, false));
           }
           out = {{"items", std::move(items)},
                  {"total", total},
                  {"limit", page.limit},
                  {"offset", page.offset}};
         });
         return Reply{.body = out};
       }});

  router.add({.method = "GET",
              .path = "/api/migrations/{id}",
              .tag = "deployments",
              .summary = "One migration with its steps [{at, step, detail}]",
              .response_schema = migration_schema(),
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  auto rows = tx.exec_params(
                      "SELECT " + migration_columns() + migration_from() + "WHERE m.id = $1", id);
                  if (rows.empty())
                    throw ApiError::not_found("migration " + std::to_string(id) + " not found");
                  out = migration_json(rows[0], true);
                });
                return Reply{.body = out};
              }});
}

}  // namespace

const std::string& migration_columns() {
  static const std::string columns =
      "m.id, m.plan_id, m.deployment_id, d.name || '.' || o.name, m.replica, m.from_node_id, "
      "wf.name, m.to_node_id, wt.name, m.state, m.reason, m.attempts, " +
      iso_sql("m.created_at") + ", " + iso_sql("m.updated_at") + ", " + iso_sql("m.finished_at") +
      ", m.steps::text, m.from_placement_id, m.to_placement_id";
  return columns;
}

const std::string& migration_from() {
  static const std::string from =
      " FROM migrations m JOIN deployments d ON d.id = m.deployment_id "
      "JOIN organizations o ON o.id = d.organization_id "
      "LEFT JOIN workers wf ON wf.id = m.from_node_id LEFT JOIN workers wt ON wt.id = "
      "m.to_node_id ";
  return from;
}

json migration_json(const pqxx::row& r, bool with_steps) {
  json out = {{"id", r[0].as<std::int64_t>()},
              {"plan_id", r[1].as<std::int64_t>()},
              {"deployment_id", r[2].as<std::int64_t>()},
              {"service", r[3].as<std::string>()},
              {"replica", r[4].as<std::int64_t>()},
              {"from_node_id", opt_int(r[5])},
              {"from_node_name", opt_text(r[6])},
              {"to_node_id", opt_int(r[7])},
              {"to_node_name", opt_text(r[8])},
              {"state", r[9].as<std::string>()},
              {"reason", r[10].as<std::string>()},
              {"attempts", r[11].as<std::int64_t>()},
              {"created_at", r[12].as<std::string>()},
              {"updated_at", r[13].as<std::string>()},
              {"finished_at", opt_text(r[14])},
              {"from_placement_id", opt_int(r[16])},
              {"to_placement_id", opt_int(r[17])}};
  if (with_steps) out["steps"] = json::parse(r[15].as<std::string>());
  return out;
}

const json& migration_schema() {
  static const json schema = {{"type", "object"},
                              {"properties",
                               {{"id", {{"type", "integer"}}},
                                {"plan_id", {{"type", "integer"}}},
                                {"deployment_id", {{"type", "integer"}}},
                                {"service", {{"type", "string"}}},
                                {"replica", {{"type", "integer"}}},
                                {"from_node_id", {{"type", "integer"}, {"nullable", true}}},
                                {"from_node_name", {{"type", "string"}, {"nullable", true}}},
                                {"to_node_id", {{"type", "integer"}, {"nullable", true}}},
                                {"to_node_name", {{"type", "string"}, {"nullable", true}}},
                                {"state", {{"type", "string"}, {"enum", kMigrationStates}}},
                                {"reason", {{"type", "string"}}},
                                {"attempts", {{"type", "integer"}}},
                                {"created_at", {{"type", "string"}, {"format", "date-time"}}},
                                {"updated_at", {{"type", "string"}, {"format", "date-time"}}},
                                {"finished_at", {{"type", "string"}, {"nullable", true}}},
                                {"from_placement_id", {{"type", "integer"}, {"nullable", true}}},
                                {"to_placement_id", {{"type", "integer"}, {"nullable", true}}},
                                {"steps",
                                 {{"type", "array"},
                                  {"description", "[{at, step, detail}] (detail only)"},
                                  {"items", {{"type", "object"}}}}}}}};
  return schema;
}

void add_migration_routes(Router& router) {
  add_plan_routes(router);
  add_migration_list_routes(router);
}

}  // namespace fleet::gateway
