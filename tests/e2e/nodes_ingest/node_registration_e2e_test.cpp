// Node registration with a registration token (issue 13): one use spent per registration in the
// transaction that creates the node; used-up, expired, revoked or malformed tokens refused with
// nothing stored; the same machine_id again is the same node with a new credential.
#include <catch2/catch.hpp>

#include "node_agent_fixture.h"

using namespace fleet::test;
using nlohmann::json;

TEST_CASE("registration creates a pending node worker, spends one token use and is audited",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const std::string token = insert_registration_token(gw.db);
  ApiAnswer a = gw.request("POST", "/api/nodes/register", registration_body(token).dump());
  REQUIRE(a.status == 201);
  const auto id = a.body["node_id"].get<std::int64_t>();
  CHECK(a.body["name"] == "host-a");
  CHECK(a.body["heartbeat_interval_s"] == 30);
  CHECK(a.body["command_poll_s"] == 5);
  const std::string credential = a.body["credential"];
  CHECK(fleet::auth::node_credential_worker(credential) == id);
  const std::string where = " WHERE id = " + std::to_string(id);
  CHECK(gw.db.scalar("SELECT kind || ' ' || status || ' ' || site || ' ' || host(ip) || ' ' || "
                     "(labels->>'rack') FROM workers" +
                     where) == "node pending site-a 127.0.0.1 r1");
  CHECK(gw.db.scalar("SELECT cpu_cores || ' ' || memory_mb || ' ' || disk_gb || ' ' || engine || "
                     "' ' || array_length(addresses, 1) FROM nodes WHERE worker_id = " +
                     std::to_string(id)) == "4 8192 100.5 Docker 2");
  // Only the hash is stored.
  CHECK(gw.db.scalar("SELECT credential_hash FROM nodes WHERE worker_id = " + std::to_string(id)) ==
        fleet::auth::credential_hash(credential));
  CHECK(gw.db.scalar("SELECT uses FROM registration_tokens") == "1");
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/nodes/register' AND "
                    "target = 'node:" +
                    std::to_string(id) + "' AND status = 201") == 1);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE details::text LIKE '%fwn_%'") == 0);

  // The same host name again is another node, named apart.
  ApiAnswer b = gw.request("POST", "/api/nodes/register",
                           registration_body(insert_registration_token(gw.db)).dump());
  REQUIRE(b.status == 201);
  CHECK(b.body["name"] == "host-a-2");
}

TEST_CASE("a used-up, expired, revoked or malformed registration token is refused, nothing stored",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const std::string once = insert_registration_token(gw.db);
  REQUIRE(gw.request("POST", "/api/nodes/register", registration_body(once, "one").dump()).status ==
          201);
  struct Case {
    const char* name;
    std::string token;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"used twice with max_uses 1", once, "used up"},
      {"expired", insert_registration_token(gw.db, "", "now() - interval '1 second'"), "expired"},
      {"revoked", insert_registration_token(gw.db, "revoked_at = now()"), "revoked"},
      {"unknown", fleet::auth::generate_registration_token().token, "unknown"},
      {"malformed", "fwr_short", "malformed"},
  };
  const std::string with_tokens = table_fingerprint(gw.db);
  for (const Case& c : cases) {
    INFO(c.name);
    ApiAnswer a =
        gw.request("POST", "/api/nodes/register", registration_body(c.token, "two").dump());
    CHECK(a.status == 401);
    CHECK_THAT(a.body["error"]["message"].get<std::string>(), Catch::Matchers::Contains(c.reason));
    CHECK(table_fingerprint(gw.db) == with_tokens);
    CHECK(gw.db.count("SELECT 1 FROM workers WHERE name = 'two'") == 0);
  }
  CHECK(gw.db.scalar("SELECT uses FROM registration_tokens ORDER BY id LIMIT 1") == "1");
}

TEST_CASE("a token with max_uses 2 registers two nodes and then no more", "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const std::string token = insert_registration_token(gw.db, "max_uses = 2");
  CHECK(gw.request("POST", "/api/nodes/register", registration_body(token, "a").dump()).status ==
        201);
  CHECK(gw.request("POST", "/api/nodes/register", registration_body(token, "b").dump()).status ==
        201);
  CHECK(gw.request("POST", "/api/nodes/register", registration_body(token, "c").dump()).status ==
        401);
  CHECK(gw.db.count("SELECT 1 FROM nodes") == 2);
}

TEST_CASE("registering the same machine_id again is the same node with a new credential",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const std::string machine = "0123456789abcdef0123456789abcdef";
  const RegisteredNode first = register_node(gw, "host-m", machine);
  REQUIRE(as_node(gw, first.credential, "POST", path_of(first.id, "/heartbeat"),
                  heartbeat_body().dump())
              .status == 200);
  const RegisteredNode again = register_node(gw, "host-m", machine);
  CHECK(again.id == first.id);
  CHECK(again.credential != first.credential);
  CHECK(gw.db.count("SELECT 1 FROM nodes") == 1);
  // The old credential stopped working at once (this replica forgot its cached verification).
  CHECK(as_node(gw, first.credential, "POST", path_of(first.id, "/heartbeat"),
                heartbeat_body().dump())
            .status == 401);
  CHECK(as_node(gw, again.credential, "POST", path_of(again.id, "/heartbeat"),
                heartbeat_body().dump())
            .status == 200);
  CHECK(gw.db.scalar("SELECT sum(uses) FROM registration_tokens") == "2");
}

