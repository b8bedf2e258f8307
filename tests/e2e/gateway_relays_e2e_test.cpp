// api-gateway: relay controllers, workers' relay mappings and the power actions that need them
// (issue 10).
#include <catch2/catch.hpp>

#include "gateway_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// Two ASIC miners, a rig and a sensor device.
void seed_workers(TestDatabase& db) {
  db.exec(
      "INSERT INTO workers (id, kind, name, status) VALUES (1, 'asic', 'm-one', 'online'), "
      "(2, 'asic', 'm-two', 'online'), (3, 'rig', 'rig-1', 'online'), (4, 'device', 'tank', "
      "'online')");
  db.exec("SELECT setval('workers_id_seq', 10)");
  db.exec("INSERT INTO miners (worker_id, mac) VALUES (1, '02:00:00:00:00:01')");
}

std::string error_field(const ApiAnswer& a) {
  return a.body.is_object() && a.body.contains("error") && a.body["error"]["field"].is_string()
             ? a.body["error"]["field"].get<std::string>()
             : "";
}

std::string error_message(const ApiAnswer& a) {
  return a.body.is_object() && a.body.contains("error") ? a.body["error"]["message"].dump() : "";
}

}  // namespace

TEST_CASE(
    "relay controllers: admins create, change and remove them, and fields are validated by name",
    "[gateway][relays][e2e]") {
  GatewayFixture gw;
  seed_workers(gw.db);

  // Validation: each bad field is a 400 naming it, and nothing is written.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"driver": "tasmota", "topic": "t1"})", "name"},
      {R"({"name": "bad name", "driver": "tasmota", "topic": "t1"})", "name"},
      {R"({"name": "r1", "driver": "zigbee", "topic": "t1"})", "driver"},
      {R"({"name": "r1", "driver": "tasmota", "topic": "a/#"})", "topic"},
      {R"({"name": "r1", "driver": "tasmota", "topic": "t1", "channels": 0})", "channels"},
      {R"({"name": "r1", "driver": "tasmota", "topic": "t1", "channels": 65})", "channels"},
      {R"({"name": "r1", "driver": "tasmota", "topic": "t1", "site": ""})", "site"},
      {R"({"name": "r1", "driver": "tasmota", "topic": "t1", "colour": "red"})", "colour"},
  };
  for (const auto& [body, field] : bad) {
    auto a = gw.as("admin", "POST", "/api/relay-controllers", body);
    INFO(body << " -> " << a.raw);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  CHECK(gw.db.count("relay_controllers") == 0);

  // Operators and viewers may read, not write.
  const std::string good =
      R"({"name": "rack-a", "driver": "fleetward", "topic": "rack-a", "channels": 4, "site": "hall 1"})";
  CHECK(gw.as("operator", "POST", "/api/relay-controllers", good).status == 403);
  CHECK(gw.as("viewer", "POST", "/api/relay-controllers", good).status == 403);

  auto created = gw.as("admin", "POST", "/api/relay-controllers", good);
  REQUIRE(created.status == 201);
  const std::string id = std::to_string(created.body["id"].get<std::int64_t>());
  CHECK(created.body["channels"] == 4);
  CHECK(created.body["site"] == "hall 1");
  CHECK(created.body["description"] == "");
  CHECK(created.body["online"].is_null());
  CHECK(created.body["availability_at"].is_null());
  CHECK(created.body["mapped_workers"] == 0);

  // Duplicates: the same name, or the same driver and topic.
  auto same_name = gw.as("admin", "POST", "/api/relay-controllers",
                         R"({"name": "rack-a", "driver": "tasmota", "topic": "other"})");
  CHECK(same_name.status == 409);
  CHECK(error_field(same_name) == "name");
  auto same_topic = gw.as("admin", "POST", "/api/relay-controllers",
                          R"({"name": "rack-b", "driver": "fleetward", "topic": "rack-a"})");
  CHECK(same_topic.status == 409);
  CHECK(error_field(same_topic) == "topic");
  // The same topic under the other driver is another place on the broker.
  auto tasmota = gw.as("admin", "POST", "/api/relay-controllers",
                       R"({"name": "plug-1", "driver": "tasmota", "topic": "rack-a"})");
  REQUIRE(tasmota.status == 201);
  CHECK(tasmota.body["channels"] == 8);

  auto listed = gw.as("viewer", "GET", "/api/relay-controllers");
  REQUIRE(listed.status == 200);
  REQUIRE(listed.body["items"].size() == 2);
  CHECK(listed.body["items"][0]["name"] == "rack-a");
  CHECK(gw.as("viewer", "GET", "/api/relay-controllers/" + id).body["topic"] == "rack-a");
  CHECK(gw.as("viewer", "GET", "/api/relay-controllers/999").status == 404);

  // PATCH changes what it names; null clears the site; renaming onto another name is a 409.
  auto patched = gw.as("admin", "PATCH", "/api/relay-controllers/" + id,
                       R"({"description": "left wall", "site": null, "channels": 8})");
  REQUIRE(patched.status == 200);
  CHECK(patched.body["description"] == "left wall");
  CHECK(patched.body["site"].is_null());
  CHECK(patched.body["channels"] == 8);
  CHECK(patched.body["name"] == "rack-a");
  auto clash = gw.as("admin", "PATCH", "/api/relay-controllers/" + id, R"({"name": "plug-1"})");
  CHECK(clash.status == 409);
  CHECK(error_field(clash) == "name");
  CHECK(error_field(gw.as("admin", "PATCH", "/api/relay-controllers/" + id,
                          R"({"channels": "eight"})")) == "channels");
  CHECK(gw.as("operator", "PATCH", "/api/relay-controllers/" + id, R"({"description": "x"})")
            .status == 403);

  // A mapped controller cannot be removed, nor shrunk below a mapped channel.
  REQUIRE(gw.as("operator", "PUT", "/api/workers/1/relay",
                R"({"controller": "rack-a", "channel": 6, "wiring": "mains"})")
              .status == 200);
  auto shrink = gw.as("admin", "PATCH", "/api/relay-controllers/" + id, R"({"channels": 4})");
  CHECK(shrink.status == 409);
  CHECK(error_field(shrink) == "channels");
  CHECK_THAT(error_message(shrink), Contains("m-one"));
  auto refused = gw.as("admin", "DELETE", "/api/relay-controllers/" + id);
  CHECK(refused.status == 409);
  CHECK_THAT(error_message(refused), Contains("m-one"));
  CHECK(gw.db.count("relay_controllers") == 2);
  CHECK(gw.as("viewer", "GET", "/api/relay-controllers/" + id).body["mapped_workers"] == 1);

  CHECK(gw.as("operator", "DELETE", "/api/workers/1/relay").status == 200);
  CHECK(gw.as("operator", "DELETE", "/api/relay-controllers/" + id).status == 403);
  CHECK(gw.as("admin", "DELETE", "/api/relay-controllers/" + id).status == 200);
  CHECK(gw.as("viewer", "GET", "/api/relay-controllers/" + id).status == 404);
  CHECK(gw.as("admin", "DELETE", "/api/relay-controllers/" + id).status == 404);

  // Every change is audited.
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/relay-controllers' AND "
                    "status = 201") == 2);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'DELETE /api/relay-controllers/{id}' "
                    "AND status = 409") == 1);
}

