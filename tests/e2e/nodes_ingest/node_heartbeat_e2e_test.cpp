// Node heartbeats and credentials (issue 13): stored in nodes, workers, metrics_latest and
// readings after the batch commits; not audited; a node credential opens only its own node's
// routes; revocation refuses it at once on every replica (NOTIFY); rotation; bad input refused
// naming the field with nothing changed.
#include <catch2/catch.hpp>

#include "node_agent_fixture.h"

using namespace fleet::test;
using nlohmann::json;

namespace {

std::string node_state(GatewayFixture& gw, std::int64_t id) {
  return gw.db.scalar(
      "SELECT concat_ws('|', n.heartbeats, n.heartbeat_seq, n.cpu_percent, n.last_heartbeat_at, "
      "n.container_list, w.last_seen_at, (SELECT count(*) FROM metrics_latest m WHERE m.worker_id "
      "= n.worker_id), (SELECT count(*) FROM readings r WHERE r.worker_id = n.worker_id)) FROM "
      "nodes n JOIN workers w ON w.id = n.worker_id WHERE n.worker_id = " +
      std::to_string(id));
}

}  // namespace

TEST_CASE("a heartbeat is stored in nodes, workers, metrics_latest and readings, not audited",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const RegisteredNode node = register_node(gw, "hb");
  const std::string id = std::to_string(node.id);
  const auto audit_rows = gw.db.count("audit_log");
  ApiAnswer a =
      as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), heartbeat_body().dump());
  REQUIRE(a.status == 200);
  CHECK(a.body["heartbeat_interval_s"] == 30);
  CHECK(a.body["commands_pending"] == 0);
  CHECK(a.body["received_at"].get<std::string>().size() > 20);
  CHECK(
      gw.db.scalar("SELECT concat_ws(' ', heartbeats, heartbeat_seq, cpu_percent, memory_percent, "
                   "disk_percent, containers, containers_running, jsonb_array_length("
                   "container_list), container_list->0->>'image', over_limit_streak, "
                   "cardinality(over_limit), healthy_since IS NOT NULL, streak_since IS NOT "
                   "NULL, agent_sent_at = '2026-01-01T00:00:00Z') FROM nodes WHERE worker_id = " +
                   id) == "1 1 12.5 40 55.5 3 2 1 nginx:1.25 0 0 t t t");
  CHECK(gw.db.count("SELECT 1 FROM workers WHERE last_seen_at IS NOT NULL AND id = " + id) == 1);
  CHECK(gw.db.scalar("SELECT string_agg(metric || '=' || value, ',' ORDER BY metric) FROM "
                     "metrics_latest WHERE worker_id = " +
                     id) ==
        "containers=3,containers_running=2,cpu_percent=12.5,disk_percent=55.5,memory_percent=40");
  CHECK(gw.db.count("SELECT 1 FROM readings WHERE worker_id = " + id) == 5);
  CHECK(gw.db.count("audit_log") == audit_rows);

  // Over the CPU limit twice, then under it: the streak counts and resets.
  for (std::int64_t seq : {2, 3}) {
    REQUIRE(as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"),
                    heartbeat_body(95, seq).dump())
                .status == 200);
  }
  CHECK(gw.db.scalar("SELECT concat_ws(' ', heartbeats, over_limit_streak, over_limit::text, "
                     "healthy_since IS NULL) FROM nodes WHERE worker_id = " +
                     id) == "3 2 {cpu_percent} t");
  CHECK(gw.db.scalar("SELECT value FROM metrics_latest WHERE metric = 'cpu_percent' AND "
                     "worker_id = " +
                     id) == "95");
  // Readings at most once a minute per node (nodes.readings_min_interval).
  CHECK(gw.db.count("SELECT 1 FROM readings WHERE worker_id = " + id) == 5);
  REQUIRE(as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"),
                  heartbeat_body(10, 4).dump())
              .status == 200);
  CHECK(gw.db.scalar("SELECT concat_ws(' ', over_limit_streak, over_limit::text, healthy_since "
                     "IS NOT NULL) FROM nodes WHERE worker_id = " +
                     id) == "0 {} t");
}

TEST_CASE("readings_min_interval 0 writes readings on every heartbeat", "[gateway][nodes][e2e]") {
  GatewayFixture gw({"--set", "nodes.readings_min_interval=0"});
  const RegisteredNode node = register_node(gw, "every");
  for (std::int64_t seq : {1, 2}) {
    REQUIRE(as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"),
                    heartbeat_body(20, seq).dump())
                .status == 200);
  }
  CHECK(gw.db.count("SELECT 1 FROM readings WHERE worker_id = " + std::to_string(node.id)) == 10);
}

