// Container host nodes and registration tokens through the client library and `fleetctl api
// nodes`, against a real api-gateway and PostgreSQL (issue 13).
#include <catch2/catch.hpp>

#include <regex>

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

// Two nodes: 1 online with a heartbeat and a deployment container, 2 pending without one.
void seed_nodes(TestDatabase& db) {
  db.exec(
      "INSERT INTO workers (id, kind, name, status, site) VALUES "
      "(1, 'node', 'node-a', 'online', 'hall-1'), (2, 'node', 'node-b', 'pending', NULL)");
  db.exec("SELECT setval('workers_id_seq', 10)");
  db.exec(R"(INSERT INTO nodes (worker_id, hostname, addresses, pool, cpu_cores, memory_mb,
      disk_gb, credential_hash, cpu_percent, memory_percent, disk_percent, containers,
      containers_running, last_heartbeat_at, container_list) VALUES
      (1, 'node-a.lan', '{10.1.0.1}', 'gpu', 8, 16384, 200, repeat('a', 64), 40, 50, 60, 2, 1,
       now() - interval '5 seconds',
       '[{"id": "c1", "name": "web-1", "image": "nginx:1", "state": "running", "status": "Up",
          "labels": {"fleetward.deployment": "7"}}]'::jsonb),
      (2, 'node-b.lan', '{}', 'default', 2, 2048, 20, repeat('b', 64), NULL, NULL, NULL, NULL,
       NULL, NULL, '[]'::jsonb))");
}

}  // namespace

TEST_CASE("client e2e: nodes are listed, drained and removed, tokens made, listed and revoked",
          "[client][nodes][e2e]") {
  GatewayFixture gw;
  seed_nodes(gw.db);
  client::Client admin = login_client(gw, "admin");
  client::Client op = login_client(gw, "operator");
  client::Client viewer = login_client(gw, "viewer");

  auto page = viewer.nodes().page({.limit = 1});
  CHECK(page.total == 2);
  REQUIRE(page.items.size() == 1);
  CHECK(page.items[0].name == "node-a");
  CHECK(page.items[0].addresses == std::vector<std::string>{"10.1.0.1"});
  CHECK(page.items[0].memory_mb == 16384);
  CHECK(page.items[0].load_average == Approx(50));
  CHECK(viewer.nodes().all({.limit = 1}).size() == 2);
  CHECK(viewer.nodes().all({.pool = "gpu"}).size() == 1);
  auto b = viewer.nodes().get(2);
  CHECK_FALSE(b.cpu_percent.has_value());
  CHECK_FALSE(b.heartbeat_age_s.has_value());
  CHECK_THROWS_AS(viewer.nodes().get(99), client::NotFoundError);
  auto stats = viewer.nodes().stats();
  CHECK(stats.total == 2);
  CHECK(stats.by_status["online"] == 1);
  CHECK(stats.capacity_cpu_cores == 10);
  CHECK(stats.used_cpu_cores == Approx(8 * 0.4));
  CHECK(stats.average_overall == Approx(50));

  CHECK_THROWS_AS(viewer.nodes().drain(1), client::PermissionError);
  auto drained = op.nodes().drain(1, "disk swap");
  CHECK(drained.status == "draining");
  CHECK(drained.status_reason == "drained by operator: disk swap");
  CHECK_THROWS_AS(op.nodes().drain(1), client::ConflictError);
  auto history = viewer.nodes().history(1);
  REQUIRE(history.size() == 1);
  CHECK(history[0].to == "draining");
  CHECK(op.nodes().undrain(1).status == "pending");

  CHECK_THROWS_AS(op.nodes().remove(1), client::PermissionError);
  try {
    admin.nodes().remove(1);
    FAIL("a node with a deployment container was removed without force");
  } catch (const client::ConflictError& e) {
    CHECK(e.field() == "force");
  }
  auto removed = admin.nodes().remove(1, client::NodeRemoval::kForce);
  CHECK(removed.status == "removed");
  CHECK(removed.credential_revoked);
  CHECK(admin.nodes().revoke_credential(2).credential_revoked);

  CHECK_THROWS_AS(op.nodes().create_token({}), client::PermissionError);
  auto t = admin.nodes().create_token(
      {.description = "rack 9", .pool = "gpu", .labels = {{"rack", "9"}}, .max_uses = 3});
  REQUIRE(t.token.has_value());
  CHECK(t.max_uses == 3);
  CHECK(t.state == "active");
  CHECK_THAT(*t.install_command, Contains(*t.token));
  try {
    admin.nodes().create_token({.expires_in_hours = 1000});
    FAIL("expires_in_hours 1000 was accepted");
  } catch (const client::ValidationError& e) {
    CHECK(e.field() == "expires_in_hours");
  }
  auto tokens = admin.nodes().tokens();
  REQUIRE(tokens.size() == 1);
  CHECK_FALSE(tokens[0].token.has_value());
  CHECK(gw.db.scalar("SELECT labels->>'rack' FROM registration_tokens") == "9");
  CHECK(admin.nodes().revoke_token(t.id).state == "revoked");
}

