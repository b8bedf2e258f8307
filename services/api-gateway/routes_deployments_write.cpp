// Deployments, the changing side (issue 14): create (the planner places it within a cycle: the
// table's trigger sends NOTIFY fleet_planner), change replicas, labels, pool, anti-affinity and
// disruption budget, and delete (state deleting: the planner stops and removes every container).
// Operators only. Image, command, env, ports and resources never change: that is a new
// deployment.
#include <set>

#include <pqxx/pqxx>

#include "routes.h"
#include "routes_deployments.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

constexpr std::size_t kMaxEnv = 100;
constexpr std::size_t kMaxCommand = 64;
constexpr std::size_t kMaxPorts = 20;
constexpr std::size_t kMaxLabels = 50;

[[noreturn]] void bad(const std::string& field, const std::string& message) {
  throw ApiError::bad_request("'" + field + "' " + message, field);
}

// Image references: registry/name:tag@digest characters only, so the agent's Docker call gets
// nothing it could read as an option or a path escape.
void check_image(const std::string& image) {
  for (char c : image) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '/' || c == ':' || c == '@' || c == '-';
    if (!ok) bad("image", "may hold only letters, digits and . _ / : @ -");
  }
  if (image.front() == '-' || image.front() == '/' || image.front() == '.')
    bad("image", "must start with a letter or digit");
}

json command_of(const json& value) {
  if (value.size() > kMaxCommand)
    bad("command", "has more than " + std::to_string(kMaxCommand) + " arguments");
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string field = "command[" + std::to_string(i) + "]";
    if (!value[i].is_string()) bad(field, "must be a string");
    if (value[i].get_ref<const std::string&>().size() > 4096)
      bad(field, "is longer than 4096 bytes");
  }
  return value;
}

bool env_name(const std::string& key) {
  if (key.empty() || key.size() > 128) return false;
  if (key.front() >= '0' && key.front() <= '9') return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  }
  return true;
}

json env_of(const json& value) {
  if (value.size() > kMaxEnv) bad("env", "has more than " + std::to_string(kMaxEnv) + " variables");
  for (const auto& [key, v] : value.items()) {
    if (!env_name(key))
      bad("env", "names must be letters, digits and _, not starting with a digit (1..128)");
    const std::string field = "env." + key;
    if (!v.is_string()) bad(field, "must be a string");
    if (v.get_ref<const std::string&>().size() > 4096) bad(field, "is longer than 4096 bytes");
  }
  return value;
}

json ports_of(const json& value) {
  if (value.size() > kMaxPorts)
    bad("ports", "has more than " + std::to_string(kMaxPorts) + " ports");
  json out = json::array();
  std::set<std::pair<std::int64_t, std::string>> seen;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string prefix = "ports[" + std::to_string(i) + "]";
    if (!value[i].is_object()) bad(prefix, "must be an object {container_port, protocol?}");
    JsonBody port(value[i], prefix + ".");
    port.only({"container_port", "protocol"});
    const auto number = port.integer("container_port", 1, 65535);
    const auto protocol = port.opt_string("protocol", 3).value_or("tcp");
    if (protocol != "tcp" && protocol != "udp") bad(prefix + ".protocol", "must be tcp or udp");
    if (!seen.emplace(number, protocol).second) bad(prefix + ".container_port", "is listed twice");
    out.push_back({{"container_port", number}, {"protocol", protocol}});
  }
  return out;
}

bool label_key(const std::string& key) {
  if (key.empty() || key.size() > 63) return false;
  const char first = key.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') ||
        (first >= '0' && first <= '9')))
    return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-' || c == '/'))
      return false;
  }
  return true;
}