TEST_CASE("a node credential opens only its own node's routes", "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const RegisteredNode a = register_node(gw, "node-a");
  const RegisteredNode b = register_node(gw, "node-b");
  const std::string hb = heartbeat_body().dump();
  CHECK(as_node(gw, a.credential, "POST", path_of(b.id, "/heartbeat"), hb).status == 403);
  CHECK(as_node(gw, a.credential, "GET", path_of(b.id, "/commands")).status == 403);
  CHECK(as_node(gw, a.credential, "POST", path_of(b.id, "/credential/rotate")).status == 403);
  CHECK(as_node(gw, a.credential, "GET", "/api/workers").status == 403);
  CHECK(as_node(gw, a.credential, "GET", "/api/summary").status == 403);
  CHECK(as_node(gw, a.credential, "GET", path_of(a.id, "/commands")).status == 200);
  CHECK(gw.db.scalar("SELECT heartbeats FROM nodes WHERE worker_id = " + std::to_string(b.id)) ==
        "0");
  // Users cannot heartbeat for a node either, whatever their role.
  CHECK(gw.as("admin", "POST", path_of(a.id, "/heartbeat"), hb).status == 403);
  // A wrong secret for a real node, and a made-up credential.
  std::string wrong = a.credential;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  CHECK(as_node(gw, wrong, "POST", path_of(a.id, "/heartbeat"), hb).status == 401);
  CHECK(as_node(gw, fleet::auth::generate_node_credential(999).credential, "POST",
                path_of(999, "/heartbeat"), hb)
            .status == 401);
}

TEST_CASE("a revoked node credential is refused at once by every gateway sharing the database",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  // A second replica on the same database: only NOTIFY tells it about the revocation (its cache
  // of verified node credentials keeps entries for a minute).
  const int port2 = free_port();
  Process second(binary("api-gateway"),
                 {"--port", std::to_string(port2), "--interval", "1", "--set",
                  "gateway.token_secret=" + std::string(GatewayFixture::kTokenSecret), "--set",
                  "gateway.threads=4", "--set", "gateway.db_connections=2"},
                 worker_env(gw.db));
  REQUIRE(eventually([&] { return http_get(port2, "/ready").status == 200; },
                     std::chrono::seconds(20)));
  const RegisteredNode node = register_node(gw, "revoke-me");
  const std::string hb = heartbeat_body().dump();
  auto on_second = [&](const std::string& method, const std::string& path) {
    httplib::Client c("127.0.0.1", port2);
    const httplib::Headers h{{"Authorization", "Bearer " + node.credential}};
    auto r =
        method == "GET" ? c.Get(path.c_str(), h) : c.Post(path.c_str(), h, hb, "application/json");
    return r ? r->status : 0;
  };
  // Both replicas have verified (and cached) the credential.
  REQUIRE(as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), hb).status == 200);
  REQUIRE(on_second("POST", path_of(node.id, "/heartbeat")) == 200);
  REQUIRE(on_second("GET", path_of(node.id, "/commands")) == 200);
  // Revoked in the database (as the admin API or another replica does): the trigger notifies.
  gw.db.exec("UPDATE nodes SET credential_revoked_at = now() WHERE worker_id = " +
             std::to_string(node.id));
  const auto heartbeats = gw.db.scalar("SELECT heartbeats FROM nodes");
  // The command poll is authorised from the cache alone (no other check of the credential), so
  // its 401 comes from the notification dropping the entry, not from the cache's one-minute TTL.
  CHECK(eventually([&] { return on_second("GET", path_of(node.id, "/commands")) == 401; },
                   std::chrono::seconds(5)));
  CHECK(eventually(
      [&] {
        return as_node(gw, node.credential, "GET", path_of(node.id, "/commands")).status == 401;
      },
      std::chrono::seconds(5)));
  CHECK(on_second("POST", path_of(node.id, "/heartbeat")) == 401);
  CHECK(as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), hb).status == 401);
  CHECK(gw.db.scalar("SELECT heartbeats FROM nodes") == heartbeats);
}

