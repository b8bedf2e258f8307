// api-gateway: rules (CRUD, live validation, test), alerts, silences and manual commands.
#include <catch2/catch.hpp>

#include <future>

#include <pqxx/pqxx>

#include "gateway_fixture.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

// Two ASIC miners (hot and cool), a rig and a sensor device, with fresh metrics.
void seed_fleet(TestDatabase& db) {
  db.exec(
      "INSERT INTO workers (id, kind, name, status) VALUES (1, 'asic', 'hot-miner', 'online'), "
      "(2, 'asic', 'cool-miner', 'online'), (3, 'rig', 'rig-1', 'online'), (4, 'device', 'tank', "
      "'online')");
  db.exec("SELECT setval('workers_id_seq', 10)");
  db.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, observed_at) VALUES "
      "(1, 'chip_temp_max', 91, now()), (2, 'chip_temp_max', 70, now()), (4, 'temperature', 20, "
      "now())");
}

json rule_body(const std::string& name, const std::string& condition) {
  return {{"name", name},
          {"condition", condition},
          {"scope", {{"kind", "asic"}}},
          {"for", "2m"},
          {"severity", "critical"},
          {"actions", json::array({{{"action", "restart_mining"}}})}};
}

}  // namespace

TEST_CASE("rules: create, read, change, delete, refused rules point into the condition",
          "[gateway][rules][e2e]") {
  GatewayFixture gw;
  seed_fleet(gw.db);

  // A typo in a metric name: 400 naming the condition, with the position of the typo.
  const std::string typo = "chip_temp_max > 80 and chip_tmp_max < 200";
  auto bad = gw.as("operator", "POST", "/api/rules", rule_body("asic-hot", typo).dump());
  REQUIRE(bad.status == 400);
  CHECK(bad.body["error"]["field"] == "condition");
  CHECK_THAT(bad.body["error"]["message"].get<std::string>(), Contains("chip_tmp_max"));
  const json& problem = bad.body["error"]["details"]["problems"][0];
  CHECK(problem["position"] == typo.find("chip_tmp_max"));
  CHECK(problem["column"] == typo.find("chip_tmp_max") + 1);
  CHECK(gw.db.count("rules") == 0);

  // Wrong types and unknown fields name the field; a viewer may not create.
  CHECK(gw.as("operator", "POST", "/api/rules",
              R"({"name": "x", "condition": "power > 1", "for": "soon"})")
            .body["error"]["field"] == "for");
  CHECK(gw.as("operator", "POST", "/api/rules",
              R"({"name": "x", "condition": "power > 1", "colour": "red"})")
            .body["error"]["field"] == "colour");
  CHECK(gw.as("operator", "POST", "/api/rules",
              R"({"name": "x", "condition": "power > 1", "actions": [{"action": "explode"}]})")
            .body["error"]["field"]
            .get<std::string>()
            .rfind("actions[0]", 0) == 0);
  CHECK(gw.as("viewer", "POST", "/api/rules", rule_body("v", "power > 1").dump()).status == 403);
  CHECK(gw.db.count("rules") == 0);

  auto created =
      gw.as("operator", "POST", "/api/rules", rule_body("asic-hot", "chip_temp_max > 85").dump());
  REQUIRE(created.status == 201);
  const auto id = created.body["id"].get<std::int64_t>();
  CHECK(created.body["condition"] == "chip_temp_max > 85");
  CHECK(created.body["created_by"] == "operator");
  CHECK(created.body["scope"]["kind"] == "asic");
  CHECK(created.body["clear_condition"].is_null());
  CHECK(gw.db.scalar("SELECT for_duration::text FROM rules WHERE id = " + std::to_string(id)) ==
        "00:02:00");

  // The same name again is a conflict.
  CHECK(gw.as("operator", "POST", "/api/rules", rule_body("asic-hot", "power > 1").dump()).status ==
        409);

  auto listed = gw.as("viewer", "GET", "/api/rules");
  REQUIRE(listed.body["items"].size() == 1);
  CHECK(listed.body["items"][0]["name"] == "asic-hot");
  CHECK(gw.as("viewer", "GET", "/api/rules/" + std::to_string(id)).body["severity"] == "critical");

  // PATCH changes only what it names, validated like a new rule.
  auto patched =
      gw.as("operator", "PATCH", "/api/rules/" + std::to_string(id),
            R"({"condition": "chip_temp_max > 88", "clear_condition": "chip_temp_max < 75"})");
  REQUIRE(patched.status == 200);
  CHECK(patched.body["condition"] == "chip_temp_max > 88");
  CHECK(patched.body["clear_condition"] == "chip_temp_max < 75");
  CHECK(patched.body["severity"] == "critical");
  auto refused = gw.as("operator", "PATCH", "/api/rules/" + std::to_string(id),
                       R"({"clear_condition": "chip_temp_max <"})");
  CHECK(refused.status == 400);
  CHECK(refused.body["error"]["field"] == "clear_condition");
  CHECK(gw.db.scalar("SELECT clear_condition FROM rules WHERE id = " + std::to_string(id)) ==
        "chip_temp_max < 75");
  CHECK(
      gw.as("operator", "PATCH", "/api/rules/" + std::to_string(id), R"({"clear_condition": null})")
          .body["clear_condition"]
          .is_null());
  CHECK(gw.as("operator", "PATCH", "/api/rules/4242", R"({"enabled": false})").status == 404);

  // Mutations are audited with the rule as target.
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/rules' AND target = 'rule:" +
                    std::to_string(id) + "'") == 1);

  CHECK(gw.as("viewer", "DELETE", "/api/rules/" + std::to_string(id)).status == 403);
  CHECK(gw.as("operator", "DELETE", "/api/rules/" + std::to_string(id)).status == 200);
  CHECK(gw.db.count("rules") == 0);
  CHECK(gw.as("operator", "DELETE", "/api/rules/" + std::to_string(id)).status == 404);
}

