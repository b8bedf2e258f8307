// api-gateway: organisations, deployments, routes, migration plans and migrations (issue 14).
// The planner's side (placements, routes, plans, migrations) is inserted by SQL, as
// migration-planner would write it.
#include <catch2/catch.hpp>

#include "gateway_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

std::string error_field(const ApiAnswer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"].is_object() &&
                 a.body["error"]["field"].is_string()
             ? a.body["error"]["field"].get<std::string>()
             : "";
}

std::string error_message(const ApiAnswer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"].is_object() &&
                 a.body["error"]["message"].is_string()
             ? a.body["error"]["message"].get<std::string>()
             : "";
}

long long audited(GatewayFixture& gw, const std::string& action, int status) {
  return gw.db.count("SELECT 1 FROM audit_log WHERE action = '" + action +
                     "' AND status = " + std::to_string(status));
}

void insert_node(TestDatabase& db, int id, const std::string& name, const std::string& address) {
  db.exec("INSERT INTO workers (id, kind, name, status) VALUES (" + std::to_string(id) +
          ", 'node', '" + name + "', 'online')");
  db.exec(
      "INSERT INTO nodes (worker_id, hostname, addresses, pool, cpu_cores, memory_mb, disk_gb, "
      "credential_hash, os, engine) VALUES (" +
      std::to_string(id) + ", '" + name + ".example', '{" + address +
      "}', 'default', 4, 8000, 100, repeat('ab', 32), 'Debian 12', 'Docker')");
}

std::int64_t create_org(GatewayFixture& gw, const std::string& name,
                        const std::string& policy = "automatic") {
  auto a = gw.as("admin", "POST", "/api/organizations",
                 json{{"name", name}, {"migration_policy", policy}}.dump());
  INFO(a.raw);
  REQUIRE(a.status == 201);
  return a.body["id"].get<std::int64_t>();
}

std::int64_t create_deployment(GatewayFixture& gw, std::int64_t org, const std::string& name,
                               json extra = json::object()) {
  extra["organization_id"] = org;
  extra["name"] = name;
  if (!extra.contains("image")) extra["image"] = "docker.io/library/busybox:1.36";
  auto a = gw.as("operator", "POST", "/api/deployments", extra.dump());
  INFO(a.raw);
  REQUIRE(a.status == 201);
  return a.body["id"].get<std::int64_t>();
}

// A placement as migration-planner writes it; returns its id.
std::int64_t insert_placement(TestDatabase& db, std::int64_t deployment, int replica,
                              std::optional<int> node, const std::string& state,
                              bool retired = false) {
  const std::string id = db.scalar("SELECT nextval('placements_id_seq')");
  const std::string name =
      "'fw-" + std::to_string(deployment) + "-" + std::to_string(replica) + "-" + id + "'";
  db.exec(
      "INSERT INTO placements (id, deployment_id, replica, node_id, container_name, state, "
      "cpu_cores, memory_mb, disk_gb, reason, retired_at, running_since) VALUES (" +
      id + ", " + std::to_string(deployment) + ", " + std::to_string(replica) + ", " +
      (node ? std::to_string(*node) : "NULL") + ", " + (node ? name : "NULL") + ", '" + state +
      "', 0.5, 256, 1, '" + (state == "unplaced" ? "no node has 4 GiB free" : "") + "', " +
      (retired ? "now()" : "NULL") + ", " + (state == "running" ? "now()" : "NULL") + ")");
  return std::stoll(id);
}

}  // namespace

