// The gateway's answers (shapes copied from services/api-gateway/routes_*.cpp) read into the
// client's structs, through the public Client with a scripted transport.
#include <catch2/catch.hpp>

#include "fake_transport.h"

using namespace fleet::client;
using fleet::test::fake_options;
using fleet::test::FakeTransport;
using fleet::test::ok;

namespace {

// A client whose every request is answered with `body`.
Client answering(const std::string& body, std::shared_ptr<FakeTransport>* out = nullptr) {
  auto t = std::make_shared<FakeTransport>([body](const HttpRequest&) { return ok(body); });
  if (out != nullptr) *out = t;
  return Client(fake_options(t));
}

const char* kMinerPage = R"({"items":[
 {"id":7,"name":"s19-a","mac":"fe:07:26:3c:be:1b","ip":"127.0.1.7","online":true,"status":"online","managed":true,
  "model_alias":"s19jpro","model_name":"Antminer S19j Pro","fw_version":"1.2.6","last_seen_at":"2026-01-05T10:00:00Z",
  "api_key_state":"active","last_poll_error":null,"unlock_password_set":false,
  "latest":{"status_id":900,"observed_at":"2026-01-05T10:00:00Z","miner_state":"mining","hashrate_ths":104.25,
   "hashrate_ratio":0.99,"power_w":3050.0,"efficiency_jth":29.3,"chip_temp_max":71.5,"pcb_temp_max":60.0,
   "fan_rpm_min":4200,"chips_red":0,"chips_orange":2}},
 {"id":8,"name":"s19-b","mac":"fe:07:26:3c:be:1c","ip":null,"online":false,"status":"offline","managed":false,
  "model_alias":null,"model_name":null,"fw_version":null,"last_seen_at":null,"api_key_state":"missing",
  "last_poll_error":"connect timeout","unlock_password_set":true,"latest":null}],
 "next":"8","limit":2})";

}  // namespace

TEST_CASE("client parsing: a miners page with and without a latest status") {
  std::shared_ptr<FakeTransport> t;
  Client c = answering(kMinerPage, &t);
  Page<Miner> page = c.miners().page({.managed = true, .model = "s19jpro", .limit = 2});
  REQUIRE(t->requests.size() == 1);
  CHECK(t->requests[0].method == "GET");
  CHECK(t->requests[0].target == "/api/miners?managed=true&model=s19jpro&limit=2");
  REQUIRE(page.items.size() == 2);
  CHECK(page.next == "8");
  CHECK(page.limit == 2);
  const Miner& a = page.items[0];
  CHECK(a.id == 7);
  CHECK(a.mac == "fe:07:26:3c:be:1b");
  CHECK(a.ip == "127.0.1.7");
  CHECK(a.online);
  CHECK(a.managed);
  CHECK(a.model_alias == "s19jpro");
  REQUIRE(a.latest.has_value());
  CHECK(a.latest->status_id == 900);
  CHECK(a.latest->hashrate_ths == Approx(104.25));
  CHECK(a.latest->fan_rpm_min == 4200);
  CHECK(a.latest->chips_orange == 2);
  CHECK(a.latest->miner_state == "mining");
  const Miner& b = page.items[1];
  CHECK_FALSE(b.ip.has_value());
  CHECK_FALSE(b.online);
  CHECK_FALSE(b.latest.has_value());
  CHECK_FALSE(b.model_alias.has_value());
  CHECK(b.last_poll_error == "connect timeout");
  CHECK(b.unlock_password_set);
  // The raw JSON keeps fields the struct does not model.
  CHECK(a.raw.find("\"pcb_temp_max\":60.0") != std::string::npos);
}