TEST_CASE("rules: live validation and a dry run against the fleet", "[gateway][rules][e2e]") {
  GatewayFixture gw;
  seed_fleet(gw.db);

  auto ok =
      gw.as("viewer", "POST", "/api/rules/validate", R"({"condition": "chip_temp_max > 85"})");
  REQUIRE(ok.status == 200);
  CHECK(ok.body["valid"] == true);
  CHECK(ok.body["metrics"] == json::array({"chip_temp_max"}));

  const std::string text = "avg(chip_temp_max, 10m) > 80 and fan_rpm_min < ";
  auto bad = gw.as("viewer", "POST", "/api/rules/validate", json{{"condition", text}}.dump());
  REQUIRE(bad.status == 200);
  CHECK(bad.body["valid"] == false);
  REQUIRE(bad.body["errors"].size() == 1);
  CHECK(bad.body["errors"][0]["field"] == "condition");
  CHECK(bad.body["errors"][0]["position"].get<std::size_t>() >= text.find("<"));

  // A metric a kind does not report is refused for that kind only.
  CHECK(gw.as("viewer", "POST", "/api/rules/validate",
              R"({"condition": "humidity > 80", "kind": "asic"})")
            .body["valid"] == false);
  CHECK(gw.as("viewer", "POST", "/api/rules/validate",
              R"({"condition": "humidity > 80", "kind": "device"})")
            .body["valid"] == true);
  CHECK(gw.as("viewer", "POST", "/api/rules/validate", R"({"condition": 12})").status == 400);
  // Validation writes nothing, not even an audit row.
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action LIKE '%validate%'") == 0);

  auto test = gw.as("viewer", "POST", "/api/rules/test",
                    R"({"condition": "chip_temp_max > 85", "scope": {"kind": "asic"}})");
  REQUIRE(test.status == 200);
  CHECK(test.body["evaluated"] == 2);
  REQUIRE(test.body["matches"].size() == 1);
  CHECK(test.body["matches"][0]["name"] == "hot-miner");
  CHECK(test.body["matches"][0]["values"]["chip_temp_max"] == 91.0);
  auto typo = gw.as("viewer", "POST", "/api/rules/test", R"({"condition": "chip_temp > 85"})");
  CHECK(typo.status == 400);
  CHECK(typo.body["error"]["field"] == "condition");
  CHECK(gw.db.count("rules") == 0);

  auto catalogue = gw.as("viewer", "GET", "/api/metrics");
  REQUIRE(catalogue.status == 200);
  bool found = false;
  for (const auto& m : catalogue.body["items"]) {
    if (m["name"] == "miner_state") {
      found = true;
      CHECK(m["value_type"] == "state");
      CHECK(m["states"].size() > 1);
    }
  }
  CHECK(found);
}

