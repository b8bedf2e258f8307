// `fleetctl api ...` against a running api-gateway: output, changes, exit codes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "client_seed.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;

namespace {

// Runs fleetctl with the API URL and key (or password) in the environment; no database.
RunResult fleetctl(const GatewayFixture& gw, const std::vector<std::string>& args,
                   std::map<std::string, std::string> env = {}) {
  Process::Options o;
  o.env = std::move(env);
  if (!o.env.count("FLEET_API_URL"))
    o.env["FLEET_API_URL"] = "http://127.0.0.1:" + std::to_string(gw.port);
  o.unset_env = {"DATABASE_URL", "POSTGRES_SERVER", "POSTGRES_DB", "POSTGRES_USER",
                 "POSTGRES_PASSWORD"};
  for (const char* name : {"FLEET_API_KEY", "FLEET_API_USER", "FLEET_API_PASSWORD"}) {
    if (!o.env.count(name)) o.unset_env.push_back(name);
  }
  return run(binary("fleetctl"), args, o);
}

std::map<std::string, std::string> as_operator() {
  return {{"FLEET_API_USER", "operator"}, {"FLEET_API_PASSWORD", GatewayFixture::kPassword}};
}

}  // namespace

TEST_CASE("fleetctl api: miners list/manage, models, summary and services through the API",
          "[client][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 120);

  auto page = fleetctl(gw, {"api", "miners", "list", "--limit", "50"}, as_operator());
  REQUIRE(page.code == 0);
  CHECK_THAT(page.out, Contains("02:00:00:00:00:01"));
  CHECK_THAT(page.out, Contains("miner-50"));
  CHECK_THAT(page.out, !Contains("miner-51 "));
  CHECK_THAT(page.out, Contains("--all"));

  auto all =
      fleetctl(gw, {"api", "miners", "list", "--all", "--limit", "50", "--json"}, as_operator());
  REQUIRE(all.code == 0);
  auto doc = nlohmann::json::parse(all.out);
  REQUIRE(doc.size() == 120);
  CHECK(doc[119]["id"] == 120);

  auto offline =
      fleetctl(gw, {"api", "miners", "list", "--offline", "--all", "--json"}, as_operator());
  REQUIRE(offline.code == 0);
  CHECK(nlohmann::json::parse(offline.out).size() == 24);

  // The flags work after the subcommand too, and beat the environment.
  auto manage = fleetctl(
      gw, {"api", "miners", "manage", "1", "--user", "operator"},
      {{"FLEET_API_PASSWORD", GatewayFixture::kPassword}, {"FLEET_API_URL", "http://127.0.0.1:1"}});
  CHECK(manage.code == 1);  // the URL from the environment points nowhere
  manage = fleetctl(
      gw,
      {"api", "--api-url", "http://127.0.0.1:" + std::to_string(gw.port), "miners", "manage", "1",
       "--user", "operator"},
      {{"FLEET_API_PASSWORD", GatewayFixture::kPassword}, {"FLEET_API_URL", "http://127.0.0.1:1"}});
  REQUIRE(manage.code == 0);
  CHECK_THAT(manage.out, Contains("is managed"));
  CHECK(gw.db.scalar("SELECT managed FROM workers WHERE id = 1") == "t");

  auto preset = fleetctl(gw, {"api", "models", "set-preset", "s19jpro", "2900"}, as_operator());
  REQUIRE(preset.code == 0);
  CHECK(gw.db.scalar("SELECT max_preset FROM models") == "2900");
  auto bad_preset = fleetctl(gw, {"api", "models", "set-preset", "s19jpro", "9999"}, as_operator());
  CHECK(bad_preset.code == 1);
  CHECK_THAT(bad_preset.err, Contains("field: max_preset"));
  CHECK(gw.db.scalar("SELECT max_preset FROM models") == "2900");
  auto models = fleetctl(gw, {"api", "models", "list"}, as_operator());
  CHECK_THAT(models.out, Contains("s19jpro"));
  CHECK_THAT(models.out, Contains("2900, 3250"));

  auto summary = fleetctl(gw, {"api", "summary", "--json"}, as_operator());
  REQUIRE(summary.code == 0);
  CHECK(nlohmann::json::parse(summary.out)["workers"]["asic"]["online"] == 96);

  auto services = fleetctl(gw, {"api", "services"}, as_operator());
  REQUIRE(services.code == 0);
  CHECK_THAT(services.out, Contains("api-gateway"));
}

