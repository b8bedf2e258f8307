// Relay controllers and mappings through the client library and `fleetctl api relays`, against a
// real api-gateway and PostgreSQL (issue 10).
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

TEST_CASE("client e2e: relay controllers and mappings, and power actions that need them",
          "[client][relays][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 3);
  client::Client admin = login_client(gw, "admin");
  client::Client op = login_client(gw, "operator");

  // Operators may not add controllers.
  CHECK_THROWS_AS(
      op.relays().create_controller({.name = "rack-a", .driver = "fleetward", .topic = "rack-a"}),
      client::PermissionError);
  try {
    admin.relays().create_controller({.name = "rack a", .driver = "fleetward", .topic = "rack-a"});
    FAIL("a controller name with a space was accepted");
  } catch (const client::ValidationError& e) {
    CHECK(e.field() == "name");
  }
  auto rack = admin.relays().create_controller(
      {.name = "rack-a", .driver = "fleetward", .topic = "rack-a", .channels = 2});
  CHECK(rack.channels == 2);
  CHECK_FALSE(rack.online.has_value());
  CHECK(admin.relays().update_controller(rack.id, {.site = "hall 2"}).site == "hall 2");
  CHECK_FALSE(admin.relays().update_controller(rack.id, {.site = ""}).site.has_value());

  // Power actions need a mapping.
  try {
    op.commands().queue(1, {.action = "power_cycle", .confirm = true});
    FAIL("power_cycle without a mapping was queued");
  } catch (const client::ValidationError& e) {
    CHECK(e.status() == 422);
    CHECK(e.field() == "action");
  }
  CHECK_FALSE(op.relays().mapping(1).has_value());
  auto m = op.relays().map(1, {.controller = "rack-a", .channel = 1, .wiring = "mains"});
  CHECK(m.controller_id == rack.id);
  CHECK(m.off_ms == 10000);
  CHECK(op.relays().mapping(1)->channel == 1);
  try {
    op.relays().map(2, {.controller_id = rack.id, .channel = 1, .wiring = "mains"});
    FAIL("two workers on one channel");
  } catch (const client::ConflictError& e) {
    CHECK(e.field() == "channel");
    CHECK_THAT(e.message(), Contains("miner-1"));
  }
  auto cmd = op.commands().queue(1, {.action = "power_button", .press_ms = 200, .confirm = true});
  CHECK(cmd.channel == "relay");
  CHECK(cmd.params_json == R"({"ms":200})");
  CHECK_FALSE(cmd.held_reason.has_value());
  gw.db.exec("UPDATE commands SET held_reason = 'partition hold' WHERE id = " +
             std::to_string(cmd.id));
  CHECK(op.commands().get(cmd.id).held_reason == "partition hold");

  CHECK_THROWS_AS(admin.relays().remove_controller(rack.id), client::ConflictError);
  op.relays().unmap(1);
  CHECK(op.relays().mappings().empty());
  admin.relays().remove_controller(rack.id);
  CHECK(admin.relays().controllers().empty());
}

TEST_CASE("fleetctl api relays: controllers, map, list, unmap, and the commands list shows reasons",
          "[client][relays][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 2);

  auto added = fleetctl(gw,
                        {"api", "relays", "controllers", "add", "--name", "plug-1", "--driver",
                         "tasmota", "--topic", "plug1", "--channels", "4"},
                        "admin");
  REQUIRE(added.code == 0);
  CHECK_THAT(added.out, Contains("plug-1 (tasmota, topic plug1, 4 channels"));
  auto as_operator = fleetctl(gw,
                              {"api", "relays", "controllers", "add", "--name", "plug-2",
                               "--driver", "tasmota", "--topic", "plug2"},
                              "operator");
  CHECK(as_operator.code == 1);
  CHECK_THAT(as_operator.err, Contains("HTTP 403"));
  auto updated = fleetctl(
      gw, {"api", "relays", "controllers", "update", "plug-1", "--site", "hall 1"}, "admin");
  REQUIRE(updated.code == 0);
  CHECK(gw.db.scalar("SELECT site FROM relay_controllers WHERE name = 'plug-1'") == "hall 1");

  // Without a mapping a power action is refused by the API (exit 1, the message names it).
  auto unmapped = fleetctl(gw, {"api", "command", "1", "power_off", "--yes"}, "operator");
  CHECK(unmapped.code == 1);
  CHECK_THAT(unmapped.err, Contains("no relay mapping"));

  auto mapped = fleetctl(gw,
                         {"api", "relays", "map", "miner-1", "--controller", "plug-1", "--channel",
                          "2", "--wiring", "power_button", "--pulse-ms", "250"},
                         "operator");
  REQUIRE(mapped.code == 0);
  CHECK_THAT(mapped.out, Contains("worker 1 (miner-1) is on plug-1 channel 2"));
  CHECK(gw.db.scalar("SELECT channel || ':' || wiring || ':' || pulse_ms FROM relay_mappings "
                     "WHERE worker_id = 1") == "2:power_button:250");
  auto taken = fleetctl(gw,
                        {"api", "relays", "map", "2", "--controller", "plug-1", "--channel", "2",
                         "--wiring", "mains"},
                        "operator");
  CHECK(taken.code == 1);
  CHECK_THAT(taken.err, Contains("used by worker miner-1"));
  CHECK_THAT(taken.err, Contains("field: channel"));
  auto beyond = fleetctl(gw,
                         {"api", "relays", "map", "2", "--controller", "plug-1", "--channel", "5",
                          "--wiring", "mains"},
                         "operator");
  CHECK(beyond.code == 1);
  CHECK_THAT(beyond.err, Contains("beyond the 4 channels"));

  auto list = fleetctl(gw, {"api", "relays", "list"}, "viewer");
  REQUIRE(list.code == 0);
  CHECK_THAT(list.out, Contains("plug-1"));
  CHECK_THAT(list.out, Contains("1 miner-1"));
  CHECK_THAT(list.out, Contains("press 250 ms"));
  auto show = fleetctl(gw, {"api", "relays", "controllers", "show", "plug-1"}, "viewer");
  CHECK_THAT(show.out, Contains("1 mapped"));

  auto refused = fleetctl(gw, {"api", "relays", "controllers", "remove", "plug-1"}, "admin");
  CHECK(refused.code == 1);
  CHECK_THAT(refused.err, Contains("miner-1"));

  // A power action now goes out; the commands list shows why one is held.
  auto queued = fleetctl(gw, {"api", "command", "1", "power_cycle", "--yes"}, "operator");
  REQUIRE(queued.code == 0);
  gw.db.exec("UPDATE commands SET held_reason = 'minimum interval 10 min' WHERE worker_id = 1");
  auto commands = fleetctl(gw, {"api", "commands", "list"}, "viewer");
  CHECK_THAT(commands.out, Contains("held: minimum interval 10 min"));
  CHECK_THAT(commands.out, Contains("0/3"));

  REQUIRE(fleetctl(gw, {"api", "relays", "unmap", "miner-1"}, "operator").code == 0);
  CHECK(gw.db.count("relay_mappings") == 0);
  REQUIRE(fleetctl(gw, {"api", "relays", "controllers", "remove", "plug-1"}, "admin").code == 0);
  CHECK(gw.db.count("relay_controllers") == 0);
}