TEST_CASE("alerts: open and resolved episodes, paging, events and acknowledgement",
          "[gateway][alerts][e2e]") {
  GatewayFixture gw;
  seed_fleet(gw.db);
  gw.db.exec(
      "INSERT INTO rules (id, name, condition) VALUES (1, 'asic-hot', 'chip_temp_max > 85')");
  // 30 resolved episodes on cool-miner, then one firing and one pending on hot-miner.
  gw.db.exec(
      "INSERT INTO alerts (rule_id, worker_id, kind, state, severity, started_at, fired_at, "
      "resolved_at, resolution) "
      "SELECT 1, 2, 'condition', 'resolved', 'warning', now() - g * interval '1 hour', now() - g * "
      "interval '1 hour', "
      "now() - g * interval '1 hour' + interval '5 minutes', 'cleared' FROM generate_series(1, 30) "
      "g");
  gw.db.exec(
      "INSERT INTO alerts (rule_id, worker_id, kind, state, severity, started_at, fired_at, value) "
      "VALUES (1, 1, 'condition', 'firing', 'critical', now() - interval '3 minutes', now() - "
      "interval '1 minute', 91)");
  const std::string firing = gw.db.scalar("SELECT max(id) FROM alerts");
  gw.db.exec(
      "INSERT INTO alert_events (alert_id, rule_id, worker_id, event, at, kind, severity, "
      "condition, metric, "
      "operator, threshold_value, current_value) VALUES (" +
      firing +
      ", 1, 1, 'triggered', now(), 'condition', 'critical', 'chip_temp_max > 85', 'chip_temp_max', "
      "'>', 85, 91)");

  auto open = gw.as("viewer", "GET", "/api/alerts?state=open");
  REQUIRE(open.status == 200);
  REQUIRE(open.body["items"].size() == 1);
  CHECK(open.body["items"][0]["worker_name"] == "hot-miner");
  CHECK(open.body["items"][0]["rule_name"] == "asic-hot");
  CHECK(open.body["items"][0]["value"] == 91.0);

  // History in pages of 10, newest first, each episode once.
  std::set<std::int64_t> seen;
  std::string after;
  int pages = 0;
  do {
    auto page =
        gw.as("viewer", "GET",
              "/api/alerts?state=resolved&limit=10" + (after.empty() ? "" : "&after=" + after));
    REQUIRE(page.status == 200);
    std::int64_t previous = INT64_MAX;
    for (const auto& a : page.body["items"]) {
      CHECK(a["id"].get<std::int64_t>() < previous);
      previous = a["id"].get<std::int64_t>();
      CHECK(seen.insert(previous).second);
    }
    after = page.body["next"].is_null() ? "" : page.body["next"].get<std::string>();
    ++pages;
  } while (!after.empty() && pages < 10);
  CHECK(seen.size() == 30);
  CHECK(pages == 3);

  auto detail = gw.as("viewer", "GET", "/api/alerts/" + firing);
  REQUIRE(detail.body["events"].size() == 1);
  CHECK(detail.body["events"][0]["threshold_value"] == 85.0);

  CHECK(gw.as("viewer", "POST", "/api/alerts/" + firing + "/ack").status == 403);
  auto acked = gw.as("operator", "POST", "/api/alerts/" + firing + "/ack");
  REQUIRE(acked.status == 200);
  CHECK(acked.body["acknowledged_by"] == "operator");
  CHECK(gw.db.scalar("SELECT acknowledged_by FROM alerts WHERE id = " + firing) == "operator");
  const std::string resolved = gw.db.scalar("SELECT min(id) FROM alerts");
  CHECK(gw.as("operator", "POST", "/api/alerts/" + resolved + "/ack").status == 409);
  CHECK(gw.as("operator", "POST", "/api/alerts/99999/ack").status == 404);
  CHECK(gw.as("viewer", "GET", "/api/alerts?state=burning").body["error"]["field"] == "state");
}