TEST_CASE("relay mappings: one worker per channel, within the controller, never for devices",
          "[gateway][relays][e2e]") {
  GatewayFixture gw;
  seed_workers(gw.db);
  auto c = gw.as("admin", "POST", "/api/relay-controllers",
                 R"({"name": "rack-a", "driver": "fleetward", "topic": "rack-a", "channels": 4})");
  REQUIRE(c.status == 201);
  const auto cid = c.body["id"].get<std::int64_t>();

  // Unmapped: 404 on the mapping, null on the worker and miner detail.
  CHECK(gw.as("viewer", "GET", "/api/workers/1/relay").status == 404);
  CHECK(gw.as("viewer", "GET", "/api/workers/1").body["relay"].is_null());
  CHECK(gw.as("viewer", "GET", "/api/miners/1").body.contains("relay"));
  CHECK(gw.as("viewer", "GET", "/api/miners/1").body["relay"].is_null());

  auto put = gw.as("operator", "PUT", "/api/workers/1/relay",
                   json{{"controller_id", cid}, {"channel", 2}, {"wiring", "power_button"}}.dump());
  REQUIRE(put.status == 200);
  CHECK(put.body["worker_id"] == 1);
  CHECK(put.body["controller_name"] == "rack-a");
  CHECK(put.body["channel"] == 2);
  CHECK(put.body["wiring"] == "power_button");
  CHECK(put.body["pulse_ms"] == 500);
  CHECK(put.body["hold_ms"] == 6000);
  CHECK(put.body["off_ms"] == 10000);
  CHECK(put.body["controller_online"].is_null());

  // The detail views carry it.
  CHECK(gw.as("viewer", "GET", "/api/workers/1").body["relay"]["channel"] == 2);
  CHECK(gw.as("viewer", "GET", "/api/miners/1").body["relay"]["controller_name"] == "rack-a");
  CHECK(gw.as("viewer", "GET", "/api/workers/1/relay").body["wiring"] == "power_button");

  // Another worker on the same channel: 409 naming the worker that has it.
  auto taken = gw.as("operator", "PUT", "/api/workers/2/relay",
                     R"({"controller": "rack-a", "channel": 2, "wiring": "mains"})");
  CHECK(taken.status == 409);
  CHECK(error_field(taken) == "channel");
  CHECK_THAT(error_message(taken), Contains("m-one"));
  // Beyond the controller's channels: 400 naming channel.
  auto beyond = gw.as("operator", "PUT", "/api/workers/2/relay",
                      R"({"controller": "rack-a", "channel": 5, "wiring": "mains"})");
  CHECK(beyond.status == 400);
  CHECK(error_field(beyond) == "channel");
  // Out of the table's ranges, unknown wiring, unknown controller, both references, none.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"controller": "rack-a", "channel": 0, "wiring": "mains"})", "channel"},
      {R"({"controller": "rack-a", "channel": 3, "wiring": "usb"})", "wiring"},
      {R"({"controller": "rack-a", "channel": 3})", "wiring"},
      {R"({"controller": "rack-a", "channel": 3, "wiring": "mains", "pulse_ms": 20})", "pulse_ms"},
      {R"({"controller": "rack-a", "channel": 3, "wiring": "mains", "hold_ms": 70000})", "hold_ms"},
      {R"({"controller": "rack-a", "channel": 3, "wiring": "mains", "off_ms": 999})", "off_ms"},
      {R"({"channel": 3, "wiring": "mains"})", "controller_id"},
      {R"({"controller": "rack-a", "controller_id": 1, "channel": 3, "wiring": "mains"})",
       "controller"},
      {R"({"controller": "rack-a", "channel": 3, "wiring": "mains", "relay": 1})", "relay"},
  };
  for (const auto& [body, field] : bad) {
    auto a = gw.as("operator", "PUT", "/api/workers/2/relay", body);
    INFO(body << " -> " << a.raw);
    CHECK(a.status == 400);
    CHECK(error_field(a) == field);
  }
  auto unknown = gw.as("operator", "PUT", "/api/workers/2/relay",
                       R"({"controller": "rack-z", "channel": 3, "wiring": "mains"})");
  CHECK(unknown.status == 422);
  CHECK(error_field(unknown) == "controller");
  // A device has no power to cut; a viewer may not map; an unknown worker is a 404.
  auto device = gw.as("operator", "PUT", "/api/workers/4/relay",
                      R"({"controller": "rack-a", "channel": 3, "wiring": "mains"})");
  CHECK(device.status == 422);
  CHECK(gw.as("viewer", "PUT", "/api/workers/2/relay",
              R"({"controller": "rack-a", "channel": 3, "wiring": "mains"})")
            .status == 403);
  CHECK(gw.as("operator", "PUT", "/api/workers/99/relay",
              R"({"controller": "rack-a", "channel": 3, "wiring": "mains"})")
            .status == 404);
  CHECK(gw.db.count("relay_mappings") == 1);

  // Mapping again replaces (a worker may move to another channel, keeping its own).
  auto rig = gw.as("operator", "PUT", "/api/workers/3/relay",
                   R"({"controller": "rack-a", "channel": 3, "wiring": "mains", "off_ms": 20000})");
  REQUIRE(rig.status == 200);
  CHECK(rig.body["off_ms"] == 20000);
  auto moved =
      gw.as("operator", "PUT", "/api/workers/1/relay",
            R"({"controller": "rack-a", "channel": 2, "wiring": "mains", "pulse_ms": 300})");
  REQUIRE(moved.status == 200);
  CHECK(moved.body["wiring"] == "mains");
  CHECK(moved.body["pulse_ms"] == 300);
  CHECK(gw.db.count("relay_mappings") == 2);

  auto by_controller =
      gw.as("viewer", "GET", "/api/relay-controllers/" + std::to_string(cid) + "/mappings");
  REQUIRE(by_controller.body["items"].size() == 2);
  CHECK(by_controller.body["items"][0]["worker_name"] == "m-one");
  CHECK(by_controller.body["items"][1]["channel"] == 3);
  CHECK(gw.as("viewer", "GET", "/api/relay-mappings").body["items"].size() == 2);

  CHECK(gw.as("viewer", "DELETE", "/api/workers/1/relay").status == 403);
  CHECK(gw.as("operator", "DELETE", "/api/workers/1/relay").status == 200);
  CHECK(gw.as("operator", "DELETE", "/api/workers/1/relay").status == 404);
  CHECK(gw.db.count("relay_mappings") == 1);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'PUT /api/workers/{id}/relay' AND "
                    "target = 'worker:1' AND status = 200") == 2);
}