json labels_of(const json& value) {
  if (value.size() > kMaxLabels)
    bad("labels", "has more than " + std::to_string(kMaxLabels) + " labels");
  for (const auto& [key, v] : value.items()) {
    if (!label_key(key))
      bad("labels",
          "keys must be 1..63 letters, digits and . _ - /, starting with a letter or digit");
    // The agent sets fleetward.* itself (managed, deployment, placement).
    if (key.rfind("fleetward.", 0) == 0) bad("labels." + key, "is reserved (fleetward.*)");
    if (!v.is_string()) bad("labels." + key, "must be a string");
    if (v.get_ref<const std::string&>().size() > 200)
      bad("labels." + key, "is longer than 200 bytes");
  }
  return value;
}

std::optional<std::string> opt_slug(const JsonBody& body, const char* field, bool allow_empty) {
  auto v = body.opt_string(field, 63, allow_empty);
  if (v && !(allow_empty && v->empty()) && !is_slug(*v, "_.-")) {
    bad(field,
        "must be 1..63 lower-case letters, digits and _ . -, starting with a letter or digit");
  }
  return v;
}

struct NewDeployment {
  std::int64_t organization_id = 0;
  std::string name, image;
  json command = json::array(), env = json::object(), ports = json::array(),
       labels = json::object();
  double cpu_cores = 0.1;
  std::int64_t memory_mb = 64;
  double disk_gb = 0;
  std::int64_t replicas = 1;
  std::string pool = "default";
  std::optional<std::string> anti_affinity_key;
  std::int64_t max_unavailable = 1;
};