TEST_CASE("silences: create by duration or end time, list, end, bad ones change nothing",
          "[gateway][alerts][e2e]") {
  GatewayFixture gw;
  seed_fleet(gw.db);
  auto made = gw.as("operator", "POST", "/api/silences",
                    R"({"worker_id": 1, "duration": "2h", "reason": "fan swap"})");
  REQUIRE(made.status == 201);
  CHECK(made.body["state"] == "active");
  CHECK(made.body["worker_name"] == "hot-miner");
  CHECK(gw.db.scalar("SELECT round(extract(epoch FROM ends_at - starts_at)) FROM silences") ==
        "7200");

  // Tomorrow 10:00-11:00 UTC, the end written in UTC+1.
  const std::string day =
      gw.db.scalar("SELECT to_char(now() AT TIME ZONE 'UTC' + interval '1 day', 'YYYY-MM-DD')");
  auto later = gw.as("operator", "POST", "/api/silences",
                     json{{"labels", {{"rack", "A"}}},
                          {"starts_at", day + "T10:00:00Z"},
                          {"ends_at", day + "T12:00:00+01:00"},
                          {"reason", "maintenance"}}
                         .dump());
  REQUIRE(later.status == 201);
  CHECK(later.body["state"] == "scheduled");
  CHECK(gw.db.scalar(
            "SELECT round(extract(epoch FROM ends_at - starts_at)) FROM silences WHERE id = " +
            std::to_string(later.body["id"].get<std::int64_t>())) == "3600");

  const auto before = gw.db.count("silences");
  struct Case {
    std::string body, field;
    int status;
  };
  for (
      const auto& c : std::vector<Case>{
          {R"({"duration": "2h", "reason": "x"})", "worker_id", 400},
          {R"({"worker_id": 1, "reason": "x"})", "duration", 400},
          {R"({"worker_id": 1, "duration": "2h", "ends_at": "2099-01-01T00:00:00Z", "reason": "x"})",
           "ends_at", 400},
          {R"({"worker_id": 1, "duration": "forever", "reason": "x"})", "duration", 400},
          {R"({"worker_id": 1, "ends_at": "2099-02-30T00:00:00Z", "reason": "x"})", "ends_at", 400},
          {R"({"worker_id": 1, "ends_at": "2001-01-01T00:00:00Z", "reason": "x"})", "ends_at", 400},
          {R"({"worker_id": 1, "ends_at": "tomorrow", "reason": "x"})", "ends_at", 400},
          {R"({"worker_id": 1, "duration": "1h", "reason": "  "})", "reason", 400},
          {R"({"worker_id": 4242, "duration": "1h", "reason": "x"})", "worker_id", 422},
          {R"({"rule_id": 4242, "duration": "1h", "reason": "x"})", "rule_id", 422},
      }) {
    INFO(c.body);
    auto a = gw.as("operator", "POST", "/api/silences", c.body);
    CHECK(a.status == c.status);
    CHECK(a.body["error"].value("field", "") == c.field);
  }
  CHECK(gw.db.count("silences") == before);
  CHECK(gw.as("viewer", "POST", "/api/silences",
              R"({"worker_id": 1, "duration": "2h", "reason": "x"})")
            .status == 403);

  CHECK(gw.as("viewer", "GET", "/api/silences").body["items"].size() == 2);
  CHECK(gw.as("viewer", "GET", "/api/silences?active=true").body["items"].size() == 1);
  const std::string id = std::to_string(made.body["id"].get<std::int64_t>());
  auto ended = gw.as("operator", "DELETE", "/api/silences/" + id);
  REQUIRE(ended.status == 200);
  CHECK(ended.body["state"] == "ended");
  CHECK(ended.body["ended_by"] == "operator");
  CHECK(gw.as("operator", "DELETE", "/api/silences/" + id).status == 409);
  CHECK(gw.as("viewer", "GET", "/api/silences?all=true").body["items"].size() == 2);
  CHECK(gw.as("viewer", "GET", "/api/silences").body["items"].size() == 1);
}