TEST_CASE("organizations: admins create, change and delete them and manage members",
          "[gateway][deployments][e2e]") {
  GatewayFixture gw;

  // Validation: a 400 naming the field, nothing stored, the refusal audited.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({})", "name"},
      {R"({"name": "Acme Corp"})", "name"},
      {R"({"name": "-acme"})", "name"},
      {R"({"name": ")" + std::string(64, 'a') + R"("})", "name"},
      {R"({"name": "ac\u0000me"})", "name"},
      {R"({"name": 7})", "name"},
      {R"({"name": "acme", "migration_policy": "sometimes"})", "migration_policy"},
      {R"({"name": "acme", "migration_policy": true})", "migration_policy"},
      {R"({"name": "acme", "display_name": ")" + std::string(201, 'd') + R"("})", "display_name"},
      {R"({"name": "acme", "policy": "manual"})", "policy"},
  };
  for (const auto& [body, field] : bad) {
    auto a = gw.as("admin", "POST", "/api/organizations", body);
    INFO(body << " -> " << a.raw);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  CHECK(gw.db.count("organizations") == 0);
  CHECK(audited(gw, "POST /api/organizations", 400) == static_cast<long long>(bad.size()));

  for (const char* who : {"viewer", "operator"})
    CHECK(gw.as(who, "POST", "/api/organizations", R"({"name": "acme"})").status == 403);
  CHECK(gw.as("", "POST", "/api/organizations", R"({"name": "acme"})").status == 401);
  CHECK(gw.db.count("organizations") == 0);
  CHECK(audited(gw, "POST /api/organizations", 403) == 2);

  auto created =
      gw.as("admin", "POST", "/api/organizations",
            R"({"name": "acme", "display_name": "Acme Ltd", "migration_policy": "manual"})");
  REQUIRE(created.status == 201);
  const std::int64_t acme = created.body["id"];
  CHECK(created.body["name"] == "acme");
  CHECK(created.body["display_name"] == "Acme Ltd");
  CHECK(created.body["migration_policy"] == "manual");
  CHECK(created.body["deployments"] == 0);
  CHECK(created.body["members"] == json::array());
  auto taken = gw.as("admin", "POST", "/api/organizations", R"({"name": "acme"})");
  CHECK(taken.status == 409);
  CHECK(error_field(taken) == "name");
  const std::int64_t beta = create_org(gw, "beta");
  CHECK(gw.as("viewer", "GET", "/api/organizations/" + std::to_string(beta))
            .body["migration_policy"] == "automatic");

  // Members: admins only; a user that does not exist is a 404.
  const std::string op_id = gw.db.scalar("SELECT id FROM users WHERE username = 'operator'");
  const std::string viewer_id = gw.db.scalar("SELECT id FROM users WHERE username = 'viewer'");
  const std::string members = "/api/organizations/" + std::to_string(acme) + "/members/";
  CHECK(gw.as("operator", "PUT", members + op_id, "{}").status == 403);
  auto added = gw.as("admin", "PUT", members + op_id, "");
  REQUIRE(added.status == 200);
  CHECK(
      added.body["members"] ==
      json::array({{{"user_id", std::stoll(op_id)}, {"username", "operator"}, {"role", "owner"}}}));
  auto bad_role = gw.as("admin", "PUT", members + viewer_id, R"({"role": "boss"})");
  CHECK(bad_role.status == 400);
  CHECK(error_field(bad_role) == "role");
  REQUIRE(gw.as("admin", "PUT", members + viewer_id, R"({"role": "member"})").status == 200);
  CHECK(gw.as("admin", "PUT", members + "999", "{}").status == 404);
  CHECK(gw.db.count("organization_members") == 2);
  auto removed = gw.as("admin", "DELETE", members + viewer_id);
  REQUIRE(removed.status == 200);
  CHECK(removed.body["members"].size() == 1);
  CHECK(gw.as("admin", "DELETE", members + viewer_id).status == 404);

  // Changes.
  auto patched = gw.as("admin", "PATCH", "/api/organizations/" + std::to_string(acme),
                       R"({"migration_policy": "none"})");
  REQUIRE(patched.status == 200);
  CHECK(patched.body["migration_policy"] == "none");
  CHECK(patched.body["display_name"] == "Acme Ltd");
  auto bad_patch = gw.as("admin", "PATCH", "/api/organizations/" + std::to_string(acme),
                         R"({"migration_policy": "always"})");
  CHECK(bad_patch.status == 400);
  CHECK(error_field(bad_patch) == "migration_policy");
  CHECK(gw.as("admin", "PATCH", "/api/organizations/" + std::to_string(acme), R"({"name": "x"})")
            .status == 400);
  CHECK(gw.as("operator", "PATCH", "/api/organizations/" + std::to_string(acme),
              R"({"migration_policy": "automatic"})")
            .status == 403);
  CHECK(gw.db.scalar("SELECT migration_policy FROM organizations WHERE name = 'acme'") == "none");

  // The list: by name, paged, searchable.
  auto list = gw.as("viewer", "GET", "/api/organizations");
  REQUIRE(list.status == 200);
  CHECK(list.body["total"] == 2);
  CHECK(list.body["items"][0]["name"] == "acme");
  CHECK(list.body["items"][1]["name"] == "beta");
  CHECK(gw.as("viewer", "GET", "/api/organizations?q=LTD").body["total"] == 1);
  auto page = gw.as("viewer", "GET", "/api/organizations?limit=1&offset=1");
  CHECK(page.body["items"].size() == 1);
  CHECK(page.body["items"][0]["name"] == "beta");
  CHECK(gw.as("viewer", "GET", "/api/organizations?limit=0").status == 400);
  CHECK(gw.as("viewer", "GET", "/api/organizations/999").status == 404);

  // Deletion: refused while deployments remain; deleted deployments go with the organisation.
  const std::int64_t web = create_deployment(gw, acme, "web");
  auto refused = gw.as("admin", "DELETE", "/api/organizations/" + std::to_string(acme));
  CHECK(refused.status == 409);
  CHECK(error_field(refused) == "deployments");
  CHECK(gw.db.count("organizations") == 2);
  gw.db.exec("UPDATE deployments SET state = 'deleted', deleted_at = now() WHERE id = " +
             std::to_string(web));
  CHECK(gw.as("operator", "DELETE", "/api/organizations/" + std::to_string(acme)).status == 403);
  CHECK(gw.as("admin", "DELETE", "/api/organizations/" + std::to_string(acme)).status == 204);
  CHECK(gw.db.count("organizations") == 1);
  CHECK(gw.db.count("deployments") == 0);
  CHECK(gw.db.count("organization_members") == 0);
  CHECK(audited(gw, "DELETE /api/organizations/{id}", 204) == 1);
  CHECK(audited(gw, "DELETE /api/organizations/{id}", 409) == 1);
}