NewDeployment parse_new(const JsonBody& body) {
  body.only({"organization_id", "name", "image", "command", "env", "ports", "resources", "replicas",
             "labels", "pool", "anti_affinity_key", "max_unavailable"});
  NewDeployment d;
  d.organization_id = body.integer("organization_id", 1, INT64_MAX);
  d.name = body.string("name", 63);
  if (!is_slug(d.name, "-")) {
    bad("name",
        "must be 1..63 lower-case letters, digits and '-', starting with a letter or digit");
  }
  d.image = body.string("image", 500);
  check_image(d.image);
  if (auto c = body.opt_array("command")) d.command = command_of(*c);
  if (auto e = body.opt_object("env")) d.env = env_of(*e);
  if (auto p = body.opt_array("ports")) d.ports = ports_of(*p);
  if (auto r = body.opt_object("resources")) {
    JsonBody res(*r, "resources.");
    res.only({"cpu_cores", "memory_mb", "disk_gb"});
    d.cpu_cores = res.opt_number("cpu_cores", 0.001, 1024).value_or(d.cpu_cores);
    d.memory_mb = res.opt_integer("memory_mb", 1, 1'000'000'000).value_or(d.memory_mb);
    d.disk_gb = res.opt_number("disk_gb", 0, 1'000'000).value_or(d.disk_gb);
  }
  d.replicas = body.opt_integer("replicas", 0, 1000).value_or(1);
  if (auto l = body.opt_object("labels")) d.labels = labels_of(*l);
  d.pool = opt_slug(body, "pool", false).value_or("default");
  d.anti_affinity_key = opt_slug(body, "anti_affinity_key", false);
  d.max_unavailable = body.opt_integer("max_unavailable", 1, 1000).value_or(1);
  return d;
}

// The deployment's state, its row locked; 404 when there is none.
std::string lock_deployment(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params("SELECT state FROM deployments WHERE id = $1 FOR UPDATE", id);
  if (rows.empty()) throw ApiError::not_found("deployment " + std::to_string(id) + " not found");
  return rows[0][0].as<std::string>();
}

const json kCreateBody = {
    {"type", "object"},
    {"required", {"organization_id", "name", "image"}},
    {"properties",
     {{"organization_id", {{"type", "integer"}}},
      {"name", {{"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9-]{0,62}$"}}},
      {"image", {{"type", "string"}, {"pattern", "^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,499}$"}}},
      {"command", {{"type", "array"}, {"maxItems", kMaxCommand}, {"items", {{"type", "string"}}}}},
      {"env", {{"type", "object"}, {"maxProperties", kMaxEnv}}},
      {"ports",
       {{"type", "array"},
        {"maxItems", kMaxPorts},
        {"items",
         {{"type", "object"},
          {"properties",
           {{"container_port", {{"type", "integer"}, {"minimum", 1}, {"maximum", 65535}}},
            {"protocol", {{"type", "string"}, {"enum", {"tcp", "udp"}}}}}}}}}},
      {"resources",
       {{"type", "object"},
        {"properties",
         {{"cpu_cores", {{"type", "number"}, {"default", 0.1}}},
          {"memory_mb", {{"type", "integer"}, {"default", 64}}},
          {"disk_gb", {{"type", "number"}, {"default", 0}}}}}}},
      {"replicas", {{"type", "integer"}, {"minimum", 0}, {"maximum", 1000}, {"default", 1}}},
      {"labels", {{"type", "object"}, {"maxProperties", kMaxLabels}}},
      {"pool", {{"type", "string"}, {"default", "default"}}},
      {"anti_affinity_key", {{"type", "string"}}},
      {"max_unavailable", {{"type", "integer"}, {"minimum", 1}, {"default", 1}}}}}};

const json kChangeBody = {
    {"type", "object"},
    {"properties",
     {{"replicas", {{"type", "integer"}, {"minimum", 0}, {"maximum", 1000}}},
      {"labels", {{"type", "object"}, {"description", "replaces the labels"}}},
      {"max_unavailable", {{"type", "integer"}, {"minimum", 1}, {"maximum", 1000}}},
      {"anti_affinity_key", {{"type", "string"}, {"description", "\"\" clears it"}}},
      {"pool", {{"type", "string"}}}}}};

void add_create_route(Router& router) {
  router.add(
      {.method = "POST",
       .path = "/api/deployments",
       .tag = "deployments",
       .summary = "Create a deployment (state active); migration-planner places its replicas "
                  "within a cycle. 409 when the organisation has a deployment of that name.",
       .role = Role::kOperator,
       .request_schema = kCreateBody,
       .response_schema = deployment_detail_schema(),
       .success_status = 201,
       .handler = [](Call& call) {
         const NewDeployment d = parse_new(call.body());
         call.audit_target("deployment:" + d.name);
         call.audit_detail("organization_id", d.organization_id);
         call.audit_detail("image", d.image);
         call.audit_detail("replicas", d.replicas);
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (tx.exec_params("SELECT 1 FROM organizations WHERE id = $1 FOR SHARE",
                              d.organization_id)
                   .empty()) {
             throw ApiError::bad_request("no organization " + std::to_string(d.organization_id),
                                         "organization_id");
           }
           if (!tx.exec_params("SELECT 1 FROM deployments WHERE organization_id = $1 AND "
                               "name = $2 AND state <> 'deleted'",
                               d.organization_id, d.name)
                    .empty()) {
             throw ApiError::conflict("the organization has a deployment '" + d.name + "' already",
                                      "name");
           }
           // command: a JSON array of strings turned into text[] by the database.
           const auto id =
               tx.exec_params1(
                     "INSERT INTO deployments (organization_id, name, image, command, env, ports, "
                     "cpu_cores, memory_mb, disk_gb, replicas, labels, pool, anti_affinity_key, "
                     "max_unavailable, created_by) VALUES ($1, $2, $3, "
                     "ARRAY(SELECT jsonb_array_elements_text($4::jsonb)), $5::jsonb, $6::jsonb, "
                     "$7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15) RETURNING id",
                     d.organization_id, d.name, d.image, dump(d.command), dump(d.env),
                     dump(d.ports), d.cpu_cores, d.memory_mb, d.disk_gb, d.replicas, dump(d.labels),
                     d.pool, d.anti_affinity_key, d.max_unavailable, call.who().name)[0]
                   .as<std::int64_t>();
           call.audit_target("deployment:" + std::to_string(id));
           out = load_deployment(tx, id);
         });
         return Reply{.status = 201, .body = out};
       }});
}