TEST_CASE("commands: queued only with confirmation where it stops mining, idempotent, cancellable",
          "[gateway][commands][e2e]") {
  GatewayFixture gw;
  seed_fleet(gw.db);
  gw.db.exec(
      "INSERT INTO models (alias, full_name, presets) VALUES ('s19jpro', 'Antminer S19j Pro', "
      "'[{\"name\": \"disabled\"}, {\"name\": \"3000\"}]')");
  gw.db.exec(
      "INSERT INTO miners (worker_id, mac, model_alias) VALUES (1, '02:00:00:00:00:01', "
      "'s19jpro')");

  auto refused = gw.as("operator", "POST", "/api/workers/1/commands", R"({"action": "reboot"})");
  CHECK(refused.status == 400);
  CHECK(refused.body["error"]["field"] == "confirm");
  CHECK(gw.as("operator", "POST", "/api/workers/1/commands",
              R"({"action": "reboot", "confirm": false})")
            .status == 400);
  CHECK(
      gw.as("viewer", "POST", "/api/workers/1/commands", R"({"action": "reboot", "confirm": true})")
          .status == 403);
  CHECK(gw.as("operator", "POST", "/api/workers/1/commands", R"({"action": "selfdestruct"})")
            .body["error"]["field"] == "action");
  CHECK(gw.as("operator", "POST", "/api/workers/1/commands", R"({"action": "set_preset"})")
            .body["error"]["field"] == "params.preset");
  CHECK(gw.as("operator", "POST", "/api/workers/1/commands",
              R"({"action": "set_preset", "params": {"preset": "9000"}})")
            .status == 422);
  CHECK(gw.as("operator", "POST", "/api/workers/3/commands",
              R"({"action": "set_preset", "params": {"preset": "3000"}})")
            .status == 422);
  CHECK(gw.as("operator", "POST", "/api/workers/4/commands", R"({"action": "restart_mining"})")
            .status == 422);
  CHECK(gw.as("operator", "POST", "/api/workers/1/commands",
              R"({"action": "restart_mining", "params": {"x": 1}})")
            .body["error"]["field"] == "params.x");
  CHECK(gw.as("operator", "POST", "/api/workers/4242/commands", R"({"action": "restart_mining"})")
            .status == 404);
  CHECK(gw.db.count("commands") == 0);

  auto reboot = gw.as("operator", "POST", "/api/workers/1/commands",
                      R"({"action": "reboot", "confirm": true})");
  REQUIRE(reboot.status == 201);
  CHECK(reboot.body["state"] == "queued");
  CHECK(reboot.body["channel"] == "firmware");
  CHECK(reboot.body["origin"] == "user");
  CHECK(reboot.body["requested_by"] == "operator");
  CHECK(gw.as("operator", "POST", "/api/workers/3/commands", R"({"action": "restart_mining"})")
            .body["channel"] == "hiveos");
  auto preset = gw.as("operator", "POST", "/api/workers/1/commands",
                      R"({"action": "set_preset", "params": {"preset": "3000"}})");
  REQUIRE(preset.status == 201);
  CHECK(preset.body["params"]["preset"] == "3000");
  // Pause and resume keep the hashboards powered; the locate LED may be set instead of toggled.
  CHECK(gw.as("operator", "POST", "/api/workers/1/commands", R"({"action": "pause_mining"})")
            .body["channel"] == "firmware");
  CHECK(gw.as("operator", "POST", "/api/workers/3/commands", R"({"action": "resume_mining"})")
            .status == 422);
  auto led = gw.as("operator", "POST", "/api/workers/1/commands",
                   R"({"action": "find_miner", "params": {"on": true}})");
  REQUIRE(led.status == 201);
  CHECK(led.body["params"]["on"] == true);
  CHECK(gw.as("operator", "POST", "/api/workers/1/commands",
              R"({"action": "find_miner", "params": {"on": "yes"}})")
            .body["error"]["field"] == "params.on");

  // The same Idempotency-Key twice: one row, the same command back. (power_cycle needs the
  // worker's relay mapping: gateway_relays_e2e_test.cpp.)
  gw.db.exec(
      "INSERT INTO relay_controllers (id, name, driver, topic) VALUES (1, 'r1', 'tasmota', 'r1')");
  gw.db.exec(
      "INSERT INTO relay_mappings (worker_id, controller_id, channel, wiring) VALUES (1, 1, "
      "1, 'mains')");
  httplib::Headers h{{"Authorization", "Bearer " + gw.tokens.at("operator")},
                     {"Idempotency-Key", "click-7"}};
  auto first = gw.request("POST", "/api/workers/1/commands",
                          R"({"action": "power_cycle", "confirm": true})", h);
  auto again = gw.request("POST", "/api/workers/1/commands",
                          R"({"action": "power_cycle", "confirm": true})", h);
  REQUIRE(first.status == 201);
  CHECK(again.status == 200);
  CHECK(again.body["id"] == first.body["id"]);
  CHECK(first.body["channel"] == "relay");
  CHECK(gw.db.count("SELECT 1 FROM commands WHERE action = 'power_cycle'") == 1);
  CHECK(
      gw.request("POST", "/api/workers/1/commands", R"({"action": "restart_mining"})", h).status ==
      409);

  auto mine = gw.as("viewer", "GET", "/api/commands?worker_id=1");
  CHECK(mine.body["items"].size() == 5);
  CHECK(mine.body["items"][0]["action"] == "power_cycle");
  CHECK(gw.as("viewer", "GET", "/api/commands?state=queued&limit=2").body["next"].is_string());
  CHECK(gw.as("viewer", "GET", "/api/commands?state=lost").status == 400);

  const std::string id = std::to_string(reboot.body["id"].get<std::int64_t>());
  CHECK(gw.as("viewer", "GET", "/api/commands/" + id).body["action"] == "reboot");
  auto cancelled = gw.as("operator", "POST", "/api/commands/" + id + "/cancel");
  REQUIRE(cancelled.status == 200);
  CHECK(cancelled.body["state"] == "expired");
  CHECK_THAT(cancelled.body["last_error"].get<std::string>(), Contains("cancelled by operator"));
  CHECK(gw.as("operator", "POST", "/api/commands/" + id + "/cancel").status == 409);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/workers/{id}/commands' AND "
                    "target = 'worker:1' AND status = 201") == 5);
}