TEST_CASE("power actions need a relay mapping and go out on the relay channel",
          "[gateway][relays][commands][e2e]") {
  GatewayFixture gw;
  seed_workers(gw.db);

  // Without a mapping: 422 naming the action, nothing queued.
  for (const char* action : {"power_cycle", "power_off", "power_on", "power_button"}) {
    auto a = gw.as("operator", "POST", "/api/workers/1/commands",
                   json{{"action", action}, {"confirm", true}}.dump());
    INFO(action << " -> " << a.raw);
    CHECK(a.status == 422);
    CHECK(error_field(a) == "action");
    CHECK_THAT(error_message(a), Contains("m-one has no relay mapping"));
  }
  CHECK(gw.as("operator", "POST", "/api/workers/4/commands",
              R"({"action": "power_off", "confirm": true})")
            .status == 422);
  CHECK(gw.db.count("commands") == 0);

  REQUIRE(gw.as("admin", "POST", "/api/relay-controllers",
                R"({"name": "rack-a", "driver": "tasmota", "topic": "rack-a"})")
              .status == 201);
  REQUIRE(gw.as("operator", "PUT", "/api/workers/1/relay",
                R"({"controller": "rack-a", "channel": 1, "wiring": "power_button"})")
              .status == 200);

  // Each needs confirmation.
  for (const char* action : {"power_cycle", "power_off", "power_on", "power_button"}) {
    auto a = gw.as("operator", "POST", "/api/workers/1/commands", json{{"action", action}}.dump());
    CHECK(a.status == 400);
    CHECK(error_field(a) == "confirm");
  }
  // power_button's press length is checked.
  CHECK(
      error_field(gw.as("operator", "POST", "/api/workers/1/commands",
                        R"({"action": "power_button", "confirm": true, "params": {"ms": 20}})")) ==
      "params.ms");
  CHECK(error_field(gw.as("operator", "POST", "/api/workers/1/commands",
                          R"({"action": "power_on", "confirm": true, "params": {"ms": 200}})")) ==
        "params.ms");
  CHECK(gw.db.count("commands") == 0);

  for (const char* action : {"power_cycle", "power_off", "power_on"}) {
    auto a = gw.as("operator", "POST", "/api/workers/1/commands",
                   json{{"action", action}, {"confirm", true}}.dump());
    INFO(action << " -> " << a.raw);
    REQUIRE(a.status == 201);
    CHECK(a.body["channel"] == "relay");
    CHECK(a.body["state"] == "queued");
    CHECK(a.body.contains("held_reason"));
    CHECK(a.body["held_reason"].is_null());
  }
  auto press = gw.as("operator", "POST", "/api/workers/1/commands",
                     R"({"action": "power_button", "confirm": true, "params": {"ms": 300}})");
  REQUIRE(press.status == 201);
  CHECK(press.body["params"]["ms"] == 300);
  CHECK(press.body["channel"] == "relay");

  // Idempotency-Key still returns the first command.
  httplib::Headers h{{"Authorization", "Bearer " + gw.tokens.at("operator")},
                     {"Idempotency-Key", "press-1"}};
  auto first = gw.request("POST", "/api/workers/1/commands",
                          R"({"action": "power_off", "confirm": true})", h);
  auto again = gw.request("POST", "/api/workers/1/commands",
                          R"({"action": "power_off", "confirm": true})", h);
  REQUIRE(first.status == 201);
  CHECK(again.status == 200);
  CHECK(again.body["id"] == first.body["id"]);

  // A held command shows why it waits.
  const std::string id = std::to_string(press.body["id"].get<std::int64_t>());
  gw.db.exec(
      "UPDATE commands SET held_reason = 'rate limit: 10 power actions per hour' WHERE id = " + id);
  CHECK(gw.as("viewer", "GET", "/api/commands/" + id).body["held_reason"] ==
        "rate limit: 10 power actions per hour");
  CHECK(
      gw.as("viewer", "GET", "/api/commands?worker_id=1").body["items"][0].contains("held_reason"));

  // The OpenAPI document describes the new routes and the field.
  auto doc = gw.as("viewer", "GET", "/api/openapi.json");
  REQUIRE(doc.status == 200);
  CHECK(doc.body["paths"].contains("/api/relay-controllers/{id}"));
  CHECK(doc.body["paths"].contains("/api/workers/{id}/relay"));
  CHECK(doc.raw.find("held_reason") != std::string::npos);
}