TEST_CASE("client parsing: a worker with its metrics, labels and nulls") {
  Client c = answering(
      R"({"id":5,"kind":"device","name":"Main Tank","farm_id":null,"farm":null,"site":"north",
    "ip":null,"status":"pending","status_since":"2026-01-05T09:00:00Z","last_seen_at":null,"managed":false,
    "labels":{"room":"b","rack":"3"},"metrics":{"temperature":{"observed_at":"2026-01-05T09:59:00Z","value":21.5},
    "state":{"observed_at":"2026-01-05T09:59:00Z","value":null,"json_value":{"mode":"auto"}}},
    "device":{"device_type":"thermometer"}})");
  WorkerDetail d = c.workers().get(5);
  CHECK(d.worker.id == 5);
  CHECK(d.worker.kind == "device");
  CHECK(d.worker.site == "north");
  CHECK_FALSE(d.worker.farm_id.has_value());
  CHECK(d.worker.labels == Labels{{"rack", "3"}, {"room", "b"}});
  REQUIRE(d.metrics.count("temperature") == 1);
  CHECK(d.metrics["temperature"].value == Approx(21.5));
  CHECK_FALSE(d.metrics["state"].value.has_value());
  CHECK(d.metrics["state"].json_value == R"({"mode":"auto"})");
  CHECK(d.raw.find("thermometer") != std::string::npos);
}

TEST_CASE("client parsing: models, services and the summary") {
  Client models = answering(R"({"items":[{"alias":"s19jpro","full_name":"Antminer S19j Pro",
    "presets":[{"name":"2900","pretty":"2900 watt","status":"tuned"},{"name":"3250","pretty":"3250","status":""}],
    "max_preset":"2900","miners":12}]})");
  auto list = models.models().list();
  REQUIRE(list.size() == 1);
  CHECK(list[0].presets.size() == 2);
  CHECK(list[0].presets[0].pretty == "2900 watt");
  CHECK(list[0].max_preset == "2900");
  CHECK(list[0].miners == 12);

  Client services =
      answering(R"({"items":[{"instance_id":"h-1-abc","service":"status-poller","host":"h","pid":41,
    "version":"0.1.0","mode":"loop","state":"stale","heartbeat_age_seconds":93.5,"cycles":10,"cycle_errors":1,
    "items_processed":400,"started_at":"2026-01-05T09:00:00Z","stats":{"polled":400},
    "last_success_age_seconds":null,"last_error":"db down","leader":null,"health_port":8091}]})");
  auto s = services.services();
  REQUIRE(s.size() == 1);
  CHECK(s[0].state == "stale");
  CHECK(s[0].heartbeat_age_seconds == Approx(93.5));
  CHECK(s[0].last_error == "db down");
  CHECK_FALSE(s[0].leader.has_value());
  CHECK(s[0].health_port == 8091);
  CHECK(s[0].stats_json == R"({"polled":400})");

  Client summary = answering(
      R"({"workers":{"asic":{"offline":3,"online":250},"device":{"pending":1}},"hashrate_ths":26000.5,"power_w":750000.0,"alerts_firing":4})");
  auto sum = summary.summary();
  CHECK(sum.workers["asic"]["online"] == 250);
  CHECK(sum.workers["device"]["pending"] == 1);
  CHECK(sum.hashrate_ths == Approx(26000.5));
  CHECK(sum.alerts_firing == 4);
}

TEST_CASE("client parsing: rules, validation answers and rule tests") {
  Client rules = answering(R"({"items":[{"id":3,"name":"hot chips","description":"","enabled":true,
    "condition":"chip_temp_max > 85","clear_condition":"chip_temp_max < 75","scope":{"kind":"asic","labels":{"room":"b"}},
    "for":"2m","keep_firing_for":"0s","stale_after":"5m","severity":"critical","no_data":"ignore","notify":true,
    "actions":[{"action":"restart_mining","after":"0s"},{"action":"reboot","after":"10m"}],
    "created_by":"admin","created_at":"2026-01-05T09:00:00Z","updated_at":"2026-01-05T09:00:00Z",
    "open":{"pending":1,"firing":2}}]})");
  auto list = rules.rules().list();
  REQUIRE(list.size() == 1);
  const Rule& r = list[0];
  CHECK(r.condition == "chip_temp_max > 85");
  CHECK(r.clear_condition == "chip_temp_max < 75");
  CHECK(r.scope.kind == "asic");
  CHECK(r.scope.labels == Labels{{"room", "b"}});
  CHECK(r.for_duration == "2m");
  REQUIRE(r.actions.size() == 2);
  CHECK(r.actions[1].action == "reboot");
  CHECK(r.actions[1].after == "10m");
  CHECK(r.pending == 1);
  CHECK(r.firing == 2);

  Client validate = answering(
      R"J({"valid":false,"errors":[{"field":"condition","position":0,"length":9,"column":1,
    "message":"unknown metric 'chip_temp' (did you mean chip_temp_max?)"}],"metrics":[]})J");
  auto check = validate.rules().validate("chip_temp > 1");
  CHECK_FALSE(check.valid);
  REQUIRE(check.errors.size() == 1);
  CHECK(check.errors[0].position == 0);
  CHECK(check.errors[0].message.find("chip_temp_max") != std::string::npos);

  Client test = answering(
      R"({"matches":[{"worker_id":7,"name":"s19-a","kind":"asic","values":{"chip_temp_max":91.5}}],
    "matched":1,"evaluated":250,"no_data":3})");
  auto result = test.rules().test("chip_temp_max > 85");
  REQUIRE(result.matches.size() == 1);
  CHECK(result.matches[0].values.at("chip_temp_max") == "91.5");
  CHECK(result.evaluated == 250);
  CHECK(result.no_data == 3);
}