TEST_CASE("a 100,000-character scope key is a 400 and the gateway stays up (issue 15.1)",
          "[gateway][rules][e2e]") {
  GatewayFixture gw;
  const std::string key(100'000, 'a');
  const std::string scope = json{{key, "x"}}.dump();
  const std::string body = R"({"condition": "chip_temp_max > 85", "scope": )" + scope + "}";
  auto tested = gw.as("viewer", "POST", "/api/rules/test", body);
  CHECK(tested.status == 400);
  auto created =
      gw.as("operator", "POST", "/api/rules",
            R"({"name": "long key", "condition": "chip_temp_max > 85", "scope": )" + scope + "}");
  CHECK(created.status == 400);
  // The field named is ours, never the client's 100,000 characters.
  CHECK(created.raw.size() < 2 * key.size());
  CHECK(gw.as("viewer", "GET", "/api/summary").status == 200);
  CHECK(gw.gateway->running());
}

TEST_CASE("NUL characters in values and keys are refused by field and the refusal is audited",
          "[gateway][rules][e2e]") {
  GatewayFixture gw;
  // Before (issue 15.4): the name was stored cut to "ab" and not audited; NUL in a key was
  // refused by the database with no field, and its audit row was lost.
  auto name = gw.as("operator", "POST", "/api/rules",
                    R"({"name": "ab\u0000cd", "condition": "chip_temp_max > 85"})");
  CHECK(name.status == 400);
  CHECK(name.body["error"]["field"] == "name");
  auto key = gw.as("operator", "POST", "/api/rules",
                   R"({"name": "k", "condition": "chip_temp_max > 85", "scope": {"a\u0000b": 1}})");
  CHECK(key.status == 400);
  CHECK(key.body["error"]["field"] == "scope");
  auto nested =
      gw.as("viewer", "POST", "/api/rules/test",
            R"({"condition": "chip_temp_max > 85", "scope": {"labels": {"x": "y\u0000"}}})");
  CHECK(nested.status == 400);
  CHECK(nested.body["error"]["field"] == "scope.labels.x");
  CHECK(gw.db.count("rules") == 0);
  CHECK(gw.db.count("SELECT 1 FROM audit_log WHERE action = 'POST /api/rules' AND status = 400") ==
        2);
  auto query = gw.as("viewer", "GET", "/api/workers?status=on%00line");
  CHECK(query.status == 400);
}

TEST_CASE("rule tests are bounded: two at once, the rest get a 429 (issue 16.8)",
          "[gateway][rules][e2e]") {
  GatewayFixture gw;
  // Another session holds metrics_latest: the tests that get in wait for it.
  pqxx::connection blocker(gw.db.url());
  pqxx::work hold(blocker);
  hold.exec("LOCK TABLE metrics_latest IN ACCESS EXCLUSIVE MODE");
  const std::string body = R"({"condition": "chip_temp_max > 85"})";
  auto first = std::async(std::launch::async,
                          [&] { return gw.as("viewer", "POST", "/api/rules/test", body).status; });
  auto second = std::async(std::launch::async,
                           [&] { return gw.as("viewer", "POST", "/api/rules/test", body).status; });
  REQUIRE(eventually(
      [&] {
        return gw.db.count(
                   "SELECT 1 FROM pg_locks WHERE NOT granted AND relation = "
                   "'metrics_latest'::regclass") == 2;
      },
      std::chrono::seconds(10)));
  auto third = gw.as("viewer", "POST", "/api/rules/test", body);
  CHECK(third.status == 429);
  CHECK(third.body["error"]["code"] == "resource_exhausted");
  CHECK(third.headers.count("Retry-After") == 1);
  // Everything else is served meanwhile.
  CHECK(gw.as("viewer", "GET", "/api/rules").status == 200);
  hold.abort();
  CHECK(first.get() == 200);
  CHECK(second.get() == 200);
  CHECK(gw.as("viewer", "POST", "/api/rules/test", body).status == 200);
}
