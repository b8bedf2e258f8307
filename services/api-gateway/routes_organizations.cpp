// Organisations (issue 14): who owns deployments, with the migration policy that decides what
// happens to them when a node fails (automatic, manual approval, none), and their members (the
// users told about their deployments' migrations). Everyone reads; admins manage them.
#include <pqxx/pqxx>

#include "routes.h"
#include "routes_deployments.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

const std::string kOrgColumns =
    "o.id, o.name, o.display_name, o.migration_policy, "
    "(SELECT count(*) FROM deployments d WHERE d.organization_id = o.id AND d.state <> 'deleted'), "
    "(SELECT coalesce(json_agg(json_build_object('user_id', m.user_id, 'username', u.username, "
    "   'role', m.role) ORDER BY u.username), '[]'::json) "
    " FROM organization_members m JOIN users u ON u.id = m.user_id "
    " WHERE m.organization_id = o.id)::text, " +
    iso_sql("o.created_at") + ", " + iso_sql("o.updated_at");

json org_json(const pqxx::row& r) {
  return {
      {"id", r[0].as<std::int64_t>()},          {"name", r[1].as<std::string>()},
      {"display_name", r[2].as<std::string>()}, {"migration_policy", r[3].as<std::string>()},
      {"deployments", r[4].as<std::int64_t>()}, {"members", json::parse(r[5].as<std::string>())},
      {"created_at", r[6].as<std::string>()},   {"updated_at", r[7].as<std::string>()}};
}

json load_org(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params("SELECT " + kOrgColumns + " FROM organizations o WHERE o.id = $1", id);
  if (rows.empty()) throw ApiError::not_found("organization " + std::to_string(id) + " not found");
  return org_json(rows[0]);
}

// Locks the organisation's row; 404 when there is none.
void lock_org(pqxx::transaction_base& tx, std::int64_t id) {
  if (tx.exec_params("SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE", id).empty())
    throw ApiError::not_found("organization " + std::to_string(id) + " not found");
}

const json kMember = {{"type", "object"},
                      {"properties",
                       {{"user_id", {{"type", "integer"}}},
                        {"username", {{"type", "string"}}},
                        {"role", {{"type", "string"}, {"enum", {"owner", "member"}}}}}}};

const json kPolicy = {{"type", "string"},
                      {"enum", {"automatic", "manual", "none"}},
                      {"description",
                       "what happens to its deployments on a failed node: moved (automatic), a "
                       "plan awaiting approval (manual), or recorded only (none)"}};

const json kOrganization = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"name", {{"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9-]{0,62}$"}}},
      {"display_name", {{"type", "string"}}},
      {"migration_policy", kPolicy},
      {"deployments", {{"type", "integer"}, {"description", "not deleted"}}},
      {"members", {{"type", "array"}, {"items", kMember}}},
      {"created_at", {{"type", "string"}, {"format", "date-time"}}},
      {"updated_at", {{"type", "string"}, {"format", "date-time"}}}}}};

const json kOrganizationBody = {{"type", "object"},
                                {"properties",
                                 {{"name", {{"type", "string"}}},
                                  {"display_name", {{"type", "string"}, {"maxLength", 200}}},
                                  {"migration_policy", kPolicy}}}};

std::optional<std::string> opt_policy(const JsonBody& body) {
  auto policy = body.opt_string("migration_policy", 20);
  if (policy && *policy != "automatic" && *policy != "manual" && *policy != "none") {
    throw ApiError::bad_request("'migration_policy' must be automatic, manual or none",
                                "migration_policy");
  }
  return policy;
}

