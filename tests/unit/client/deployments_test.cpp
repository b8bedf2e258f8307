// The client's organisations, deployments, routes, plans and migrations (issue 14), and
// `fleetctl api orgs | deployments | routes | plans | migrations` over a scripted transport.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "api_deployment_commands.h"
#include "fake_transport.h"

using namespace fleet;
using fleet::test::fake_options;
using fleet::test::FakeTransport;
using fleet::test::ok;
using nlohmann::json;

namespace {

const char* kDeployment = R"({"id": 7, "organization_id": 2, "organization": "acme",
  "name": "web", "service": "web.acme", "image": "nginx:1.25", "command": ["httpd", "-f"],
  "env": {"GREETING": "hi"}, "ports": [{"container_port": 8080, "protocol": "tcp"},
  {"container_port": 53, "protocol": "udp"}], "resources": {"cpu_cores": 0.5,
  "memory_mb": 256, "disk_gb": 1.5}, "replicas": 2, "labels": {"tier": "front"},
  "pool": "default", "anti_affinity_key": null, "max_unavailable": 1, "state": "active",
  "created_by": "ops", "created_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-05T09:00:00Z",
  "replicas_running": 1, "replicas_unplaced": 1, "deleted_at": null,
  "placements": [
    {"id": 11, "replica": 0, "node_id": 3, "node_name": "node-a", "container_name": "fw-7-0-11",
     "state": "running", "reason": "", "ports": [], "running_since": "2026-01-05T09:01:00Z",
     "retired_at": null, "migration_id": null, "created_at": "2026-01-05T09:00:30Z"},
    {"id": 12, "replica": 1, "node_id": null, "node_name": null, "container_name": null,
     "state": "unplaced", "reason": "no node has 4 GiB free in pool default", "ports": [],
     "running_since": null, "retired_at": null, "migration_id": null,
     "created_at": "2026-01-05T09:00:30Z"}],
  "routes": [{"service": "web.acme", "deployment_id": 7, "replica": 0, "container_port": 8080,
    "protocol": "tcp", "node_id": 3, "node_name": "node-a", "address": "10.0.0.3",
    "host_port": 20001, "version": 3, "updated_at": "2026-01-05T09:01:00Z", "placement_id": 11}],
  "migrations": [{"id": 5, "plan_id": 2, "deployment_id": 7, "service": "web.acme",
    "replica": 0, "from_node_id": 4, "from_node_name": "node-b", "to_node_id": 3,
    "to_node_name": "node-a", "state": "done", "reason": "node-b offline", "attempts": 1,
    "created_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-05T09:01:00Z",
    "finished_at": "2026-01-05T09:01:00Z"}]})";

const char* kPlan = R"({"id": 4, "node_id": 3, "node_name": "node-a", "organization_id": 2,
  "organization": "acme", "trigger": "offline", "policy": "manual", "state": "executing",
  "reason": "node-a offline for 60 s", "created_at": "2026-01-05T09:00:00Z",
  "decided_by": "ops", "decided_at": "2026-01-05T09:02:00Z", "decision_note": null,
  "finished_at": null, "summary": {}, "migrations": [{"id": 9, "plan_id": 4,
  "deployment_id": 7, "service": "web.acme", "replica": 1, "from_node_id": 3,
  "from_node_name": "node-a", "to_node_id": null, "to_node_name": null,
  "state": "awaiting_approval", "reason": "node-a offline", "attempts": 0,
  "created_at": "2026-01-05T09:00:00Z", "updated_at": "2026-01-05T09:00:00Z",
  "finished_at": null, "steps": [{"at": "2026-01-05T09:00:00Z", "step": "planned",
  "detail": "node-a offline"}]}]})";

const char* kOrgs = R"({"items": [{"id": 2, "name": "acme", "display_name": "Acme",
  "migration_policy": "manual", "deployments": 1, "members": [{"user_id": 5,
  "username": "ops", "role": "owner"}], "created_at": "x", "updated_at": "x"}],
  "total": 1, "limit": 1000, "offset": 0})";

std::string page_of(const std::string& item, int total = 1) {
  return R"({"items": [)" + item + R"(], "total": )" + std::to_string(total) +
         R"(, "limit": 100, "offset": 0})";
}

}  // namespace

TEST_CASE("client deployments: the detail is parsed with its placements, routes and nulls") {
  auto t =
      std::make_shared<FakeTransport>([](const client::HttpRequest&) { return ok(kDeployment); });
  client::Client c(fake_options(t));
  auto d = c.deployments().get(7);
  CHECK(t->requests[0].target == "/api/deployments/7");
  CHECK(d.deployment.service == "web.acme");
  CHECK(d.deployment.command == std::vector<std::string>{"httpd", "-f"});
  CHECK(d.deployment.env.at("GREETING") == "hi");
  REQUIRE(d.deployment.ports.size() == 2);
  CHECK(d.deployment.ports[1].container_port == 53);
  CHECK(d.deployment.ports[1].protocol == "udp");
  CHECK(d.deployment.cpu_cores == Approx(0.5));
  CHECK(d.deployment.memory_mb == 256);
  CHECK_FALSE(d.deployment.anti_affinity_key.has_value());
  CHECK(d.deployment.labels.at("tier") == "front");
  REQUIRE(d.placements.size() == 2);
  CHECK(d.placements[0].node_name == "node-a");
  CHECK_FALSE(d.placements[1].node_id.has_value());
  CHECK(d.placements[1].reason == "no node has 4 GiB free in pool default");
  REQUIRE(d.routes.size() == 1);
  CHECK(d.routes[0].host_port == 20001);
  CHECK(d.routes[0].version == 3);
  REQUIRE(d.migrations.size() == 1);
  CHECK(d.migrations[0].from_node_name == "node-b");
  CHECK(d.migrations[0].steps.empty());
}