TEST_CASE("rotating a node credential gives a new one and the previous one keeps working a while",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const RegisteredNode node = register_node(gw, "rotor");
  ApiAnswer r = as_node(gw, node.credential, "POST", path_of(node.id, "/credential/rotate"));
  REQUIRE(r.status == 200);
  const std::string fresh = r.body["credential"];
  CHECK(fresh != node.credential);
  CHECK(fleet::auth::node_credential_worker(fresh) == node.id);
  const std::string hb = heartbeat_body().dump();
  CHECK(as_node(gw, fresh, "POST", path_of(node.id, "/heartbeat"), hb).status == 200);
  CHECK(as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), hb).status == 200);
  CHECK(gw.db.count("SELECT 1 FROM nodes WHERE previous_valid_until > now() + interval '4 "
                    "minutes' AND previous_valid_until < now() + interval '6 minutes'") == 1);
  // Rotation is audited, without the credential.
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST "
                    "/api/nodes/{id}/credential/rotate' AND actor = 'node:" +
                    std::to_string(node.id) + "' AND status = 200") == 1);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE details::text LIKE '%fwn_%'") == 0);
  // Rotating again ends the first credential's grace: it is no longer the previous one.
  REQUIRE(as_node(gw, fresh, "POST", path_of(node.id, "/credential/rotate")).status == 200);
  CHECK(as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), hb).status == 401);
}

TEST_CASE("bad heartbeats are refused naming the field, and change nothing",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const RegisteredNode node = register_node(gw, "bad-input");
  REQUIRE(
      as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), heartbeat_body().dump())
          .status == 200);
  const std::string before = node_state(gw, node.id);
  struct Case {
    const char* name;
    std::function<void(json&)> change;
    const char* field;
  };
  json many = json::array();
  for (int i = 0; i < 501; ++i)
    many.push_back({{"id", std::to_string(i)}});
  const std::vector<Case> cases = {
      {"negative cpu", [](json& b) { b["cpu_percent"] = -1; }, "cpu_percent"},
      {"memory over 100", [](json& b) { b["memory_percent"] = 100.5; }, "memory_percent"},
      {"disk a string", [](json& b) { b["disk_percent"] = "50"; }, "disk_percent"},
      {"cpu missing", [](json& b) { b.erase("cpu_percent"); }, "cpu_percent"},
      {"cpu null", [](json& b) { b["cpu_percent"] = nullptr; }, "cpu_percent"},
      {"containers negative", [](json& b) { b["containers"] = -2; }, "containers"},
      {"containers fractional", [](json& b) { b["containers"] = 1.5; }, "containers"},
      {"running above containers", [](json& b) { b["containers_running"] = 9; },
       "containers_running"},
      {"seq negative", [](json& b) { b["seq"] = -1; }, "seq"},
      {"sent_at not a time", [](json& b) { b["sent_at"] = "yesterday"; }, "sent_at"},
      {"sent_at not UTC", [](json& b) { b["sent_at"] = "2026-01-01T00:00:00+02:00"; }, "sent_at"},
      {"sent_at impossible date", [](json& b) { b["sent_at"] = "2026-02-31T00:00:00Z"; },
       "sent_at"},
      {"container_list too long", [&](json& b) { b["container_list"] = many; }, "container_list"},
      {"container_list not an array", [](json& b) { b["container_list"] = "x"; }, "container_list"},
      {"container name too long",
       [](json& b) { b["container_list"][0]["name"] = std::string(300, 'n'); },
       "container_list[0].name"},
      {"container NUL", [](json& b) { b["container_list"][0]["image"] = std::string("a\0b", 3); },
       "container_list[0].image"},
      {"container unknown field", [](json& b) { b["container_list"][0]["ports"] = 1; },
       "container_list[0].ports"},
      {"label not a string", [](json& b) { b["container_list"][0]["labels"]["x"] = 1; },
       "container_list[0].labels"},
      {"unknown field", [](json& b) { b["temperature"] = 40; }, "temperature"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    json body = heartbeat_body();
    c.change(body);
    ApiAnswer a = as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), body.dump());
    CHECK(a.status == 400);
    CHECK(a.body["error"]["field"] == c.field);
    CHECK(node_state(gw, node.id) == before);
  }
  // Not JSON numbers at all: NaN and Infinity are not JSON.
  for (const char* text : {R"({"seq":1,"sent_at":"2026-01-01T00:00:00Z","cpu_percent":NaN})",
                           R"({"seq":1,"cpu_percent":Infinity})", "not json", ""}) {
    INFO(text);
    ApiAnswer a = as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), text);
    CHECK(a.status == 400);
    CHECK(node_state(gw, node.id) == before);
  }
}

TEST_CASE("a sent_at ahead of the gateway's clock is stored as the gateway's time",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const RegisteredNode node = register_node(gw, "skewed");
  json body = heartbeat_body();
  body["sent_at"] = "2099-01-01T00:00:00Z";
  REQUIRE(
      as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), body.dump()).status ==
      200);
  CHECK(gw.db.count("SELECT 1 FROM nodes WHERE agent_sent_at < now() + interval '1 minute' AND "
                    "agent_sent_at > now() - interval '1 minute'") == 1);
  CHECK_THAT(gw.gateway->err() + gw.gateway->out(),
             Catch::Matchers::Contains("ahead of this gateway's clock"));
}
