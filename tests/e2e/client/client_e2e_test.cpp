// The client library against a running api-gateway on real PostgreSQL.
#include <catch2/catch.hpp>

#include <set>

#include "client_seed.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

TEST_CASE(
    "client e2e: API-key and login authentication, a wrong password is an AuthenticationError",
    "[client][e2e]") {
  GatewayFixture gw;
  client::Client session = login_client(gw, "operator");
  CHECK(session.me().via == "session");
  CHECK(session.me().role == "operator");

  // A key made through the API (shown once) authenticates a second client.
  client::ApiKey key = session.keys().create("e2e tests");
  REQUIRE(key.key.rfind("fwk_", 0) == 0);
  client::ClientOptions by_key = client_options(gw);
  by_key.api_key = key.key;
  client::Client keyed(by_key);
  client::Identity me = keyed.me();
  CHECK(me.via == "api_key");
  CHECK(me.role == "operator");
  CHECK(session.keys().list().at(0).key.empty());  // never shown again

  client::ClientOptions wrong = client_options(gw);
  wrong.username = "operator";
  wrong.password = "not the password";
  client::Client refused(wrong);
  CHECK_THROWS_AS(refused.summary(), client::AuthenticationError);

  client::ClientOptions bad_key = client_options(gw);
  bad_key.api_key = "fwk_nope_nope";
  try {
    client::Client(bad_key).summary();
    FAIL("accepted a wrong key");
  } catch (const client::AuthenticationError& e) {
    CHECK(e.status() == 401);
    CHECK(std::string(e.what()).find("fwk_nope") == std::string::npos);
  }

  // After logout the token is revoked; the client logs in again by itself on the next call.
  session.logout();
  CHECK_NOTHROW(session.summary());
}

TEST_CASE("client e2e: repeated failed logins give a RateLimitError with retry_after",
          "[client][e2e]") {
  GatewayFixture gw({"--set", "gateway.login_max_failures=3"});
  client::ClientOptions o = client_options(gw);
  client::Client c(o);
  for (int i = 0; i < 3; ++i)
    CHECK_THROWS_AS(c.login("viewer", "wrong password"), client::AuthenticationError);
  try {
    c.login("viewer", "wrong password");
    FAIL("not rate limited");
  } catch (const client::RateLimitError& e) {
    CHECK(e.status() == 429);
    CHECK(e.code() == "rate_limited");
    CHECK(e.retry_after() > std::chrono::seconds(0));
    CHECK(e.retry_after() <= std::chrono::seconds(15 * 60));
  }
}

TEST_CASE("client e2e: missing records, bad input and a missing role map to their errors",
          "[client][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 3);
  client::Client op = login_client(gw, "operator");
  client::Client viewer = login_client(gw, "viewer");

  CHECK_THROWS_AS(op.miners().get(4242), client::NotFoundError);
  CHECK_THROWS_AS(op.rules().get(99), client::NotFoundError);
  try {
    op.models().set_max_preset("s19jpro", "9999");
    FAIL("accepted an unknown preset");
  } catch (const client::ValidationError& e) {
    CHECK(e.field() == "max_preset");
    CHECK(e.status() == 400);
  }
  CHECK(gw.db.scalar("SELECT max_preset FROM models") == "");
  try {
    op.miners().page({.limit = 5000});
    FAIL("accepted limit 5000");
  } catch (const client::ValidationError& e) {
    CHECK(e.field() == "limit");
  }
  CHECK_THROWS_AS(viewer.miners().set_managed(1, true), client::PermissionError);
  CHECK(gw.db.scalar("SELECT managed FROM workers WHERE id = 1") == "f");
}