TEST_CASE("client deployments: a wrong type is a ProtocolError naming the field") {
  json bad = json::parse(kDeployment);
  bad["replicas"] = "2";
  auto t =
      std::make_shared<FakeTransport>([&](const client::HttpRequest&) { return ok(bad.dump()); });
  client::Client c(fake_options(t));
  try {
    c.deployments().get(7);
    FAIL("no error");
  } catch (const client::ProtocolError& e) {
    CHECK(std::string(e.what()).find("'replicas'") != std::string::npos);
  }
  bad = json::parse(kDeployment);
  bad["env"] = {{"A", 1}};
  CHECK_THROWS_AS(c.deployments().get(7), client::ProtocolError);
}

TEST_CASE("client deployments: create, change, routes and the route file send what they say") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest& r) {
    if (r.target.rfind("/api/routes/file", 0) == 0) return ok("backend web.acme_8080\n");
    if (r.target.rfind("/api/routes", 0) == 0)
      return ok(R"({"items": [{"service": "web.acme", "deployment_id": 7, "replica": 0,
        "container_port": 8080, "protocol": "tcp", "node_id": null, "node_name": null,
        "address": "10.0.0.3", "host_port": 20001, "version": 1, "updated_at": "x"}]})");
    return ok(kDeployment, r.method == "POST" ? 201 : 200);
  });
  client::Client c(fake_options(t));
  c.deployments().create({.organization_id = 2,
                          .name = "web",
                          .image = "nginx:1.25",
                          .command = {"httpd", "-f"},
                          .env = {{"GREETING", "hi"}},
                          .ports = {{.container_port = 53, .protocol = "udp"}},
                          .memory_mb = 256,
                          .replicas = 2,
                          .anti_affinity_key = "web"});
  const json sent = json::parse(t->requests[0].body);
  CHECK(sent == json::parse(R"({"organization_id": 2, "name": "web", "image": "nginx:1.25",
      "command": ["httpd", "-f"], "env": {"GREETING": "hi"},
      "ports": [{"container_port": 53, "protocol": "udp"}], "resources": {"memory_mb": 256},
      "replicas": 2, "anti_affinity_key": "web"})"));

  c.deployments().change(7, {.replicas = 0, .anti_affinity_key = ""});
  CHECK(t->requests[1].method == "PATCH");
  CHECK(json::parse(t->requests[1].body) == json{{"replicas", 0}, {"anti_affinity_key", ""}});

  auto routes = c.deployments().routes(7);
  CHECK(t->requests[2].target == "/api/routes?deployment_id=7");
  REQUIRE(routes.size() == 1);
  CHECK_FALSE(routes[0].node_id.has_value());
  CHECK(c.deployments().route_file(client::RouteFileFormat::kHaproxy) == "backend web.acme_8080\n");
  CHECK(t->requests[3].target == "/api/routes/file?format=haproxy");
}

TEST_CASE("client migrations: plans with their migrations and steps, and approve sends the note") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest& r) {
    if (r.target.rfind("/api/migration-plans?", 0) == 0) return ok(page_of(kPlan, 3));
    return ok(kPlan);
  });
  client::Client c(fake_options(t));
  auto page = c.migrations().plans({.state = "awaiting_approval", .node_id = 3, .limit = 5});
  CHECK(t->requests[0].target == "/api/migration-plans?state=awaiting_approval&node_id=3&limit=5");
  CHECK(page.total == 3);
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].decided_by == "ops");
  CHECK_FALSE(page.items[0].decision_note.has_value());
  REQUIRE(page.items[0].migrations.size() == 1);
  CHECK_FALSE(page.items[0].migrations[0].to_node_id.has_value());
  REQUIRE(page.items[0].migrations[0].steps.size() == 1);
  CHECK(page.items[0].migrations[0].steps[0].step == "planned");

  c.migrations().approve(4, "go");
  CHECK(t->requests[1].method == "POST");
  CHECK(t->requests[1].target == "/api/migration-plans/4/approve");
  CHECK(json::parse(t->requests[1].body) == json{{"note", "go"}});
  c.migrations().reject(4);
  CHECK(t->requests[2].target == "/api/migration-plans/4/reject");
  CHECK(json::parse(t->requests[2].body) == json::object());
}

