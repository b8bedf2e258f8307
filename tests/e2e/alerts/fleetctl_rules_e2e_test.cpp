// fleetctl rules / silence / metrics against a real database, together with the evaluator.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "e2e.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

RunResult fleetctl(TestDatabase& db, std::vector<std::string> args) {
  return run(binary("fleetctl"), args, worker_env(db));
}

void tanks(TestDatabase& db) {
  db.exec("INSERT INTO farms (name) VALUES ('reef')");
  db.exec(
      "INSERT INTO workers (kind, name, status, farm_id, labels) VALUES "
      "('device', 'Main Tank', 'online', 1, '{\"room\": \"lab\"}'), "
      "('device', 'Sump', 'online', 1, '{\"room\": \"cellar\"}'), "
      "('device', 'Frag Tank', 'online', NULL, '{}')");
  db.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, observed_at) "
      "SELECT id, 'temperature', CASE name WHEN 'Main Tank' THEN 85.2 ELSE 78 END, now() "
      "FROM workers WHERE name <> 'Frag Tank'");
}

}  // namespace

TEST_CASE("fleetctl rules add refuses a bad rule and points into the condition",
          "[alerts][fleetctl][e2e]") {
  TestDatabase db;
  auto r = fleetctl(db, {"rules", "add", "--name", "x", "--condition", "temperature > > 80"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("condition: column 15: expected a number, a metric name, a function "
                             "or '(' but found '>'"));
  CHECK_THAT(r.err, Contains("    temperature > > 80\n                  ^\n"));
  r = fleetctl(
      db, {"rules", "add", "--name", "x", "--condition", "temprature > 80", "--action", "reboto"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("did you mean 'temperature'?"));
  CHECK_THAT(r.err, Contains("    ^^^^^^^^^^\n"));
  CHECK_THAT(r.err, Contains("actions[0].action: unknown action 'reboto'"));
  r = fleetctl(db, {"rules", "add", "--name", "x", "--condition", "ph > 8", "--worker", "nobody"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("--worker: no worker 'nobody'"));
  CHECK(db.count("rules") == 0);
}

TEST_CASE("fleetctl rules add, list, show, test, disable, enable and delete",
          "[alerts][fleetctl][e2e]") {
  TestDatabase db;
  tanks(db);
  // Seed 001's form and seed 000's form.
  auto r = fleetctl(db, {"rules", "add", "--name", "tank-hot", "--metric", "temperature",
                         "--operator", ">", "--threshold", "82", "--farm", "reef"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("rule 1 'tank-hot' added (enabled): temperature > 82.0"));
  r = fleetctl(db, {"rules", "add", "--name", "lab-warm", "--condition", "temperature > 80",
                    "--label", "room=lab", "--for", "2m", "--severity", "critical", "--action",
                    "power_cycle", "--action", "notify@30m", "--no-data", "alert"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(
      db.scalar("SELECT concat_ws(' ', scope_labels::text, for_duration, severity, no_data, "
                "actions::text) FROM rules WHERE name = 'lab-warm'") ==
      R"({"room": "lab"} 00:02:00 critical alert [{"after": "0s", "action": "power_cycle"}, {"after": "30m", "action": "notify"}])");
  r = fleetctl(db, {"rules", "add", "--name", "tank-hot", "--condition", "temperature > 1"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("a rule named 'tank-hot' exists already"));

  r = fleetctl(db, {"rules", "list"});
  CHECK_THAT(r.out, Contains("tank-hot"));
  CHECK_THAT(r.out, Contains("farm=reef"));
  CHECK_THAT(r.out, Contains("room=lab"));
  CHECK_THAT(r.out, Contains("power_cycle → notify@30m"));
  auto list = nlohmann::json::parse(fleetctl(db, {"rules", "list", "--json"}).out);
  REQUIRE(list.size() == 2);
  CHECK(list[1]["scope"]["labels"]["room"] == "lab");

  // Which workers match right now.
  r = fleetctl(db, {"rules", "test", "temperature > 80"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("Main Tank  device  online  MATCH    temperature=85.2"));
  CHECK_THAT(r.out, Contains("1 of 3 workers match right now (1 with no data)"));
  r = fleetctl(db, {"rules", "test", "temperature > 80", "--label", "room=cellar"});
  CHECK_THAT(r.out, Contains("0 of 1 workers match right now"));
  auto probe =
      nlohmann::json::parse(fleetctl(db, {"rules", "test", "--rule", "tank-hot", "--json"}).out);
  CHECK(probe["matched"] == 1);
  CHECK(probe["workers"].size() == 2);  // the farm's two tanks
  r = fleetctl(db, {"rules", "test", "temperature >"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("column 14"));

  REQUIRE(run(binary("alert-evaluator"), {"--once"}, worker_env(db)).code == 0);
  r = fleetctl(db, {"rules", "show", "tank-hot"});
  CHECK_THAT(r.out, Contains("condition:       temperature > 82.0"));
  CHECK_THAT(r.out, Contains("1 open alerts:"));
  CHECK_THAT(r.out, Contains("Main Tank"));
  auto shown = nlohmann::json::parse(fleetctl(db, {"rules", "show", "2", "--json"}).out);
  CHECK(shown["open_alerts"][0]["state"] == "pending");

  CHECK(fleetctl(db, {"rules", "disable", "tank-hot"}).code == 0);
  REQUIRE(run(binary("alert-evaluator"), {"--once"}, worker_env(db)).code == 0);
  CHECK(db.scalar("SELECT resolution FROM alerts WHERE rule_id = 1") == "rule_disabled");
  CHECK(fleetctl(db, {"rules", "enable", "1"}).code == 0);
  CHECK(db.scalar("SELECT enabled FROM rules WHERE id = 1") == "t");
  r = fleetctl(db, {"rules", "delete", "lab-warm"});
  CHECK(r.code == 0);
  CHECK(db.count("rules") == 1);
  CHECK(fleetctl(db, {"rules", "show", "lab-warm"}).code == 1);
}

TEST_CASE("fleetctl rules add reads a JSON rule file", "[alerts][fleetctl][e2e]") {
  TestDatabase db;
  const std::string dir = make_temp_dir("fleet-rule");
  write_file(dir + "/rule.json", R"({"name": "asic-hot", "condition": "chip_temp_max > 85",
    "clear": "chip_temp_max < 75", "scope": {"kind": "asic"}, "keep_firing_for": "5m",
    "actions": ["restart_mining", {"action": "reboot", "after": "10m"}]})");
  auto r = fleetctl(db, {"rules", "add", "--file", dir + "/rule.json", "--severity", "critical"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(db.scalar("SELECT concat_ws(' ', clear_condition, scope_kind, keep_firing_for, severity) "
                  "FROM rules") == "chip_temp_max < 75 asic 00:05:00 critical");
  write_file(dir + "/bad.json",
             R"({"name": "x", "condition": "chip_temp_max > 1", "sevrity": "info"})");
  r = fleetctl(db, {"rules", "add", "--file", dir + "/bad.json"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Contains("sevrity: unknown field (did you mean 'severity'?)"));
}

TEST_CASE("fleetctl silence add, list and end mute and unmute alerts", "[alerts][fleetctl][e2e]") {
  TestDatabase db;
  tanks(db);
  db.exec("INSERT INTO rules (name, condition) VALUES ('tank-hot', 'temperature > 82')");
  auto r = fleetctl(db, {"silence", "add", "--worker", "Main Tank", "--duration", "2h", "--reason",
                         "heater swap"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains("silence 1 added for 2h: heater swap"));
  r = fleetctl(db, {"silence", "add", "--label", "room=cellar", "--rule", "tank-hot", "-d", "30m",
                    "-r", "later", "--starts-in", "1h"});
  REQUIRE(r.code == 0);
  CHECK(fleetctl(db, {"silence", "add", "--duration", "1h", "--reason", "x"}).code == 2);
  CHECK_THAT(
      fleetctl(db, {"silence", "add", "--worker", "1", "--duration", "soon", "--reason", "x"}).err,
      Contains("--duration"));
  r = fleetctl(db, {"silence", "list"});
  CHECK_THAT(r.out, Contains("active     worker=Main Tank"));
  CHECK_THAT(r.out, Contains("scheduled  rule=tank-hot room=cellar"));

  REQUIRE(run(binary("alert-evaluator"), {"--once"}, worker_env(db)).code == 0);
  CHECK(db.scalar("SELECT suppressed_by FROM alerts") == "silence 1: heater swap");
  CHECK(db.count("notifications") == 0);

  CHECK(fleetctl(db, {"silence", "end", "1"}).code == 0);
  CHECK(fleetctl(db, {"silence", "end", "1"}).code == 1);  // ended already
  REQUIRE(run(binary("alert-evaluator"), {"--once"}, worker_env(db)).code == 0);
  CHECK(db.scalar("SELECT coalesce(suppressed_by, '-') FROM alerts") == "-");
  CHECK(db.count("notifications") == 1);
  auto all = nlohmann::json::parse(fleetctl(db, {"silence", "list", "--all", "--json"}).out);
  CHECK(all.size() == 2);
  CHECK(all[0]["state"] == "ended");
}

TEST_CASE("fleetctl metrics list shows the catalogue", "[alerts][fleetctl][e2e]") {
  TestDatabase db;
  auto r = fleetctl(db, {"metrics", "list"});
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("chip_temp_max"));
  CHECK_THAT(r.out, Contains("state: mining|initializing"));
  auto j = nlohmann::json::parse(fleetctl(db, {"metrics", "list", "--json"}).out);
  bool found = false;
  for (const auto& m : j)
    found = found || (m["name"] == "hashrate_ratio" && m["kinds"][0] == "asic");
  CHECK(found);
}