TEST_CASE(
    "client e2e: the auto-paging iterator walks 250 miners in pages of 100, each exactly once",
    "[client][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 250);
  client::Client c = login_client(gw, "viewer");

  std::multiset<std::int64_t> ids;
  std::set<std::string> macs;
  auto range = c.miners().all({.limit = 100});
  for (const client::Miner& m : range) {
    ids.insert(m.id);
    macs.insert(m.mac);
  }
  CHECK(ids.size() == 250);
  CHECK(std::set<std::int64_t>(ids.begin(), ids.end()).size() == 250);
  CHECK(macs.size() == 250);
  CHECK(*ids.begin() == 1);
  CHECK(*ids.rbegin() == 250);
  CHECK(range.pages_fetched() == 3);

  // Filters apply on every page: managed = every third (83), offline = every fifth (50).
  int managed = 0;
  for (const auto& m : c.miners().all({.managed = true, .limit = 30})) {
    CHECK(m.managed);
    CHECK(m.id % 3 == 0);
    ++managed;
  }
  CHECK(managed == 83);
  int offline = 0;
  for (const auto& m : c.miners().all({.online = false, .limit = 7})) {
    CHECK_FALSE(m.ip.has_value());
    ++offline;
  }
  CHECK(offline == 50);

  // Workers page the same way.
  std::set<std::int64_t> workers;
  for (const auto& w : c.workers().all({.kind = "asic", .limit = 100}))
    workers.insert(w.id);
  CHECK(workers.size() == 250);

  // One page: next is the cursor of the following page.
  auto page = c.miners().page({.limit = 100});
  CHECK(page.items.size() == 100);
  CHECK(page.next == "100");
  auto last = c.miners().page({.limit = 100}, std::string("200"));
  CHECK(last.items.size() == 50);
  CHECK_FALSE(last.next.has_value());
}

TEST_CASE("client e2e: miners and models are changed through the API", "[client][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 3);
  client::Client op = login_client(gw, "operator");
  client::Miner m = op.miners().set_managed(1, true);
  CHECK(m.managed);
  CHECK(gw.db.scalar("SELECT managed FROM workers WHERE id = 1") == "t");
  CHECK_FALSE(op.miners().set_managed(1, false).managed);
  CHECK(gw.db.scalar("SELECT managed FROM workers WHERE id = 1") == "f");
  CHECK(op.miners().rescan(2) > 0);
  CHECK(gw.db.count("miner_rescan_requests") == 1);

  op.models().set_max_preset("s19jpro", "2900");
  auto models = op.models().list();
  REQUIRE(models.size() == 1);
  CHECK(models[0].max_preset == "2900");
  CHECK(models[0].miners == 3);
  CHECK(models[0].presets.at(0).pretty == "2900 W");
  op.models().set_max_preset("s19jpro", std::nullopt);
  CHECK_FALSE(op.models().list()[0].max_preset.has_value());

  auto summary = op.summary();
  CHECK(summary.workers["asic"]["online"] == 3);
}