TEST_CASE("deployments: operators create them, every bad field is a 400 naming it, nothing stored",
          "[gateway][deployments][e2e]") {
  GatewayFixture gw;
  const std::int64_t acme = create_org(gw, "acme");
  const std::string org = std::to_string(acme);
  auto body = [&](const std::string& rest) {
    return R"({"organization_id": )" + org + R"(, "name": "web", "image": "nginx:1.25")" +
           (rest.empty() ? "" : ", " + rest) + "}";
  };
  std::string many_env, many_args, many_ports;
  for (int i = 0; i <= 100; ++i)
    many_env += (i ? ", " : "") + std::string("\"V") + std::to_string(i) + "\": \"x\"";
  for (int i = 0; i <= 64; ++i)
    many_args += (i ? ", " : "") + std::string("\"a\"");
  for (int i = 1; i <= 21; ++i)
    many_ports +=
        (i > 1 ? ", " : "") + std::string(R"({"container_port": )") + std::to_string(i) + "}";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"name": "web", "image": "nginx"})", "organization_id"},
      {R"({"organization_id": "1", "name": "web", "image": "nginx"})", "organization_id"},
      {R"({"organization_id": 999, "name": "web", "image": "nginx"})", "organization_id"},
      {R"({"organization_id": )" + org + R"(, "name": "Web", "image": "nginx"})", "name"},
      {R"({"organization_id": )" + org + R"(, "name": "web"})", "image"},
      {R"({"organization_id": )" + org + R"(, "name": "web", "image": "nginx; rm -rf /"})",
       "image"},
      {R"({"organization_id": )" + org + R"(, "name": "web", "image": "-v"})", "image"},
      {R"({"organization_id": )" + org + R"(, "name": "web", "image": ")" + std::string(501, 'a') +
           R"("})",
       "image"},
      {body(R"("env": {"A": "x\u0000y"})"), "env.A"},
      {body(R"("env": {"A": 5})"), "env.A"},
      {body(R"("env": {"1A": "x"})"), "env"},
      {body(R"("env": ["A=x"])"), "env"},
      {body(R"("env": {)" + many_env + "}"), "env"},
      {body(R"("command": [)" + many_args + "]"), "command"},
      {body(R"("command": ["sh", 3])"), "command[1]"},
      {body(R"("command": "sh -c")"), "command"},
      {body(R"("ports": [)" + many_ports + "]"), "ports"},
      {body(R"("ports": [{"container_port": 0}])"), "ports[0].container_port"},
      {body(R"("ports": [{"container_port": 80}, {"container_port": 80}])"),
       "ports[1].container_port"},
      {body(R"("ports": [{"container_port": 80, "protocol": "sctp"}])"), "ports[0].protocol"},
      {body(R"("ports": [{"port": 80}])"), "ports[0].port"},
      {body(R"("ports": [80])"), "ports[0]"},
      {body(R"("resources": {"cpu_cores": 0})"), "resources.cpu_cores"},
      {body(R"("resources": {"memory_mb": 1.5})"), "resources.memory_mb"},
      {body(R"("resources": {"disk_gb": -1})"), "resources.disk_gb"},
      {body(R"("resources": {"gpus": 1})"), "resources.gpus"},
      {body(R"("replicas": "2")"), "replicas"},
      {body(R"("replicas": 1001)"), "replicas"},
      {body(R"("labels": {"tier": 1})"), "labels.tier"},
      {body(R"("labels": {"fleetward.deployment": "9"})"), "labels.fleetward.deployment"},
      {body(R"("pool": "GPU")"), "pool"},
      {body(R"("anti_affinity_key": "a b")"), "anti_affinity_key"},
      {body(R"("max_unavailable": 0)"), "max_unavailable"},
      {body(R"("node": 3)"), "node"},
  };
  for (const auto& [text, field] : bad) {
    auto a = gw.as("operator", "POST", "/api/deployments", text);
    INFO(text.substr(0, 300) << " -> " << a.raw);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  CHECK(gw.db.count("deployments") == 0);
  CHECK(audited(gw, "POST /api/deployments", 400) == static_cast<long long>(bad.size()));
  // Oversize bodies are refused by the server before any handler.
  auto huge = gw.as("operator", "POST", "/api/deployments",
                    body(R"("labels": {"x": ")" + std::string(2 << 20, 'x') + R"("})"));
  CHECK(huge.status == 413);
  CHECK(gw.db.count("deployments") == 0);

  CHECK(gw.as("viewer", "POST", "/api/deployments", body("")).status == 403);
  CHECK(gw.db.count("deployments") == 0);

  auto created =
      gw.as("operator", "POST", "/api/deployments",
            body(R"("command": ["httpd", "-f", "-p", "8080"], "env": {"GREETING": "hello"},
        "ports": [{"container_port": 8080}, {"container_port": 53, "protocol": "udp"}],
        "resources": {"cpu_cores": 0.5, "memory_mb": 256, "disk_gb": 1.5}, "replicas": 3,
        "labels": {"tier": "front"}, "pool": "edge", "anti_affinity_key": "web-tier",
        "max_unavailable": 2)"));
  INFO(created.raw);
  REQUIRE(created.status == 201);
  const json& d = created.body;
  CHECK(d["organization"] == "acme");
  CHECK(d["service"] == "web.acme");
  CHECK(d["image"] == "nginx:1.25");
  CHECK(d["command"] == json::array({"httpd", "-f", "-p", "8080"}));
  CHECK(d["env"] == json{{"GREETING", "hello"}});
  CHECK(d["ports"] == json::array({{{"container_port", 8080}, {"protocol", "tcp"}},
                                   {{"container_port", 53}, {"protocol", "udp"}}}));
  CHECK(d["resources"] == json{{"cpu_cores", 0.5}, {"memory_mb", 256}, {"disk_gb", 1.5}});
  CHECK(d["replicas"] == 3);
  CHECK(d["labels"] == json{{"tier", "front"}});
  CHECK(d["pool"] == "edge");
  CHECK(d["anti_affinity_key"] == "web-tier");
  CHECK(d["max_unavailable"] == 2);
  CHECK(d["state"] == "active");
  CHECK(d["created_by"] == "operator");
  CHECK(d["replicas_running"] == 0);
  CHECK(d["placements"] == json::array());
  CHECK(gw.db.scalar("SELECT array_to_string(command, '|') FROM deployments") ==
        "httpd|-f|-p|8080");
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/deployments' AND "
                    "status = 201 AND target = 'deployment:" +
                    std::to_string(d["id"].get<std::int64_t>()) + "'") == 1);

  // Defaults; an admin may create too; a taken name is a 409 naming it.
  auto minimal = gw.as("admin", "POST", "/api/deployments",
                       R"({"organization_id": )" + org + R"(, "name": "db", "image": "redis"})");
  REQUIRE(minimal.status == 201);
  CHECK(minimal.body["replicas"] == 1);
  CHECK(minimal.body["pool"] == "default");
  CHECK(minimal.body["anti_affinity_key"].is_null());
  CHECK(minimal.body["resources"] == json{{"cpu_cores", 0.1}, {"memory_mb", 64}, {"disk_gb", 0.0}});
  auto taken = gw.as("operator", "POST", "/api/deployments", body(""));
  CHECK(taken.status == 409);
  CHECK(error_field(taken) == "name");
  CHECK(gw.db.count("deployments") == 2);
}