TEST_CASE("client parsing: alerts, silences and commands") {
  Client alert =
      answering(R"({"id":11,"rule_id":3,"rule_name":"hot chips","worker_id":7,"worker_name":"s19-a",
    "worker_kind":"asic","kind":"condition","state":"firing","severity":"critical","started_at":"2026-01-05T09:00:00Z",
    "fired_at":"2026-01-05T09:02:00Z","resolved_at":null,"resolution":null,"value":91.5,"suppressed_by":null,
    "acknowledged_at":null,"acknowledged_by":null,"next_step":0,"observed":null,
    "events":[{"id":1,"event":"triggered","at":"2026-01-05T09:02:00Z","condition":"chip_temp_max > 85",
     "metric":null,"operator":null,"threshold_value":null,"current_value":91.5,"resolution":null,"metadata":{}}]})");
  Alert a = alert.alerts().get(11);
  CHECK(a.state == "firing");
  CHECK(a.value == Approx(91.5));
  CHECK(a.fired_at == "2026-01-05T09:02:00Z");
  CHECK_FALSE(a.resolved_at.has_value());
  REQUIRE(a.events.size() == 1);
  CHECK(a.events[0].event == "triggered");

  Client silence =
      answering(R"({"items":[{"id":2,"worker_id":null,"worker_name":null,"farm_id":null,
    "labels":{"room":"b"},"rule_id":3,"rule_name":"hot chips","starts_at":"2026-01-05T09:00:00Z",
    "ends_at":"2026-01-05T11:00:00Z","state":"active","reason":"maintenance","created_by":"admin","ended_by":null}]})");
  auto silences = silence.silences().list();
  REQUIRE(silences.size() == 1);
  CHECK(silences[0].labels == Labels{{"room", "b"}});
  CHECK(silences[0].rule_name == "hot chips");
  CHECK_FALSE(silences[0].worker_id.has_value());

  Client command = answering(R"({"id":40,"worker_id":7,"worker_name":"s19-a","action":"set_preset",
    "params":{"preset":"2900"},"channel":"firmware","origin":"user","rule_id":null,"alert_id":null,"step":null,
    "state":"queued","skip_reason":null,"attempts":0,"max_attempts":3,"requested_by":"operator",
    "created_at":"2026-01-05T09:00:00Z","updated_at":"2026-01-05T09:00:00Z","expires_at":"2026-01-05T09:30:00Z",
    "finished_at":null,"result":null,"last_error":null})");
  Command cmd = command.commands().get(40);
  CHECK(cmd.action == "set_preset");
  CHECK(cmd.params_json == R"({"preset":"2900"})");
  CHECK(cmd.channel == "firmware");
  CHECK(cmd.state == "queued");
  CHECK(cmd.result_json.empty());
}

TEST_CASE("client parsing: an answer missing a required field is a ProtocolError naming it") {
  Client c =
      answering(R"({"items":[{"id":7,"online":true,"managed":true}],"next":null,"limit":100})");
  try {
    c.miners().page();
    FAIL("no error");
  } catch (const ProtocolError& e) {
    CHECK(std::string(e.what()).find("'mac'") != std::string::npos);
  }
  Client not_json = answering("<html>proxy error</html>");
  CHECK_THROWS_AS(not_json.summary(), ProtocolError);
  Client no_items = answering(R"({"things":[]})");
  CHECK_THROWS_AS(no_items.models().list(), ProtocolError);
}
