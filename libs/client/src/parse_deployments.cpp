#include "parse_deployments.h"

namespace fleet::client::parse {
namespace {

using json = nlohmann::json;
using record::Reader;

// A JSON object of string values (env, labels); a value of another type is a ProtocolError.
std::map<std::string, std::string> string_map(const Reader& r, const char* key) {
  std::map<std::string, std::string> out;
  const json* v = r.find(key);
  if (v == nullptr) return out;
  if (!v->is_object()) r.fail(key, "an object");
  for (const auto& [k, value] : v->items()) {
    if (!value.is_string()) r.fail(key, "an object of strings");
    out[k] = value.get<std::string>();
  }
  return out;
}

const json* array_of(const Reader& r, const char* key) {
  const json* v = r.find(key);
  if (v != nullptr && !v->is_array()) r.fail(key, "an array");
  return v;
}

}  // namespace

Organization organization(const json& j) {
  Reader r(j, "organization");
  Organization o;
  o.id = r.i64("id");
  o.name = r.str("name");
  o.display_name = r.opt_str("display_name").value_or("");
  o.migration_policy = r.str("migration_policy");
  o.deployments = r.opt_i64("deployments").value_or(0);
  if (const json* members = array_of(r, "members")) {
    for (const auto& m : *members) {
      Reader mr(m, "member");
      o.members.push_back({mr.i64("user_id"), mr.str("username"), mr.str("role")});
    }
  }
  o.raw = record::dump(j);
  return o;
}

Deployment deployment(const json& j) {
  Reader r(j, "deployment");
  Deployment d;
  d.id = r.i64("id");
  d.organization_id = r.i64("organization_id");
  d.organization = r.str("organization");
  d.name = r.str("name");
  d.service = r.str("service");
  d.image = r.str("image");
  if (const json* command = array_of(r, "command")) {
    for (const auto& arg : *command) {
      if (!arg.is_string()) r.fail("command", "an array of strings");
      d.command.push_back(arg.get<std::string>());
    }
  }
  d.env = string_map(r, "env");
  if (const json* ports = array_of(r, "ports")) {
    for (const auto& p : *ports) {
      Reader pr(p, "port");
      d.ports.push_back(
          {static_cast<int>(pr.i64("container_port")), pr.opt_str("protocol").value_or("tcp")});
    }
  }
  const Reader resources = r.object("resources");
  d.cpu_cores = resources.num("cpu_cores");
  d.memory_mb = resources.i64("memory_mb");
  d.disk_gb = resources.num("disk_gb");
  d.replicas = r.i64("replicas");
  d.labels = string_map(r, "labels");
  d.pool = r.str("pool");
  d.anti_affinity_key = r.opt_str("anti_affinity_key");
  d.max_unavailable = r.i64("max_unavailable");
  d.state = r.str("state");
  d.created_by = r.opt_str("created_by").value_or("");
  d.created_at = r.str("created_at");
  d.updated_at = r.str("updated_at");
  d.replicas_running = r.opt_i64("replicas_running").value_or(0);
  d.replicas_unplaced = r.opt_i64("replicas_unplaced").value_or(0);
  d.raw = record::dump(j);
  return d;
}

Placement placement(const json& j) {
  Reader r(j, "placement");
  return {.id = r.i64("id"),
          .replica = r.i64("replica"),
          .node_id = r.opt_i64("node_id"),
          .node_name = r.opt_str("node_name"),
          .container_name = r.opt_str("container_name"),
          .state = r.str("state"),
          .reason = r.opt_str("reason").value_or(""),
          .running_since = r.opt_str("running_since"),
          .retired_at = r.opt_str("retired_at"),
          .migration_id = r.opt_i64("migration_id")};
}

Route route(const json& j) {
  Reader r(j, "route");
  return {.service = r.str("service"),
          .deployment_id = r.i64("deployment_id"),
          .replica = r.i64("replica"),
          .container_port = r.i64("container_port"),
          .protocol = r.str("protocol"),
          .node_id = r.opt_i64("node_id"),
          .node_name = r.opt_str("node_name"),
          .address = r.str("address"),
          .host_port = r.i64("host_port"),
          .version = r.opt_i64("version").value_or(0),
          .updated_at = r.opt_str("updated_at").value_or("")};
}

Migration migration(const json& j) {
  Reader r(j, "migration");
  Migration m;
  m.id = r.i64("id");
  m.plan_id = r.i64("plan_id");
  m.deployment_id = r.i64("deployment_id");
  m.service = r.str("service");
  m.replica = r.i64("replica");
  m.from_node_id = r.opt_i64("from_node_id");
  m.from_node_name = r.opt_str("from_node_name");
  m.to_node_id = r.opt_i64("to_node_id");
  m.to_node_name = r.opt_str("to_node_name");
  m.state = r.str("state");
  m.reason = r.opt_str("reason").value_or("");
  m.attempts = r.opt_i64("attempts").value_or(0);
  m.created_at = r.str("created_at");
  m.updated_at = r.opt_str("updated_at").value_or("");
  m.finished_at = r.opt_str("finished_at");
  if (const json* steps = array_of(r, "steps")) {
    for (const auto& s : *steps) {
      Reader sr(s, "step");
      m.steps.push_back({sr.opt_str("at").value_or(""), sr.opt_str("step").value_or(""),
                         sr.opt_str("detail").value_or("")});
    }
  }
  m.raw = record::dump(j);
  return m;
}

DeploymentDetail deployment_detail(const json& j) {
  DeploymentDetail d;
  d.deployment = deployment(j);
  const Reader r(j, "deployment");
  if (const json* placements = array_of(r, "placements")) {
    for (const auto& p : *placements)
      d.placements.push_back(placement(p));
  }
  if (const json* routes = array_of(r, "routes")) {
    for (const auto& rt : *routes)
      d.routes.push_back(route(rt));
  }
  if (const json* migrations = array_of(r, "migrations")) {
    for (const auto& m : *migrations)
      d.migrations.push_back(migration(m));
  }
  d.raw = d.deployment.raw;
  return d;
}

MigrationPlan migration_plan(const json& j) {
  Reader r(j, "migration plan");
  MigrationPlan p;
  p.id = r.i64("id");
  p.node_id = r.i64("node_id");
  p.node_name = r.opt_str("node_name").value_or("");
  p.organization_id = r.i64("organization_id");
  p.organization = r.opt_str("organization").value_or("");
  p.trigger = r.str("trigger");
  p.policy = r.str("policy");
  p.state = r.str("state");
  p.reason = r.opt_str("reason").value_or("");
  p.created_at = r.str("created_at");
  p.decided_by = r.opt_str("decided_by");
  p.decided_at = r.opt_str("decided_at");
  p.decision_note = r.opt_str("decision_note");
  p.finished_at = r.opt_str("finished_at");
  if (const json* migrations = array_of(r, "migrations")) {
    for (const auto& m : *migrations)
      p.migrations.push_back(migration(m));
  }
  p.raw = record::dump(j);
  return p;
}

}  // namespace fleet::client::parse