TEST_CASE("deployments: list, detail with placements, routes and migrations, change and delete",
          "[gateway][deployments][e2e]") {
  GatewayFixture gw;
  insert_node(gw.db, 1, "node-a", "127.0.10.1");
  insert_node(gw.db, 2, "node-b", "127.0.10.2");
  const std::int64_t acme = create_org(gw, "acme", "manual");
  const std::int64_t beta = create_org(gw, "beta");
  const std::int64_t web = create_deployment(gw, acme, "web", {{"replicas", 2}});
  const std::int64_t api = create_deployment(gw, beta, "api", {{"image", "ghcr.io/x/api:2"}});
  const std::int64_t gone = create_deployment(gw, beta, "old");
  gw.db.exec("UPDATE deployments SET state = 'deleted', deleted_at = now() WHERE id = " +
             std::to_string(gone));

  // The planner's side: replica 0 running on node-a, replica 1 unplaced, an old removed one.
  const auto p0 = insert_placement(gw.db, web, 0, 1, "running");
  insert_placement(gw.db, web, 1, std::nullopt, "unplaced");
  insert_placement(gw.db, web, 0, 2, "removed", true);
  gw.db.exec(
      "INSERT INTO routes (deployment_id, replica, container_port, placement_id, node_id, "
      "address, host_port) VALUES (" +
      std::to_string(web) + ", 0, 8080, " + std::to_string(p0) + ", 1, '127.0.10.1', 20001)");

  auto ids = [&](const std::string& query) {
    auto a = gw.as("viewer", "GET", "/api/deployments" + query);
    INFO(query << " -> " << a.raw);
    REQUIRE(a.status == 200);
    std::vector<std::int64_t> out;
    for (const auto& i : a.body["items"])
      out.push_back(i["id"]);
    return out;
  };
  CHECK(ids("") == std::vector<std::int64_t>{web, api});
  CHECK(ids("?organization_id=" + std::to_string(beta)) == std::vector<std::int64_t>{api});
  CHECK(ids("?state=deleted") == std::vector<std::int64_t>{gone});
  CHECK(ids("?q=ghcr") == std::vector<std::int64_t>{api});
  CHECK(ids("?q=web.acme") == std::vector<std::int64_t>{web});
  CHECK(ids("?limit=1&offset=1") == std::vector<std::int64_t>{api});
  for (const auto& [query, field] :
       std::vector<std::pair<std::string, std::string>>{{"?state=gone", "state"},
                                                        {"?organization_id=x", "organization_id"},
                                                        {"?limit=1001", "limit"}}) {
    auto a = gw.as("viewer", "GET", "/api/deployments" + query);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  auto list = gw.as("viewer", "GET", "/api/deployments");
  CHECK(list.body["total"] == 2);
  CHECK(list.body["items"][0]["replicas_running"] == 1);
  CHECK(list.body["items"][0]["replicas_unplaced"] == 1);

  // The detail.
  gw.db.exec(
      "INSERT INTO migration_plans (id, node_id, organization_id, trigger, policy, state, "
      "reason, created_by) VALUES (5, 2, " +
      std::to_string(acme) + ", 'offline', 'manual', 'done', 'node-b offline', 'planner')");
  gw.db.exec(
      "INSERT INTO migrations (plan_id, deployment_id, replica, from_node_id, to_node_id, "
      "state, reason, steps) VALUES (5, " +
      std::to_string(web) +
      ", 0, 2, 1, 'done', 'node-b offline', '[{\"at\": \"x\", \"step\": \"done\"}]')");
  auto detail = gw.as("viewer", "GET", "/api/deployments/" + std::to_string(web));
  REQUIRE(detail.status == 200);
  const json& dd = detail.body;
  REQUIRE(dd["placements"].size() == 3);
  CHECK(dd["placements"][0]["node_name"] == "node-a");
  CHECK(dd["placements"][0]["state"] == "running");
  CHECK(dd["placements"][0]["running_since"].is_string());
  CHECK(dd["placements"][1]["state"] == "removed");
  CHECK(dd["placements"][1]["retired_at"].is_string());
  CHECK(dd["placements"][2]["state"] == "unplaced");
  CHECK(dd["placements"][2]["node_id"].is_null());
  CHECK(dd["placements"][2]["reason"] == "no node has 4 GiB free");
  REQUIRE(dd["routes"].size() == 1);
  CHECK(dd["routes"][0]["service"] == "web.acme");
  CHECK(dd["routes"][0]["host_port"] == 20001);
  CHECK(dd["routes"][0]["node_name"] == "node-a");
  REQUIRE(dd["migrations"].size() == 1);
  CHECK(dd["migrations"][0]["from_node_name"] == "node-b");
  CHECK(dd["migrations"][0]["to_node_name"] == "node-a");
  CHECK(gw.as("viewer", "GET", "/api/deployments/999").status == 404);

  // Changes: replicas, labels, pool, anti-affinity (cleared by ""); image is a new deployment.
  const std::string path = "/api/deployments/" + std::to_string(web);
  CHECK(gw.as("viewer", "PATCH", path, R"({"replicas": 3})").status == 403);
  auto scaled = gw.as("operator", "PATCH", path,
                      R"({"replicas": 3, "labels": {"tier": "a"}, "pool": "edge",
                          "anti_affinity_key": "k", "max_unavailable": 2})");
  REQUIRE(scaled.status == 200);
  CHECK(scaled.body["replicas"] == 3);
  CHECK(scaled.body["labels"] == json{{"tier", "a"}});
  CHECK(scaled.body["pool"] == "edge");
  CHECK(scaled.body["anti_affinity_key"] == "k");
  CHECK(scaled.body["max_unavailable"] == 2);
  auto cleared = gw.as("operator", "PATCH", path, R"({"anti_affinity_key": ""})");
  REQUIRE(cleared.status == 200);
  CHECK(cleared.body["anti_affinity_key"].is_null());
  CHECK(cleared.body["replicas"] == 3);
  for (const auto& [text, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"image": "nginx:2"})", "image"},
           {R"({"command": ["x"]})", "command"},
           {R"({"env": {}})", "env"},
           {R"({"replicas": -1})", "replicas"},
           {R"({"replicas": 2.5})", "replicas"},
           {R"({"labels": {"a": "\u0000"}})", "labels.a"},
           {R"({})", "replicas"}}) {
    auto a = gw.as("operator", "PATCH", path, text);
    INFO(text << " -> " << a.raw);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  CHECK(gw.db.scalar("SELECT replicas || ' ' || image FROM deployments WHERE id = " +
                     std::to_string(web)) == "3 docker.io/library/busybox:1.36");

  // Delete: deleting (202), again accepted, no changes meanwhile, 409 once deleted.
  CHECK(gw.as("viewer", "DELETE", path).status == 403);
  auto deleting = gw.as("operator", "DELETE", path);
  REQUIRE(deleting.status == 202);
  CHECK(deleting.body["state"] == "deleting");
  CHECK(gw.as("operator", "DELETE", path).status == 202);
  auto frozen = gw.as("operator", "PATCH", path, R"({"replicas": 1})");
  CHECK(frozen.status == 409);
  CHECK(error_field(frozen) == "state");
  gw.db.exec("UPDATE deployments SET state = 'deleted' WHERE id = " + std::to_string(web));
  CHECK(gw.as("operator", "DELETE", path).status == 409);
  CHECK(audited(gw, "DELETE /api/deployments/{id}", 202) == 2);
  CHECK(audited(gw, "DELETE /api/deployments/{id}", 409) == 1);
}

