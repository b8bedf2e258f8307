// The agent command queue through the gateway (issue 13): a node claims its own due 'agent'
// commands (queued -> sent, lease 5 min) and reports each one's outcome (sent -> succeeded or
// failed); other nodes' commands are not its business.
#include <catch2/catch.hpp>

#include "node_agent_fixture.h"

using namespace fleet::test;
using nlohmann::json;

namespace {

std::int64_t queue_command(GatewayFixture& gw, std::int64_t worker, const std::string& action,
                           const std::string& extra = "") {
  static int n = 0;
  return std::stoll(gw.db.scalar(
      "INSERT INTO commands (worker_id, action, params, channel, origin, requested_by, "
      "idempotency_key" +
      std::string(extra.empty() ? "" : ", not_before") + ") VALUES (" + std::to_string(worker) +
      ", '" + action + "', '{\"name\": \"web\"}', 'agent', 'user', 'test', 'k" +
      std::to_string(++n) + "'" + (extra.empty() ? "" : ", " + extra) + ") RETURNING id"));
}

}  // namespace

TEST_CASE("a node claims its own due agent commands and reports their outcome",
          "[gateway][nodes][e2e]") {
  GatewayFixture gw;
  const RegisteredNode node = register_node(gw, "worker-node");
  const RegisteredNode other = register_node(gw, "other-node");
  const std::int64_t start = queue_command(gw, node.id, "container_start");
  const std::int64_t stop = queue_command(gw, node.id, "container_stop");
  const std::int64_t later =
      queue_command(gw, node.id, "container_remove", "now() + interval '1 hour'");
  const std::int64_t theirs = queue_command(gw, other.id, "container_start");

  // The heartbeat says how many are waiting.
  ApiAnswer hb =
      as_node(gw, node.credential, "POST", path_of(node.id, "/heartbeat"), heartbeat_body().dump());
  REQUIRE(hb.status == 200);
  CHECK(hb.body["commands_pending"] == 2);

  ApiAnswer claimed = as_node(gw, node.credential, "GET", path_of(node.id, "/commands"));
  REQUIRE(claimed.status == 200);
  REQUIRE(claimed.body["commands"].size() == 2);
  CHECK(claimed.body["commands"][0]["id"] == start);
  CHECK(claimed.body["commands"][0]["action"] == "container_start");
  CHECK(claimed.body["commands"][0]["params"]["name"] == "web");
  CHECK(claimed.body["commands"][0]["attempts"] == 1);
  CHECK(claimed.body["commands"][1]["id"] == stop);
  CHECK(gw.db.scalar("SELECT string_agg(concat_ws(' ', state, claimed_by, attempts, sent_at IS NOT "
                     "NULL, lease_expires_at > now() + interval '4 minutes'), ',' ORDER BY id) "
                     "FROM commands WHERE id IN (" +
                     std::to_string(start) + "," + std::to_string(stop) + ")") ==
        "sent node-agent:" + std::to_string(node.id) +
            " 1 t t,sent node-agent:" + std::to_string(node.id) + " 1 t t");
  CHECK(gw.db.scalar("SELECT state FROM commands WHERE id = " + std::to_string(later)) == "queued");
  CHECK(gw.db.scalar("SELECT state FROM commands WHERE id = " + std::to_string(theirs)) ==
        "queued");
  // Claimed once: the next poll is empty.
  CHECK(
      as_node(gw, node.credential, "GET", path_of(node.id, "/commands")).body["commands"].empty());

  ApiAnswer ok = as_node(gw, node.credential, "POST",
                         path_of(node.id, "/commands/" + std::to_string(start) + "/result"),
                         R"({"ok":true,"result":{"container_id":"abc","state":"running"}})");
  CHECK(ok.status == 200);
  CHECK(gw.db.scalar("SELECT concat_ws(' ', state, result->>'container_id', finished_at IS NOT "
                     "NULL) FROM commands WHERE id = " +
                     std::to_string(start)) == "succeeded abc t");
  ApiAnswer failed = as_node(gw, node.credential, "POST",
                             path_of(node.id, "/commands/" + std::to_string(stop) + "/result"),
                             R"({"ok":false,"error":"no such container"})");
  CHECK(failed.status == 200);
  CHECK(gw.db.scalar("SELECT state || ' ' || last_error FROM commands WHERE id = " +
                     std::to_string(stop)) == "failed no such container");
  // Results are audited.
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST "
                    "/api/nodes/{id}/commands/{command_id}/result' AND target = 'command:" +
                    std::to_string(start) + "'") == 1);

  // Twice: the command is no longer sent.
  CHECK(as_node(gw, node.credential, "POST",
                path_of(node.id, "/commands/" + std::to_string(start) + "/result"),
                R"({"ok":true})")
            .status == 409);
  // Not yet claimed.
  CHECK(as_node(gw, node.credential, "POST",
                path_of(node.id, "/commands/" + std::to_string(later) + "/result"),
                R"({"ok":true})")
            .status == 409);
  // Another node's command, through this node's path: not found; through the other's: forbidden.
  CHECK(as_node(gw, node.credential, "POST",
                path_of(node.id, "/commands/" + std::to_string(theirs) + "/result"),
                R"({"ok":true})")
            .status == 404);
  CHECK(as_node(gw, node.credential, "POST",
                path_of(other.id, "/commands/" + std::to_string(theirs) + "/result"),
                R"({"ok":true})")
            .status == 403);
  CHECK(gw.db.scalar("SELECT state FROM commands WHERE id = " + std::to_string(theirs)) ==
        "queued");
  // Bad bodies name the field.
  for (const auto& [body, field] :
       std::vector<std::pair<std::string, std::string>>{{R"({})", "ok"},
                                                        {R"({"ok":"yes"})", "ok"},
                                                        {R"({"ok":true,"result":[1]})", "result"},
                                                        {R"({"ok":true,"extra":1})", "extra"}}) {
    INFO(body);
    ApiAnswer a = as_node(gw, node.credential, "POST",
                          path_of(node.id, "/commands/" + std::to_string(later) + "/result"), body);
    CHECK(a.status == 400);
    CHECK(a.body["error"]["field"] == field);
  }
}