void add_org_routes(Router& router) {
  router.add({.method = "GET",
              .path = "/api/organizations",
              .tag = "deployments",
              .summary = "Organisations with their migration policy, deployment count and "
                         "members, by name, in pages (offset)",
              .response_schema = offset_page_schema(kOrganization),
              .query_parameters = {query_param("q", "string", "name or display name contains"),
                                   query_param("limit", "integer", "1..1000 (default 100)"),
                                   query_param("offset", "integer", "items to skip (default 0)")},
              .handler = [](Call& call) {
                auto q = call.query("q", 200);
                std::optional<std::string> pattern;
                if (q && !q->empty()) pattern = contains_pattern(*q);
                const PageWindow page = page_window(call);
                const std::string where =
                    " FROM organizations o WHERE ($1::text IS NULL OR o.name ILIKE $1 OR "
                    "o.display_name ILIKE $1) ";
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  const auto total =
                      tx.exec_params1("SELECT count(*)" + where, pattern)[0].as<std::int64_t>();
                  json items = json::array();
                  for (const auto& r : tx.exec_params(
                           "SELECT " + kOrgColumns + where + "ORDER BY o.name LIMIT $2 OFFSET $3",
                           pattern, page.limit, page.offset)) {
                    items.push_back(org_json(r));
                  }
                  out = {{"items", std::move(items)},
                         {"total", total},
                         {"limit", page.limit},
                         {"offset", page.offset}};
                });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/organizations",
       .tag = "deployments",
       .summary = "Create an organisation {name, display_name?, migration_policy? "
                  "(default automatic)}. 409 when the name is taken.",
       .role = Role::kAdmin,
       .request_schema =
           [] {
             json s = kOrganizationBody;
             s["required"] = {"name"};
             return s;
           }(),
       .response_schema = kOrganization,
       .success_status = 201,
       .handler =
           [](Call& call) {
             JsonBody body = call.body();
             body.only({"name", "display_name", "migration_policy"});
             const std::string name = body.string("name", 63);
             if (!is_slug(name, "-")) {
               throw ApiError::bad_request(
                   "'name' must be 1..63 lower-case letters, digits and '-', starting with a "
                   "letter or digit",
                   "name");
             }
             const auto display = body.opt_string("display_name", 200, true).value_or("");
             const auto policy = opt_policy(body).value_or("automatic");
             call.audit_target("organization:" + name);
             call.audit_detail("migration_policy", policy);
             json out;
             call.db().transact([&](pqxx::transaction_base& tx) {
               if (!tx.exec_params("SELECT 1 FROM organizations WHERE name = $1", name).empty())
                 throw ApiError::conflict("organization '" + name + "' exists already", "name");
               const auto id = tx.exec_params1(
                                     "INSERT INTO organizations (name, display_name, "
                                     "migration_policy) VALUES ($1, $2, $3) RETURNING id",
                                     name, display, policy)[0]
                                   .as<std::int64_t>();
               out = load_org(tx, id);
             });
             return Reply{.status = 201, .body = out};
           }});

  router.add({.method = "GET",
              .path = "/api/organizations/{id}",
              .tag = "deployments",
              .summary = "One organisation",
              .response_schema = kOrganization,
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = load_org(tx, call.id()); });
                return Reply{.body = out};
              }});

  router.add({.method = "PATCH",
              .path = "/api/organizations/{id}",
              .tag = "deployments",
              .summary = "Change an organisation's display name or migration policy (the "
                         "planner is woken; plans already open keep the policy they were made "
                         "under)",
              .role = Role::kAdmin,
              .request_schema = {{"type", "object"},
                                 {"properties",
                                  {{"display_name", {{"type", "string"}, {"maxLength", 200}}},
                                   {"migration_policy", kPolicy}}}},
              .response_schema = kOrganization,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                JsonBody body = call.body();
                body.only({"display_name", "migration_policy"});
                const auto display = body.opt_string("display_name", 200, true);
                const auto policy = opt_policy(body);
                if (!display && !policy) {
                  throw ApiError::bad_request(
                      "nothing to change: send display_name or migration_policy",
                      "migration_policy");
                }
                call.audit_target("organization:" + std::to_string(id));
                if (display) call.audit_detail("display_name", *display);
                if (policy) call.audit_detail("migration_policy", *policy);
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  lock_org(tx, id);
                  if (display) {
                    tx.exec_params("UPDATE organizations SET display_name = $2 WHERE id = $1", id,
                                   *display);
                  }
                  if (policy) {
                    tx.exec_params(
                        "UPDATE organizations SET migration_policy = $2 WHERE id = $1 AND "
                        "migration_policy <> $2",
                        id, *policy);
                  }
                  out = load_org(tx, id);
                });
                return Reply{.body = out};
              }});

  router.add({.method = "DELETE",
              .path = "/api/organizations/{id}",
              .tag = "deployments",
              .summary = "Delete an organisation, its members and the history of its deleted "
                         "deployments. 409 while it has deployments that are not deleted.",
              .role = Role::kAdmin,
              .success_status = 204,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                call.audit_target("organization:" + std::to_string(id));
                call.db().transact([&](pqxx::transaction_base& tx) {
                  lock_org(tx, id);
                  const auto left = tx.exec_params1(
                                          "SELECT count(*) FROM deployments WHERE "
                                          "organization_id = $1 AND state <> 'deleted'",
                                          id)[0]
                                        .as<std::int64_t>();
                  if (left > 0) {
                    throw ApiError::conflict("organization " + std::to_string(id) + " still has " +
                                                 std::to_string(left) +
                                                 " deployment(s): delete them first",
                                             "deployments");
                  }
                  // Deleted deployments keep their organisation (ON DELETE RESTRICT): their rows
                  // and history (placements, migrations, routes cascade) go with it.
                  tx.exec_params("DELETE FROM deployments WHERE organization_id = $1", id);
                  tx.exec_params("DELETE FROM organizations WHERE id = $1", id);
                });
                return Reply{.status = 204};
              }});
}