TEST_CASE("fleetctl api deployments: ports, assignments and route formats are parsed strictly") {
  CHECK(cli::parse_port("8080")->container_port == 8080);
  CHECK(cli::parse_port("8080")->protocol == "tcp");
  CHECK(cli::parse_port("53/udp")->protocol == "udp");
  for (const char* bad : {"", "0", "65536", "80/sctp", "http", "80/", "8o", "-1", "80/tcp/x"})
    CHECK_FALSE(cli::parse_port(bad).has_value());
  auto kv = cli::parse_assignment("URL=http://x/?a=b");
  REQUIRE(kv.has_value());
  CHECK(kv->first == "URL");
  CHECK(kv->second == "http://x/?a=b");
  CHECK(cli::parse_assignment("EMPTY=")->second.empty());
  CHECK_FALSE(cli::parse_assignment("=x").has_value());
  CHECK_FALSE(cli::parse_assignment("NOVALUE").has_value());
  CHECK(cli::parse_route_format("nginx") == client::RouteFileFormat::kNginx);
  CHECK_FALSE(cli::parse_route_format("caddy").has_value());
}

TEST_CASE("fleetctl api deployments create: a malformed flag exits 2 and sends nothing") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest& r) {
    if (r.target.rfind("/api/organizations", 0) == 0) return ok(kOrgs);
    return ok(kDeployment, 201);
  });
  client::Client c(fake_options(t));
  std::ostringstream out, err;
  cli::ApiDeploymentCreateOptions o{.org = "acme", .name = "web", .image = "nginx:1.25"};
  o.ports = {"8080", "53/sctp"};
  CHECK(cli::api_deployment_create(c, o, out, err) == 2);
  CHECK(err.str().find("--port") != std::string::npos);
  o.ports = {"8080"};
  o.env = {"NOEQUALS"};
  CHECK(cli::api_deployment_create(c, o, out, err) == 2);
  CHECK(err.str().find("--env must be KEY=value") != std::string::npos);
  o.env = {"A=1"};
  o.labels = {"=x"};
  CHECK(cli::api_deployment_create(c, o, out, err) == 2);
  CHECK(t->requests.empty());

  // Well formed: the organisation's name is looked up, then the deployment created.
  o.labels = {"tier=front"};
  o.replicas = 2;
  CHECK(cli::api_deployment_create(c, o, out, err) == 0);
  REQUIRE(t->requests.size() == 2);
  CHECK(t->requests[0].target == "/api/organizations?q=acme&limit=1000");
  const json sent = json::parse(t->requests[1].body);
  CHECK(sent["organization_id"] == 2);
  CHECK(sent["ports"] == json::parse(R"([{"container_port": 8080, "protocol": "tcp"}])"));
  CHECK(sent["env"] == json{{"A", "1"}});
  CHECK(sent["labels"] == json{{"tier", "front"}});
  CHECK(sent["replicas"] == 2);
  CHECK(out.str().find("deployment 7 (web.acme) created") != std::string::npos);
}

TEST_CASE("fleetctl api orgs, routes, plans: usage errors exit 2 before any request") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest& r) {
    if (r.target.rfind("/api/organizations", 0) == 0) return ok(kOrgs);
    return ok(R"({"error": {"code": "not_found", "message": "no"}})", 404);
  });
  client::Client c(fake_options(t));
  std::ostringstream out, err;
  CHECK(cli::api_org_set_policy(c, "acme", "sometimes", out, err) == 2);
  CHECK(cli::api_org_add_member(c, "acme", 5, "boss", out, err) == 2);
  CHECK(cli::api_routes(c, std::nullopt, "caddy", out, err) == 2);
  CHECK(cli::api_routes(c, 7, "nginx", out, err) == 2);
  CHECK(t->requests.empty());
  // An organisation named by a name it does not have.
  CHECK_THROWS_AS(cli::resolve_organization(c, "nobody"), client::NotFoundError);
  CHECK(cli::resolve_organization(c, "acme") == 2);
  CHECK(cli::resolve_organization(c, "42") == 42);
}

TEST_CASE("fleetctl api deployments list and plans show print tables") {
  auto t = std::make_shared<FakeTransport>([](const client::HttpRequest& r) {
    if (r.target.rfind("/api/deployments", 0) == 0) {
      json d = json::parse(kDeployment);
      return ok(R"({"items": [)" + d.dump() + R"(], "total": 3, "limit": 1, "offset": 0})");
    }
    return ok(kPlan);
  });
  client::Client c(fake_options(t));
  std::ostringstream table;
  CHECK(cli::api_deployments_list(c, {.list = {.limit = 1}, .state = "active"}, table) == 0);
  CHECK(t->requests[0].target == "/api/deployments?state=active&limit=1");
  CHECK(table.str().find("web.acme") != std::string::npos);
  CHECK(table.str().find("--offset 1") != std::string::npos);  // told there is more

  std::ostringstream plan;
  CHECK(cli::api_plan_show(c, 4, false, plan) == 0);
  CHECK(plan.str().find("migration plan 4: node node-a, organization acme (executing)") !=
        std::string::npos);
  CHECK(plan.str().find("decided by ops") != std::string::npos);
  CHECK(plan.str().find("awaiting_approval") != std::string::npos);
}
