// Organisations, deployments, routes and migration plans through the client library and
// `fleetctl api orgs | deployments | routes | plans | migrations`, against a real api-gateway and
// PostgreSQL (issue 14). The planner's rows (placements, routes, plans) are inserted by SQL.
#include <catch2/catch.hpp>

#include "client_seed.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

RunResult fleetctl(const GatewayFixture& gw, const std::vector<std::string>& args,
                   const std::string& user) {
  Process::Options o;
  o.env = {{"FLEET_API_URL", "http://127.0.0.1:" + std::to_string(gw.port)},
           {"FLEET_API_USER", user},
           {"FLEET_API_PASSWORD", GatewayFixture::kPassword}};
  o.unset_env = {"DATABASE_URL",  "POSTGRES_SERVER",   "POSTGRES_DB",
                 "POSTGRES_USER", "POSTGRES_PASSWORD", "FLEET_API_KEY"};
  return run(binary("fleetctl"), args, o);
}

}  // namespace

TEST_CASE("fleetctl api: an organisation, a deployment, its route file and a plan approved",
          "[client][deployments][e2e]") {
  GatewayFixture gw;
  gw.db.exec("INSERT INTO workers (id, kind, name, status) VALUES (1, 'node', 'node-a', 'online')");
  gw.db.exec(
      "INSERT INTO nodes (worker_id, hostname, addresses, cpu_cores, memory_mb, disk_gb, "
      "credential_hash) VALUES (1, 'node-a.lan', '{127.0.20.1}', 4, 8000, 100, repeat('a', 64))");

  // Organisations: admins only.
  auto denied = fleetctl(gw, {"api", "orgs", "create", "acme"}, "operator");
  CHECK(denied.code == 1);
  CHECK_THAT(denied.err, Contains("admin"));
  auto org = fleetctl(gw, {"api", "orgs", "create", "acme", "--policy", "manual"}, "admin");
  INFO(org.err);
  REQUIRE(org.code == 0);
  CHECK_THAT(org.out, Contains("migration policy manual"));
  REQUIRE(fleetctl(gw, {"api", "orgs", "set-policy", "acme", "none"}, "admin").code == 0);
  CHECK(gw.db.scalar("SELECT migration_policy FROM organizations") == "none");
  const std::string ops = gw.db.scalar("SELECT id FROM users WHERE username = 'operator'");
  REQUIRE(fleetctl(gw, {"api", "orgs", "add-member", "acme", ops}, "admin").code == 0);
  auto orgs = fleetctl(gw, {"api", "orgs", "list"}, "viewer");
  CHECK_THAT(orgs.out, Contains("operator*"));

  // Deployments: a malformed flag is a usage error with nothing sent; the API's 400 names the
  // field.
  auto usage = fleetctl(gw,
                        {"api", "deployments", "create", "--org", "acme", "--name", "web",
                         "--image", "nginx", "--port", "80/sctp"},
                        "operator");
  CHECK(usage.code == 2);
  CHECK_THAT(usage.err, Contains("--port"));
  auto refused = fleetctl(
      gw, {"api", "deployments", "create", "--org", "acme", "--name", "Web", "--image", "nginx"},
      "operator");
  CHECK(refused.code == 1);
  CHECK_THAT(refused.err, Contains("field: name"));
  CHECK(gw.db.count("deployments") == 0);
  auto created = fleetctl(
      gw, {"api",     "deployments",  "create",     "--org", "acme",        "--name", "web",
           "--image", "busybox:1.36", "--cmd",      "httpd", "--cmd=-f",    "-p",     "8080",
           "-e",      "GREETING=hi",  "--replicas", "2",     "--memory-mb", "128"},
      "operator");
  INFO(created.err);
  REQUIRE(created.code == 0);
  CHECK_THAT(created.out, Contains("(web.acme) created: 2 replicas"));
  const std::string web = gw.db.scalar("SELECT id FROM deployments");
  CHECK(gw.db.scalar("SELECT array_to_string(command, ' ') || ' ' || memory_mb || ' ' || "
                     "(env->>'GREETING') FROM deployments") == "httpd -f 128 hi");

  // The planner's side: replica 0 running on node-a with its route.
  gw.db.exec(
      "INSERT INTO placements (id, deployment_id, replica, node_id, container_name, state, "
      "cpu_cores, memory_mb, disk_gb, running_since) VALUES (40, " +
      web + ", 0, 1, 'fw-" + web + "-0-40', 'running', 0.1, 128, 0, now())");
  gw.db.exec(
      "INSERT INTO routes (deployment_id, replica, container_port, placement_id, node_id, "
      "address, host_port) VALUES (" +
      web + ", 0, 8080, 40, 1, '127.0.20.1', 20001)");
  auto list = fleetctl(gw, {"api", "deployments", "list"}, "viewer");
  CHECK_THAT(list.out, Contains("web.acme"));
  auto show = fleetctl(gw, {"api", "deployments", "show", web}, "viewer");
  CHECK_THAT(show.out, Contains("fw-" + web + "-0-40"));
  CHECK_THAT(show.out, Contains("127.0.20.1:20001"));
  auto nginx = fleetctl(gw, {"api", "routes", "--format", "nginx"}, "viewer");
  REQUIRE(nginx.code == 0);
  CHECK_THAT(nginx.out, Contains("upstream web.acme_8080 {\n    server 127.0.20.1:20001;"));
  CHECK_THAT(fleetctl(gw, {"api", "routes"}, "viewer").out, Contains("127.0.20.1:20001"));
  REQUIRE(fleetctl(gw, {"api", "deployments", "scale", web, "3"}, "operator").code == 0);
  CHECK(gw.db.scalar("SELECT replicas FROM deployments") == "3");

  // A plan awaiting approval: approved once, the second time refused.
  gw.db.exec(
      "INSERT INTO migration_plans (id, node_id, organization_id, trigger, policy, state, "
      "reason, created_by) SELECT 3, 1, id, 'offline', 'manual', 'awaiting_approval', "
      "'node-a offline', 'planner' FROM organizations");
  gw.db.exec(
      "INSERT INTO migrations (plan_id, deployment_id, replica, from_node_id, state, "
      "reason) VALUES (3, " +
      web + ", 0, 1, 'awaiting_approval', 'node-a offline')");
  CHECK_THAT(fleetctl(gw, {"api", "plans", "list", "--state", "awaiting_approval"}, "viewer").out,
             Contains("node-a"));
  CHECK(fleetctl(gw, {"api", "plans", "approve", "3"}, "viewer").code == 1);
  auto approved = fleetctl(gw, {"api", "plans", "approve", "3", "--note", "go"}, "operator");
  INFO(approved.err);
  REQUIRE(approved.code == 0);
  CHECK_THAT(approved.out, Contains("is executing"));
  CHECK(gw.db.scalar("SELECT decided_by || ' ' || decision_note FROM migration_plans") ==
        "operator go");
  auto again = fleetctl(gw, {"api", "plans", "reject", "3"}, "operator");
  CHECK(again.code == 1);
  CHECK_THAT(again.err, Contains("not awaiting_approval"));
  CHECK_THAT(fleetctl(gw, {"api", "migrations", "list", "--plan", "3"}, "viewer").out,
             Contains("web.acme"));

  // Deleting: the planner takes it from there.
  auto deleted = fleetctl(gw, {"api", "deployments", "delete", web}, "operator");
  REQUIRE(deleted.code == 0);
  CHECK_THAT(deleted.out, Contains("is deleting"));
  CHECK(fleetctl(gw, {"api", "orgs", "delete", "acme"}, "admin").code == 1);
}