TEST_CASE("routes: the table and the files a reverse proxy loads", "[gateway][deployments][e2e]") {
  GatewayFixture gw;
  insert_node(gw.db, 1, "node-a", "127.0.10.1");
  insert_node(gw.db, 2, "node-b", "127.0.10.2");
  const std::int64_t acme = create_org(gw, "acme");
  const std::int64_t web = create_deployment(gw, acme, "web", {{"replicas", 2}});
  const std::int64_t dns = create_deployment(gw, acme, "dns");
  const auto w0 = insert_placement(gw.db, web, 0, 1, "running");
  const auto w1 = insert_placement(gw.db, web, 1, 2, "running");
  const auto d0 = insert_placement(gw.db, dns, 0, 2, "running");
  auto route = [&](std::int64_t deployment, int replica, int port, const char* protocol,
                   std::int64_t placement, int node, const char* address, int host_port) {
    gw.db.exec(
        "INSERT INTO routes (deployment_id, replica, container_port, protocol, "
        "placement_id, node_id, address, host_port, version) VALUES (" +
        std::to_string(deployment) + ", " + std::to_string(replica) + ", " + std::to_string(port) +
        ", '" + protocol + "', " + std::to_string(placement) + ", " + std::to_string(node) + ", '" +
        address + "', " + std::to_string(host_port) + ", 2)");
  };
  route(web, 1, 8080, "tcp", w1, 2, "127.0.10.2", 20002);
  route(web, 0, 8080, "tcp", w0, 1, "127.0.10.1", 20001);
  route(dns, 0, 53, "udp", d0, 2, "127.0.10.2", 20003);

  auto table = gw.as("viewer", "GET", "/api/routes");
  REQUIRE(table.status == 200);
  REQUIRE(table.body["items"].size() == 3);
  const json& first = table.body["items"][0];
  CHECK(first["service"] == "dns.acme");
  CHECK(first["protocol"] == "udp");
  CHECK(table.body["items"][1]["service"] == "web.acme");
  CHECK(table.body["items"][1]["replica"] == 0);
  CHECK(table.body["items"][1]["node_name"] == "node-a");
  CHECK(table.body["items"][1]["address"] == "127.0.10.1");
  CHECK(table.body["items"][1]["version"] == 2);
  CHECK(table.body["items"][1]["updated_at"].is_string());
  auto only = gw.as("viewer", "GET", "/api/routes?deployment_id=" + std::to_string(web));
  CHECK(only.body["items"].size() == 2);
  CHECK(gw.as("viewer", "GET", "/api/routes?deployment_id=abc").status == 400);

  auto file = gw.as("viewer", "GET", "/api/routes/file");
  REQUIRE(file.status == 200);
  CHECK(file.body == json::parse(R"({"version": 1, "routes": [
      {"service": "dns.acme", "replica": 0, "container_port": 53, "protocol": "udp",
       "address": "127.0.10.2", "host_port": 20003},
      {"service": "web.acme", "replica": 0, "container_port": 8080, "protocol": "tcp",
       "address": "127.0.10.1", "host_port": 20001},
      {"service": "web.acme", "replica": 1, "container_port": 8080, "protocol": "tcp",
       "address": "127.0.10.2", "host_port": 20002}]})"));

  auto haproxy = gw.as("viewer", "GET", "/api/routes/file?format=haproxy");
  REQUIRE(haproxy.status == 200);
  CHECK_THAT(haproxy.headers.find("Content-Type")->second, Contains("text/plain"));
  CHECK(haproxy.raw ==
        "# fleetward routes: one backend per service address and container port\n"
        "# dns.acme_53_udp: UDP, not served by HAProxy\n"
        "\nbackend web.acme_8080\n    mode tcp\n    balance roundrobin\n"
        "    server replica-0 127.0.10.1:20001 check\n"
        "    server replica-1 127.0.10.2:20002 check\n");

  auto nginx = gw.as("viewer", "GET", "/api/routes/file?format=nginx");
  REQUIRE(nginx.status == 200);
  CHECK(nginx.raw ==
        "# fleetward routes: one upstream per service address and container port\n"
        "\nupstream dns.acme_53_udp {\n    server 127.0.10.2:20003;  # replica 0\n}\n"
        "\nupstream web.acme_8080 {\n    server 127.0.10.1:20001;  # replica 0\n"
        "    server 127.0.10.2:20002;  # replica 1\n}\n");

  // An address that could break out of a proxy directive is left out.
  gw.db.exec("UPDATE routes SET address = '1.2.3.4;} evil' WHERE replica = 1");
  CHECK(gw.as("viewer", "GET", "/api/routes/file?format=nginx").raw.find("evil") ==
        std::string::npos);

  auto bad = gw.as("viewer", "GET", "/api/routes/file?format=xml");
  CHECK(bad.status == 400);
  CHECK(error_field(bad) == "format");
}