void add_change_routes(Router& router) {
  router.add(
      {.method = "PATCH",
       .path = "/api/deployments/{id}",
       .tag = "deployments",
       .summary = "Change a deployment's replicas, labels, max_unavailable, anti_affinity_key "
                  "or pool (the planner scales and re-places). Image, command, env, ports and "
                  "resources make a new deployment (400). 409 unless active.",
       .role = Role::kOperator,
       .request_schema = kChangeBody,
       .response_schema = deployment_detail_schema(),
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         JsonBody body = call.body();
         for (const char* fixed :
              {"image", "command", "env", "ports", "resources", "name", "organization_id"}) {
           if (body.raw().contains(fixed)) {
             bad(fixed, "cannot change: create a new deployment (and delete this one) instead");
           }
         }
         body.only({"replicas", "labels", "max_unavailable", "anti_affinity_key", "pool"});
         const auto replicas = body.opt_integer("replicas", 0, 1000);
         std::optional<json> labels;
         if (auto l = body.opt_object("labels")) labels = labels_of(*l);
         const auto max_unavailable = body.opt_integer("max_unavailable", 1, 1000);
         const auto anti_affinity = opt_slug(body, "anti_affinity_key", true);
         const auto pool = opt_slug(body, "pool", false);
         if (!replicas && !labels && !max_unavailable && !anti_affinity && !pool) {
           throw ApiError::bad_request(
               "nothing to change: send replicas, labels, max_unavailable, anti_affinity_key or "
               "pool",
               "replicas");
         }
         call.audit_target("deployment:" + std::to_string(id));
         if (replicas) call.audit_detail("replicas", *replicas);
         if (max_unavailable) call.audit_detail("max_unavailable", *max_unavailable);
         if (anti_affinity) call.audit_detail("anti_affinity_key", *anti_affinity);
         if (pool) call.audit_detail("pool", *pool);
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const std::string state = lock_deployment(tx, id);
           if (state != "active") {
             throw ApiError::conflict(
                 "deployment " + std::to_string(id) + " is " + state + ", not active", "state");
           }
           // Unset fields keep their value; anti_affinity_key "" clears it.
           tx.exec_params(
               "UPDATE deployments SET replicas = coalesce($2, replicas), "
               "labels = coalesce($3::jsonb, labels), "
               "max_unavailable = coalesce($4, max_unavailable), "
               "anti_affinity_key = CASE WHEN $5::text IS NULL THEN anti_affinity_key "
               "  ELSE NULLIF($5, '') END, "
               "pool = coalesce($6, pool) WHERE id = $1",
               id, replicas, labels ? std::optional<std::string>(dump(*labels)) : std::nullopt,
               max_unavailable, anti_affinity, pool);
           out = load_deployment(tx, id);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "DELETE",
       .path = "/api/deployments/{id}",
       .tag = "deployments",
       .summary = "Delete a deployment: state deleting (202); migration-planner stops and "
                  "removes every container, then marks it deleted. Deleting again is accepted; "
                  "409 once deleted.",
       .role = Role::kOperator,
       .response_schema = deployment_detail_schema(),
       .success_status = 202,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("deployment:" + std::to_string(id));
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const std::string state = lock_deployment(tx, id);
           if (state == "deleted")
             throw ApiError::conflict("deployment " + std::to_string(id) + " is deleted", "state");
           if (state == "active")
             tx.exec_params("UPDATE deployments SET state = 'deleting' WHERE id = $1", id);
           out = load_deployment(tx, id);
         });
         return Reply{.status = 202, .body = out};
       }});
}

}  // namespace

void add_deployment_write_routes(Router& router) {
  add_create_route(router);
  add_change_routes(router);
}

}  // namespace fleet::gateway