void add_member_routes(Router& router) {
  router.add({.method = "PUT",
              .path = "/api/organizations/{id}/members/{user_id}",
              .tag = "deployments",
              .summary =
                  "Add a user to an organisation or change their role {role: owner (default) | "
                  "member}; owners are told about their deployments' migrations",
              .role = Role::kAdmin,
              .request_schema = {{"type", "object"},
                                 {"properties",
                                  {{"role", {{"type", "string"}, {"enum", {"owner", "member"}}}}}}},
              .response_schema = kOrganization,
              .handler = [](Call& call) {
                const std::int64_t id = call.id(0);
                const std::int64_t user = call.id(1);
                std::string role = "owner";
                if (!call.request().body.empty()) {
                  JsonBody body = call.body();
                  body.only({"role"});
                  role = body.opt_string("role", 20).value_or("owner");
                  if (role != "owner" && role != "member")
                    throw ApiError::bad_request("'role' must be owner or member", "role");
                }
                call.audit_target("organization:" + std::to_string(id));
                call.audit_detail("user_id", user);
                call.audit_detail("role", role);
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  lock_org(tx, id);
                  if (tx.exec_params("SELECT 1 FROM users WHERE id = $1", user).empty())
                    throw ApiError::not_found("user " + std::to_string(user) + " not found");
                  tx.exec_params(
                      "INSERT INTO organization_members (organization_id, user_id, role) "
                      "VALUES ($1, $2, $3) ON CONFLICT (organization_id, user_id) "
                      "DO UPDATE SET role = EXCLUDED.role",
                      id, user, role);
                  out = load_org(tx, id);
                });
                return Reply{.body = out};
              }});

  router.add({.method = "DELETE",
              .path = "/api/organizations/{id}/members/{user_id}",
              .tag = "deployments",
              .summary = "Remove a user from an organisation (404 when not a member)",
              .role = Role::kAdmin,
              .response_schema = kOrganization,
              .handler = [](Call& call) {
                const std::int64_t id = call.id(0);
                const std::int64_t user = call.id(1);
                call.audit_target("organization:" + std::to_string(id));
                call.audit_detail("user_id", user);
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  lock_org(tx, id);
                  if (tx.exec_params("DELETE FROM organization_members WHERE organization_id = "
                                     "$1 AND user_id = $2",
                                     id, user)
                          .affected_rows() == 0) {
                    throw ApiError::not_found("user " + std::to_string(user) +
                                              " is not a member of organization " +
                                              std::to_string(id));
                  }
                  out = load_org(tx, id);
                });
                return Reply{.body = out};
              }});
}

}  // namespace

void add_organization_routes(Router& router) {
  add_org_routes(router);
  add_member_routes(router);
}

}  // namespace fleet::gateway