TEST_CASE("fleetctl api nodes: list, show, history, drain, stats, remove and tokens",
          "[client][nodes][e2e]") {
  GatewayFixture gw;
  seed_nodes(gw.db);

  auto list = fleetctl(gw, {"api", "nodes", "list"}, "viewer");
  REQUIRE(list.code == 0);
  CHECK_THAT(list.out, Contains("node-a"));
  CHECK_THAT(list.out, Contains("online"));
  CHECK_THAT(list.out, Contains("1/2"));    // containers running / all
  CHECK_THAT(list.out, Contains("never"));  // node-b has no heartbeat
  auto paged = fleetctl(gw, {"api", "nodes", "list", "--limit", "1"}, "viewer");
  CHECK_THAT(paged.out, Contains("(1 of 2 shown; --offset 1"));
  auto filtered = fleetctl(gw, {"api", "nodes", "list", "--status", "pending", "--json"}, "viewer");
  REQUIRE(filtered.code == 0);
  auto items = nlohmann::json::parse(filtered.out);
  REQUIRE(items.size() == 1);
  CHECK(items[0]["name"] == "node-b");
  auto bad = fleetctl(gw, {"api", "nodes", "list", "--status", "asleep"}, "viewer");
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Contains("status"));

  auto show = fleetctl(gw, {"api", "nodes", "show", "1"}, "viewer");
  REQUIRE(show.code == 0);
  CHECK_THAT(show.out, Contains("node 1: node-a (online)"));
  CHECK_THAT(show.out, Contains("capacity: 8 cpu, 16 GiB, 200 GB"));
  CHECK_THAT(show.out, Contains("web-1"));
  CHECK(nlohmann::json::parse(
            fleetctl(gw, {"api", "nodes", "show", "1", "--json"}, "viewer").out)["hostname"] ==
        "node-a.lan");

  auto denied = fleetctl(gw, {"api", "nodes", "drain", "1"}, "viewer");
  CHECK(denied.code == 1);
  CHECK_THAT(denied.err, Contains("HTTP 403"));
  auto drain = fleetctl(gw, {"api", "nodes", "drain", "1", "--reason", "bios update"}, "operator");
  REQUIRE(drain.code == 0);
  CHECK_THAT(drain.out, Contains("node 1 (node-a) is draining"));
  CHECK(gw.db.scalar("SELECT status_reason FROM workers WHERE id = 1") ==
        "drained by operator: bios update");
  auto history = fleetctl(gw, {"api", "nodes", "history", "1"}, "viewer");
  REQUIRE(history.code == 0);
  CHECK_THAT(history.out, Contains("drained by operator: bios update"));
  CHECK_THAT(history.out, Contains("api-gateway"));
  REQUIRE(fleetctl(gw, {"api", "nodes", "undrain", "1"}, "operator").code == 0);
  CHECK(gw.db.scalar("SELECT status FROM workers WHERE id = 1") == "pending");

  auto stats = fleetctl(gw, {"api", "nodes", "stats"}, "viewer");
  REQUIRE(stats.code == 0);
  CHECK_THAT(stats.out, Contains("nodes: 2, 2 pending"));
  auto stats_json =
      nlohmann::json::parse(fleetctl(gw, {"api", "nodes", "stats", "--json"}, "viewer").out);
  CHECK(stats_json["capacity"]["cpu_cores"] == 10);

  auto refused = fleetctl(gw, {"api", "nodes", "remove", "1"}, "admin");
  CHECK(refused.code == 1);
  CHECK_THAT(refused.err, Contains("force"));
  CHECK(gw.db.scalar("SELECT status FROM workers WHERE id = 1") == "pending");
  auto removed = fleetctl(gw, {"api", "nodes", "remove", "1", "--force"}, "admin");
  REQUIRE(removed.code == 0);
  CHECK(gw.db.scalar("SELECT status FROM workers WHERE id = 1") == "removed");
  REQUIRE(fleetctl(gw, {"api", "nodes", "revoke", "2"}, "admin").code == 0);
  CHECK(gw.db.scalar("SELECT credential_revoked_at IS NOT NULL FROM nodes WHERE worker_id = 2") ==
        "t");

  auto created = fleetctl(
      gw,
      {"api", "nodes", "tokens", "create", "--max-uses", "5", "--expires-in-hours", "2", "--site",
       "hall-2", "--pool", "edge", "--description", "edge boxes", "--label", "tier=1"},
      "admin");
  REQUIRE(created.code == 0);
  std::smatch m;
  const std::regex token_re("fwr_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}");
  REQUIRE(std::regex_search(created.out, m, token_re));
  const std::string token = m.str();
  CHECK_THAT(created.out, Contains("curl -fsSL 'http://127.0.0.1:" + std::to_string(gw.port) +
                                   "/api/nodes/install-script?token=" + token + "' | sudo bash"));
  CHECK(gw.db.scalar("SELECT max_uses || ' ' || site || ' ' || pool || ' ' || description || ' ' "
                     "|| (labels->>'tier') FROM registration_tokens") ==
        "5 hall-2 edge edge boxes 1");
  auto bad_label = fleetctl(gw, {"api", "nodes", "tokens", "create", "--label", "tier"}, "admin");
  CHECK(bad_label.code == 2);
  CHECK(gw.db.count("registration_tokens") == 1);
  CHECK(fleetctl(gw, {"api", "nodes", "tokens", "create"}, "operator").code == 1);

  auto tokens = fleetctl(gw, {"api", "nodes", "tokens", "list"}, "admin");
  REQUIRE(tokens.code == 0);
  CHECK_THAT(tokens.out, Contains("active"));
  CHECK_THAT(tokens.out, Contains("0/5"));
  CHECK(tokens.out.find(token.substr(17)) == std::string::npos);
  const std::string id = gw.db.scalar("SELECT id FROM registration_tokens");
  auto revoked = fleetctl(gw, {"api", "nodes", "tokens", "revoke", id}, "admin");
  REQUIRE(revoked.code == 0);
  CHECK_THAT(revoked.out, Contains("revoked"));
  CHECK_THAT(fleetctl(gw, {"api", "nodes", "tokens", "list"}, "admin").out, Contains("revoked"));
}