TEST_CASE("fleetctl api: commands need --yes for reboot, rules validate, silences",
          "[client][e2e]") {
  GatewayFixture gw;
  seed_miners(gw.db, 2);

  auto refused = fleetctl(gw, {"api", "command", "1", "reboot"}, as_operator());
  CHECK(refused.code == 2);
  CHECK_THAT(refused.err, Contains("--yes"));
  CHECK(gw.db.count("commands") == 0);

  auto queued = fleetctl(gw, {"api", "command", "1", "reboot", "--yes"}, as_operator());
  REQUIRE(queued.code == 0);
  CHECK_THAT(queued.out, Contains("reboot on worker 1"));
  CHECK(gw.db.scalar("SELECT action || ':' || state || ':' || requested_by FROM commands") ==
        "reboot:queued:operator");
  auto preset =
      fleetctl(gw, {"api", "command", "2", "set_preset", "--preset", "9000"}, as_operator());
  CHECK(preset.code == 1);
  CHECK_THAT(preset.err, Contains("params.preset"));
  auto list = fleetctl(gw, {"api", "commands", "list"}, as_operator());
  REQUIRE(list.code == 0);
  CHECK_THAT(list.out, Contains("reboot"));
  CHECK_THAT(list.out, Contains("queued"));

  auto invalid = fleetctl(gw, {"api", "rules", "validate", "chip_tmp_max > 80"}, as_operator());
  CHECK(invalid.code == 1);
  CHECK_THAT(invalid.out, Contains("chip_tmp_max"));
  CHECK_THAT(invalid.out, Contains("^^^^"));
  auto valid = fleetctl(gw, {"api", "rules", "validate", "chip_temp_max > 80"}, as_operator());
  CHECK(valid.code == 0);
  CHECK_THAT(valid.out, Contains("valid"));

  auto silence = fleetctl(
      gw, {"api", "silence", "add", "--worker", "1", "--duration", "2h", "--reason", "swap fans"},
      as_operator());
  REQUIRE(silence.code == 0);
  CHECK(gw.db.count("silences") == 1);
  auto silences = fleetctl(gw, {"api", "silence", "list"}, as_operator());
  CHECK_THAT(silences.out, Contains("swap fans"));
  CHECK_THAT(silences.out, Contains("worker=miner-1"));
}

TEST_CASE("fleetctl api: credentials and connection problems give exit codes 1 and 2",
          "[client][e2e]") {
  GatewayFixture gw;
  auto none = fleetctl(gw, {"api", "summary"});
  CHECK(none.code == 2);
  CHECK_THAT(none.err, Contains("no credentials"));

  auto wrong = fleetctl(gw, {"api", "summary"}, {{"FLEET_API_KEY", "fwk_wrong_key_123"}});
  CHECK(wrong.code == 1);
  CHECK_THAT(wrong.err, Contains("HTTP 401"));
  CHECK_THAT(wrong.err, !Contains("fwk_wrong_key_123"));

  auto password = fleetctl(gw, {"api", "whoami"},
                           {{"FLEET_API_USER", "viewer"}, {"FLEET_API_PASSWORD", "nope"}});
  CHECK(password.code == 1);
  CHECK_THAT(password.err, !Contains("nope"));

  auto viewer =
      fleetctl(gw, {"api", "whoami"},
               {{"FLEET_API_USER", "viewer"}, {"FLEET_API_PASSWORD", GatewayFixture::kPassword}});
  REQUIRE(viewer.code == 0);
  CHECK_THAT(viewer.out, Contains("viewer (viewer, via session)"));
  auto forbidden =
      fleetctl(gw, {"api", "command", "1", "restart_mining"},
               {{"FLEET_API_USER", "viewer"}, {"FLEET_API_PASSWORD", GatewayFixture::kPassword}});
  CHECK(forbidden.code == 1);
  CHECK_THAT(forbidden.err, Contains("HTTP 403"));

  auto unreachable =
      fleetctl(gw, {"api", "summary"},
               {{"FLEET_API_URL", "http://127.0.0.1:1"}, {"FLEET_API_KEY", "fwk_x"}});
  CHECK(unreachable.code == 1);
  CHECK_THAT(unreachable.err, Contains("cannot reach"));
  auto bad_url = fleetctl(gw, {"api", "summary"},
                          {{"FLEET_API_URL", "127.0.0.1:8080"}, {"FLEET_API_KEY", "k"}});
  CHECK(bad_url.code == 2);
}