TEST_CASE("registration bodies are validated, naming the field, and nothing is stored",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const std::string token = insert_registration_token(gw.db);
  const std::string before = table_fingerprint(gw.db);
  struct Case {
    const char* name;
    std::function<void(json&)> change;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"hostname missing", [](json& b) { b.erase("hostname"); }, "hostname"},
      {"hostname with a space", [](json& b) { b["hostname"] = "a b"; }, "hostname"},
      {"hostname too long", [](json& b) { b["hostname"] = std::string(300, 'h'); }, "hostname"},
      {"hostname with NUL", [](json& b) { b["hostname"] = std::string("a\0b", 3); }, "hostname"},
      {"machine_id not hex", [](json& b) { b["machine_id"] = std::string(32, 'z'); }, "machine_id"},
      {"address not an IP",
       [](json& b) {
         b["addresses"] = {"10.0.0.1", "nope"};
       },
       "addresses[1]"},
      {"too many addresses",
       [](json& b) { b["addresses"] = json(std::vector<std::string>(65, "10.0.0.1")); },
       "addresses"},
      {"capacity missing", [](json& b) { b.erase("capacity"); }, "capacity"},
      {"cpu_cores zero", [](json& b) { b["capacity"]["cpu_cores"] = 0; }, "capacity.cpu_cores"},
      {"memory a string", [](json& b) { b["capacity"]["memory_mb"] = "8G"; }, "capacity.memory_mb"},
      {"disk negative", [](json& b) { b["capacity"]["disk_gb"] = -1; }, "capacity.disk_gb"},
      {"unknown field", [](json& b) { b["color"] = "red"; }, "color"},
      {"os too long", [](json& b) { b["os"] = std::string(201, 'o'); }, "os"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    json body = registration_body(token);
    c.change(body);
    ApiAnswer a = gw.request("POST", "/api/nodes/register", body.dump());
    CHECK(a.status == 400);
    CHECK(a.body["error"]["field"] == c.field);
    CHECK(table_fingerprint(gw.db) == before);
    CHECK(gw.db.scalar("SELECT uses FROM registration_tokens") == "0");
  }
}

TEST_CASE("a node reports changed host facts: only what changed is written, and audited",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const RegisteredNode node = register_node(gw, "facts-host");
  const RegisteredNode other = register_node(gw, "other-host");
  const std::string id = std::to_string(node.id);
  json facts = registration_body("");
  facts.erase("token");
  facts["hostname"] = "facts-host";

  // The same facts as at registration: nothing changed, nothing written.
  const std::string xmin = gw.db.scalar("SELECT xmin FROM nodes WHERE worker_id = " + id);
  ApiAnswer same = as_node(gw, node.credential, "PUT", path_of(node.id, "/facts"), facts.dump());
  REQUIRE(same.status == 200);
  CHECK(same.body["changed"] == json::array());
  CHECK(gw.db.scalar("SELECT xmin FROM nodes WHERE worker_id = " + id) == xmin);

  // A new address (DHCP), more memory, an engine upgrade.
  facts["addresses"] = {"127.0.0.9"};
  facts["capacity"]["memory_mb"] = 16384;
  facts["engine_version"] = "25.0";
  ApiAnswer moved = as_node(gw, node.credential, "PUT", path_of(node.id, "/facts"), facts.dump());
  REQUIRE(moved.status == 200);
  CHECK(moved.body["changed"] == json({"addresses", "memory_mb", "engine_version"}));
  CHECK(gw.db.scalar("SELECT host(ip) FROM workers WHERE id = " + id) == "127.0.0.9");
  CHECK(gw.db.scalar("SELECT array_to_string(addresses, ',') || ' ' || memory_mb || ' ' || "
                     "engine_version || ' ' || cpu_cores FROM nodes WHERE worker_id = " +
                     id) == "127.0.0.9 16384 25.0 4");
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'PUT /api/nodes/{id}/facts' AND "
                    "target = 'node:" +
                    id + "' AND status = 200 AND details->'changed' ? 'memory_mb'") == 1);

  // Only its own node, only as a node; bad bodies change nothing (but are audited).
  auto state = [&] {
    return gw.db.scalar(
        "SELECT md5(string_agg(n::text || w::text, '' ORDER BY w.id)) FROM nodes "
        "n JOIN workers w ON w.id = n.worker_id");
  };
  const std::string before = state();
  CHECK(as_node(gw, node.credential, "PUT", path_of(other.id, "/facts"), facts.dump()).status ==
        403);
  CHECK(gw.as("admin", "PUT", path_of(node.id, "/facts"), facts.dump()).status == 403);
  json with_token = facts;
  with_token["token"] = "fwr_x";
  ApiAnswer refused =
      as_node(gw, node.credential, "PUT", path_of(node.id, "/facts"), with_token.dump());
  CHECK(refused.status == 400);
  CHECK(refused.body["error"]["field"] == "token");
  json machine = facts;
  machine["machine_id"] = std::string(32, 'a');
  CHECK(as_node(gw, node.credential, "PUT", path_of(node.id, "/facts"), machine.dump()).status ==
        400);
  json bad_address = facts;
  bad_address["addresses"] = {"127.0.0.9", "not-an-ip"};
  ApiAnswer bad =
      as_node(gw, node.credential, "PUT", path_of(node.id, "/facts"), bad_address.dump());
  CHECK(bad.status == 400);
  CHECK(bad.body["error"]["field"] == "addresses[1]");
  CHECK(state() == before);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'PUT /api/nodes/{id}/facts' AND "
                    "status = 400") == 3);

  // A revoked node cannot change anything.
  gw.db.exec("UPDATE nodes SET credential_revoked_at = now() WHERE worker_id = " + id);
  facts["capacity"]["memory_mb"] = 32768;
  CHECK(as_node(gw, node.credential, "PUT", path_of(node.id, "/facts"), facts.dump()).status ==
        401);
  CHECK(gw.db.scalar("SELECT memory_mb FROM nodes WHERE worker_id = " + id) == "16384");
}
