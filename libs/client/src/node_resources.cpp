// Container host nodes and registration tokens (issue 13).
#include "client/client.h"
#include "record_reader.h"
#include "session.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;
using record::dump;
using record::items_of;
using record::Reader;

Node node_of(const json& j) {
  Reader r(j, "node");
  Node n;
  n.id = r.i64("id");
  n.name = r.str("name");
  n.status = r.str("status");
  n.status_reason = r.opt_str("status_reason");
  n.status_since = r.str("status_since");
  n.site = r.opt_str("site");
  n.pool = r.str("pool");
  n.hostname = r.str("hostname");
  if (const json* a = r.find("addresses"); a != nullptr && a->is_array()) {
    for (const auto& address : *a) {
      if (address.is_string()) n.addresses.push_back(address.get<std::string>());
    }
  }
  const Reader capacity = r.object("capacity");
  n.cpu_cores = capacity.i64("cpu_cores");
  n.memory_mb = capacity.i64("memory_mb");
  n.disk_gb = capacity.num("disk_gb");
  const Reader load = r.object("load");
  n.cpu_percent = load.opt_num("cpu_percent");
  n.memory_percent = load.opt_num("memory_percent");
  n.disk_percent = load.opt_num("disk_percent");
  n.load_average = load.opt_num("average");
  n.containers = r.opt_i64("containers");
  n.containers_running = r.opt_i64("containers_running");
  n.last_heartbeat_at = r.opt_str("last_heartbeat_at");
  n.heartbeat_age_s = r.opt_i64("heartbeat_age_s");
  n.draining = r.boolean("draining");
  n.credential_revoked = r.boolean("credential_revoked");
  n.raw = dump(j);
  return n;
}

RegistrationToken token_of(const json& j) {
  Reader r(j, "registration token");
  RegistrationToken t;
  t.id = r.i64("id");
  t.token_id = r.str("token_id");
  t.description = r.opt_str("description").value_or("");
  t.site = r.opt_str("site");
  t.pool = r.str("pool");
  t.max_uses = r.i64("max_uses");
  t.uses = r.i64("uses");
  t.expires_at = r.str("expires_at");
  t.revoked_at = r.opt_str("revoked_at");
  t.state = r.str("state");
  t.created_by = r.opt_str("created_by").value_or("");
  t.created_at = r.opt_str("created_at").value_or("");
  t.nodes = r.opt_i64("nodes").value_or(0);
  t.token = r.opt_str("token");
  t.install_command = r.opt_str("install_command");
  t.raw = dump(j);
  return t;
}

std::string node_path(std::int64_t id, const char* rest = "") {
  return "/api/nodes/" + std::to_string(id) + rest;
}

json reason_body(const std::string& reason) {
  return reason.empty() ? json::object() : json{{"reason", reason}};
}

}  // namespace

NodePage NodesApi::page(const NodeFilter& f) {
  Query q("/api/nodes");
  q.add("status", f.status).add("site", f.site).add("pool", f.pool).add("q", f.q);
  q.add_limit(f.limit);
  if (f.offset > 0) q.add("offset", std::to_string(f.offset));
  const json j = s_.call("GET", q.str());
  NodePage page;
  for (const auto& item : items_of(j))
    page.items.push_back(node_of(item));
  const Reader r(j, "node page");
  page.total = r.i64("total");
  page.limit = r.i64("limit");
  page.offset = r.i64("offset");
  return page;
}

std::vector<Node> NodesApi::all(NodeFilter filter) {
  std::vector<Node> out;
  if (filter.limit == 0) filter.limit = 1000;
  for (;;) {
    NodePage p = page(filter);
    const auto got = static_cast<std::int64_t>(p.items.size());
    for (auto& n : p.items)
      out.push_back(std::move(n));
    filter.offset += got;
    if (got == 0 || filter.offset >= p.total) break;
  }
  return out;
}