TEST_CASE("migration plans: operators approve or reject plans awaiting approval, only those",
          "[gateway][deployments][e2e]") {
  GatewayFixture gw;
  insert_node(gw.db, 1, "node-a", "127.0.10.1");
  insert_node(gw.db, 2, "node-b", "127.0.10.2");
  const std::int64_t acme = create_org(gw, "acme", "manual");
  const std::int64_t web = create_deployment(gw, acme, "web", {{"replicas", 2}});
  const std::string org = std::to_string(acme), dep = std::to_string(web);
  for (const auto& [id, node, state] : std::vector<std::tuple<int, int, std::string>>{
           {10, 1, "awaiting_approval"}, {11, 2, "awaiting_approval"}, {12, 2, "done"}}) {
    gw.db.exec(
        "INSERT INTO migration_plans (id, node_id, organization_id, trigger, policy, "
        "state, reason, created_by, summary) VALUES (" +
        std::to_string(id) + ", " + std::to_string(node) + ", " + org + ", 'offline', 'manual', '" +
        state +
        "', 'node offline for 60 s', "
        "'migration-planner:x', '{\"moves\": 2}')");
  }
  for (int replica : {0, 1}) {
    gw.db.exec(
        "INSERT INTO migrations (plan_id, deployment_id, replica, from_node_id, state, "
        "reason) VALUES (10, " +
        dep + ", " + std::to_string(replica) + ", 1, 'awaiting_approval', 'node-a offline')");
    gw.db.exec(
        "INSERT INTO migrations (plan_id, deployment_id, replica, from_node_id, state, "
        "reason) VALUES (11, " +
        dep + ", " + std::to_string(replica) + ", 2, 'awaiting_approval', 'node-b offline')");
  }
  gw.db.exec(
      "INSERT INTO migrations (plan_id, deployment_id, replica, from_node_id, to_node_id, "
      "state, reason, steps) VALUES (12, " +
      dep +
      ", 0, 2, 1, 'done', 'node-b offline', "
      "'[{\"at\": \"2026-01-01T00:00:00Z\", \"step\": \"starting\", \"detail\": \"on "
      "node-a\"}]')");

  auto list = gw.as("viewer", "GET", "/api/migration-plans");
  REQUIRE(list.status == 200);
  CHECK(list.body["total"] == 3);
  CHECK(list.body["items"][0]["id"] == 12);  // newest first
  CHECK(list.body["items"][2]["node_name"] == "node-a");
  CHECK(list.body["items"][2]["organization"] == "acme");
  CHECK(list.body["items"][2]["summary"] == json{{"moves", 2}});
  CHECK(gw.as("viewer", "GET", "/api/migration-plans?state=awaiting_approval").body["total"] == 2);
  CHECK(gw.as("viewer", "GET", "/api/migration-plans?node_id=2").body["total"] == 2);
  CHECK(gw.as("viewer", "GET", "/api/migration-plans?organization_id=999").body["total"] == 0);
  auto bad_state = gw.as("viewer", "GET", "/api/migration-plans?state=waiting");
  CHECK(bad_state.status == 400);
  CHECK(error_field(bad_state) == "state");
  auto plan = gw.as("viewer", "GET", "/api/migration-plans/10");
  REQUIRE(plan.status == 200);
  CHECK(plan.body["migrations"].size() == 2);
  CHECK(plan.body["migrations"][0]["service"] == "web.acme");
  CHECK(gw.as("viewer", "GET", "/api/migration-plans/999").status == 404);

  // Approve: operators only, bad notes refused, then executing with who and when.
  CHECK(gw.as("viewer", "POST", "/api/migration-plans/10/approve").status == 403);
  auto bad_note = gw.as("operator", "POST", "/api/migration-plans/10/approve",
                        R"({"note": ")" + std::string(1001, 'n') + R"("})");
  CHECK(bad_note.status == 400);
  CHECK(error_field(bad_note) == "note");
  auto nul_note =
      gw.as("operator", "POST", "/api/migration-plans/10/approve", R"({"note": "a\u0000"})");
  CHECK(nul_note.status == 400);
  CHECK(error_field(nul_note) == "note");
  CHECK(gw.as("operator", "POST", "/api/migration-plans/10/approve", R"({"why": "x"})").status ==
        400);
  CHECK(gw.db.scalar("SELECT state FROM migration_plans WHERE id = 10") == "awaiting_approval");
  auto approved = gw.as("operator", "POST", "/api/migration-plans/10/approve",
                        R"({"note": "node-a is gone for good"})");
  REQUIRE(approved.status == 200);
  CHECK(approved.body["state"] == "executing");
  CHECK(approved.body["decided_by"] == "operator");
  CHECK(approved.body["decided_at"].is_string());
  CHECK(approved.body["decision_note"] == "node-a is gone for good");
  // The planner moves the migrations on; the API leaves them.
  CHECK(gw.db.count("SELECT 1 FROM migrations WHERE plan_id = 10 AND state = "
                    "'awaiting_approval'") == 2);
  auto twice = gw.as("operator", "POST", "/api/migration-plans/10/approve");
  CHECK(twice.status == 409);
  CHECK(error_field(twice) == "state");
  CHECK(gw.as("operator", "POST", "/api/migration-plans/10/reject").status == 409);
  CHECK(gw.as("operator", "POST", "/api/migration-plans/12/approve").status == 409);
  CHECK(gw.as("operator", "POST", "/api/migration-plans/999/approve").status == 404);

  // Reject: the plan and its migrations, in one go.
  CHECK(gw.as("viewer", "POST", "/api/migration-plans/11/reject").status == 403);
  auto rejected = gw.as("admin", "POST", "/api/migration-plans/11/reject", R"({"note": "wait"})");
  REQUIRE(rejected.status == 200);
  CHECK(rejected.body["state"] == "rejected");
  CHECK(rejected.body["finished_at"].is_string());
  REQUIRE(rejected.body["migrations"].size() == 2);
  for (const auto& m : rejected.body["migrations"]) {
    CHECK(m["state"] == "rejected");
    CHECK(m["finished_at"].is_string());
    REQUIRE(m["steps"].size() == 1);
    CHECK(m["steps"][0]["step"] == "rejected");
    CHECK(m["steps"][0]["detail"] == "rejected by admin: wait");
  }
  CHECK(gw.as("operator", "POST", "/api/migration-plans/11/approve").status == 409);
  CHECK(gw.db.scalar("SELECT state FROM migration_plans WHERE id = 11") == "rejected");
  CHECK(audited(gw, "POST /api/migration-plans/{id}/approve", 200) == 1);
  CHECK(audited(gw, "POST /api/migration-plans/{id}/approve", 409) == 3);
  CHECK(audited(gw, "POST /api/migration-plans/{id}/reject", 200) == 1);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/migration-plans/{id}/"
                    "approve' AND status = 200 AND target = 'migration-plan:10' AND "
                    "details->>'note' = 'node-a is gone for good'") == 1);

  // Migrations.
  auto migrations = gw.as("viewer", "GET", "/api/migrations");
  REQUIRE(migrations.status == 200);
  CHECK(migrations.body["total"] == 5);
  CHECK_FALSE(migrations.body["items"][0].contains("steps"));
  CHECK(gw.as("viewer", "GET", "/api/migrations?plan_id=11").body["total"] == 2);
  CHECK(gw.as("viewer", "GET", "/api/migrations?node_id=1").body["total"] == 3);  // from or to
  CHECK(
      gw.as("viewer", "GET", "/api/migrations?state=rejected&deployment_id=" + dep).body["total"] ==
      2);
  CHECK(gw.as("viewer", "GET", "/api/migrations?state=moving").status == 400);
  const std::string done_id = gw.db.scalar("SELECT id FROM migrations WHERE plan_id = 12");
  auto one = gw.as("viewer", "GET", "/api/migrations/" + done_id);
  REQUIRE(one.status == 200);
  CHECK(one.body["from_node_name"] == "node-b");
  CHECK(one.body["to_node_name"] == "node-a");
  CHECK(one.body["steps"][0]["detail"] == "on node-a");
  CHECK(gw.as("viewer", "GET", "/api/migrations/999").status == 404);
}