TEST_CASE("client e2e: a rule's whole life through the client, and silences", "[client][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 2);
  gw.db.exec(
      "INSERT INTO metrics_latest (worker_id, metric, value, observed_at) VALUES "
      "(1, 'chip_temp_max', 91, now()), (2, 'chip_temp_max', 70, now())");
  client::Client op = login_client(gw, "operator");

  // Validation as typed: the typo's position.
  const std::string typo = "chip_temp_max > 80 and chip_tmp_max < 200";
  auto check = op.rules().validate(typo);
  CHECK_FALSE(check.valid);
  REQUIRE_FALSE(check.errors.empty());
  CHECK(check.errors[0].position == static_cast<int>(typo.find("chip_tmp_max")));
  CHECK(op.rules().validate("chip_temp_max > 85").valid);

  // Saving the typo: a ValidationError with the field and the problem's position.
  try {
    op.rules().create({.name = "hot", .condition = typo});
    FAIL("saved an invalid rule");
  } catch (const client::ValidationError& e) {
    CHECK(e.field() == "condition");
    REQUIRE_FALSE(e.problems().empty());
    CHECK(e.problems()[0].position == static_cast<int>(typo.find("chip_tmp_max")));
  }
  CHECK(gw.db.count("rules") == 0);

  client::Rule rule =
      op.rules().create({.name = "hot",
                         .condition = "chip_temp_max > 85",
                         .scope = client::RuleScope{.kind = "asic"},
                         .for_duration = "2m",
                         .severity = "critical",
                         .actions = std::vector<client::RuleStep>{{"restart_mining", "", ""}}});
  CHECK(rule.id > 0);
  CHECK(rule.scope.kind == "asic");
  CHECK(rule.for_duration == "2m");
  CHECK(rule.created_by == "operator");
  CHECK_THROWS_AS(op.rules().create({.name = "hot", .condition = "chip_temp_max > 1"}),
                  client::ConflictError);

  client::Rule changed = op.rules().update(
      rule.id, {.condition = "chip_temp_max > 88", .clear_condition = "chip_temp_max < 75"});
  CHECK(changed.condition == "chip_temp_max > 88");
  CHECK(changed.clear_condition == "chip_temp_max < 75");
  CHECK(changed.severity == "critical");  // untouched fields stay
  CHECK(op.rules().get(rule.id).condition == "chip_temp_max > 88");
  CHECK(op.rules().update_json(rule.id, R"({"enabled": false})").enabled == false);
  REQUIRE(op.rules().list().size() == 1);

  auto test = op.rules().test("chip_temp_max > 85", client::RuleScope{.kind = "asic"});
  REQUIRE(test.matches.size() == 1);
  CHECK(test.matches[0].worker_id == 1);
  CHECK(test.evaluated == 2);

  // Alerts of the rule: the open one is listed and acknowledged; a resolved one cannot be.
  gw.db.exec(
      "INSERT INTO alerts (rule_id, worker_id, kind, state, severity, started_at, fired_at, value) "
      "VALUES (" +
      std::to_string(rule.id) + ", 1, 'condition', 'firing', 'critical', now(), now(), 91)");
  gw.db.exec(
      "INSERT INTO alerts (rule_id, worker_id, kind, state, severity, started_at, resolved_at, "
      "resolution) "
      "VALUES (" +
      std::to_string(rule.id) +
      ", 2, 'condition', 'resolved', 'critical', now(), now(), 'cleared')");
  std::vector<client::Alert> open;
  for (const auto& a : op.alerts().all({.state = "open", .limit = 1}))
    open.push_back(a);
  REQUIRE(open.size() == 1);
  CHECK(open[0].worker_id == 1);
  CHECK(open[0].value == Approx(91));
  CHECK(open[0].rule_name == "hot");
  int every = 0;
  for (const auto& a : op.alerts().all({.limit = 1}))
    every += a.rule_id == rule.id ? 1 : 0;
  CHECK(every == 2);
  client::Alert acked = op.alerts().acknowledge(open[0].id);
  CHECK(acked.acknowledged_by == "operator");
  CHECK(gw.db.scalar("SELECT acknowledged_by FROM alerts WHERE id = " +
                     std::to_string(open[0].id)) == "operator");
  const std::string resolved = gw.db.scalar("SELECT id FROM alerts WHERE state = 'resolved'");
  CHECK_THROWS_AS(op.alerts().acknowledge(std::stoll(resolved)), client::ConflictError);
  CHECK(op.alerts().get(open[0].id).state == "firing");

  client::Silence s =
      op.silences().create({.rule_id = rule.id, .duration = "2h", .reason = "firmware update"});
  CHECK(s.state == "active");
  CHECK(s.rule_name == "hot");
  REQUIRE(op.silences().list().size() == 1);
  CHECK(op.silences().end(s.id).state == "ended");
  CHECK(op.silences().list().empty());
  CHECK(op.silences().list(true).size() == 1);
  try {
    op.silences().create({.worker_id = 1, .reason = "no duration"});
    FAIL("accepted a silence without an end");
  } catch (const client::ValidationError& e) {
    CHECK(e.field() == "duration");
  }

  op.rules().remove(rule.id);
  CHECK_THROWS_AS(op.rules().get(rule.id), client::NotFoundError);
  CHECK(gw.db.count("rules") == 0);
}

TEST_CASE("client e2e: commands are queued only with confirm where needed, listed, cancelled",
          "[client][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 2);
  client::Client op = login_client(gw, "operator");

  try {
    op.commands().queue(1, {.action = "reboot"});
    FAIL("queued a reboot without confirm");
  } catch (const client::ValidationError& e) {
    CHECK(e.field() == "confirm");
  }
  CHECK(gw.db.count("commands") == 0);

  client::Command reboot = op.commands().queue(1, {.action = "reboot", .confirm = true});
  CHECK(reboot.state == "queued");
  CHECK(reboot.action == "reboot");
  CHECK(reboot.requested_by == "operator");
  CHECK(gw.db.count("commands") == 1);

  // The same idempotency key twice: one command.
  auto a = op.commands().queue(
      2, {.action = "set_preset", .preset = "3250", .idempotency_key = "click-1"});
  auto b = op.commands().queue(
      2, {.action = "set_preset", .preset = "3250", .idempotency_key = "click-1"});
  CHECK(a.id == b.id);
  CHECK(a.params_json == R"({"preset":"3250"})");
  CHECK(gw.db.count("commands") == 2);

  std::vector<std::int64_t> listed;
  for (const auto& c : op.commands().all({.limit = 1}))
    listed.push_back(c.id);
  CHECK(listed == std::vector<std::int64_t>{a.id, reboot.id});  // newest first, across pages
  CHECK(op.commands().get(reboot.id).worker_id == 1);

  CHECK(op.commands().cancel(reboot.id).state == "expired");
  CHECK_THROWS_AS(op.commands().cancel(reboot.id), client::ConflictError);
}