Node NodesApi::get(std::int64_t id) {
  return node_of(s_.call("GET", node_path(id)));
}

std::vector<StatusChange> NodesApi::history(std::int64_t id, int limit) {
  Query q("/api/workers/" + std::to_string(id) + "/status-history");
  q.add_limit(limit);
  std::vector<StatusChange> out;
  const json answer = s_.call("GET", q.str());
  for (const auto& item : items_of(answer)) {
    Reader r(item, "status change");
    out.push_back({r.str("from"), r.str("to"), r.str("reason"), r.str("at"),
                   r.opt_str("changed_by").value_or("")});
  }
  return out;
}

NodeStats NodesApi::stats() {
  const json j = s_.call("GET", "/api/nodes/stats");
  const Reader r(j, "node stats");
  NodeStats s;
  s.total = r.i64("total");
  if (const json* by = r.find("by_status"); by != nullptr && by->is_object()) {
    for (const auto& [status, count] : by->items()) {
      if (count.is_number_integer()) s.by_status[status] = count.get<std::int64_t>();
    }
  }
  const Reader capacity = r.object("capacity");
  s.capacity_cpu_cores = capacity.num("cpu_cores");
  s.capacity_memory_mb = capacity.num("memory_mb");
  s.capacity_disk_gb = capacity.num("disk_gb");
  const Reader used = r.object("used");
  s.used_cpu_cores = used.num("cpu_cores");
  s.used_memory_mb = used.num("memory_mb");
  s.used_disk_gb = used.num("disk_gb");
  const Reader average = r.object("average_load");
  s.average_cpu_percent = average.opt_num("cpu_percent");
  s.average_memory_percent = average.opt_num("memory_percent");
  s.average_disk_percent = average.opt_num("disk_percent");
  s.average_overall = average.opt_num("overall");
  s.raw = dump(j);
  return s;
}

Node NodesApi::drain(std::int64_t id, const std::string& reason) {
  json body = reason_body(reason);
  return node_of(s_.call("POST", node_path(id, "/drain"), &body));
}

Node NodesApi::undrain(std::int64_t id, const std::string& reason) {
  json body = reason_body(reason);
  return node_of(s_.call("POST", node_path(id, "/undrain"), &body));
}

Node NodesApi::revoke_credential(std::int64_t id) {
  return node_of(s_.call("POST", node_path(id, "/credential/revoke")));
}

Node NodesApi::remove(std::int64_t id, NodeRemoval removal) {
  const char* force = removal == NodeRemoval::kForce ? "?force=true" : "";
  return node_of(s_.call("DELETE", node_path(id, force)));
}

RegistrationToken NodesApi::create_token(const RegistrationTokenRequest& request) {
  json body = json::object();
  if (request.description) body["description"] = *request.description;
  if (request.site) body["site"] = *request.site;
  if (request.pool) body["pool"] = *request.pool;
  if (!request.labels.empty()) body["labels"] = request.labels;
  if (request.max_uses) body["max_uses"] = *request.max_uses;
  if (request.expires_in_hours) body["expires_in_hours"] = *request.expires_in_hours;
  return token_of(s_.call("POST", "/api/nodes/registration-tokens", &body));
}

std::vector<RegistrationToken> NodesApi::tokens() {
  std::vector<RegistrationToken> out;
  for (std::int64_t offset = 0;;) {
    const json j = s_.call(
        "GET", "/api/nodes/registration-tokens?limit=1000&offset=" + std::to_string(offset));
    const json& items = items_of(j);
    for (const auto& item : items)
      out.push_back(token_of(item));
    offset += static_cast<std::int64_t>(items.size());
    if (items.empty() || offset >= Reader(j, "token page").i64("total")) break;
  }
  return out;
}

RegistrationToken NodesApi::revoke_token(std::int64_t id) {
  return token_of(s_.call("DELETE", "/api/nodes/registration-tokens/" + std::to_string(id)));
}

}  // namespace fleet::client