TEST_CASE("nodes: the detail lists current placements, removal is refused while one remains",
          "[gateway][deployments][nodes][e2e]") {
  GatewayFixture gw;
  insert_node(gw.db, 1, "node-a", "127.0.10.1");
  insert_node(gw.db, 2, "node-b", "127.0.10.2");
  const std::int64_t acme = create_org(gw, "acme");
  const std::int64_t web = create_deployment(gw, acme, "web");
  const auto current = insert_placement(gw.db, web, 0, 1, "running");
  insert_placement(gw.db, web, 1, 2, "stopping", true);  // retired: not current
  insert_placement(gw.db, web, 2, 2, "removed", true);

  auto a = gw.as("viewer", "GET", "/api/nodes/1");
  REQUIRE(a.status == 200);
  REQUIRE(a.body["placements"].size() == 1);
  CHECK(a.body["placements"][0]["id"] == current);
  CHECK(a.body["placements"][0]["service"] == "web.acme");
  CHECK(a.body["placements"][0]["state"] == "running");
  CHECK(a.body["placements"][0]["container_name"] ==
        "fw-" + std::to_string(web) + "-0-" + std::to_string(current));
  CHECK(gw.as("viewer", "GET", "/api/nodes/2").body["placements"] == json::array());

  // The heartbeat's container list is empty: the placement alone refuses the removal.
  auto refused = gw.as("admin", "DELETE", "/api/nodes/1");
  CHECK(refused.status == 409);
  CHECK(error_field(refused) == "force");
  CHECK_THAT(error_message(refused), Contains("1 current placement"));
  CHECK(gw.db.scalar("SELECT status FROM workers WHERE id = 1") == "online");
  REQUIRE(gw.as("admin", "DELETE", "/api/nodes/2").status == 200);
  auto forced = gw.as("admin", "DELETE", "/api/nodes/1?force=true");
  REQUIRE(forced.status == 200);
  CHECK_THAT(forced.body["status_reason"].get<std::string>(), Contains("1 placement(s)"));
}
