// The firmware API of one simulated miner: authentication, status codes, error bodies, commands
// and body faults, through handle_vnish (no sockets).
#include <catch2/catch.hpp>

#include "sim_fixtures.h"

using namespace fleet::minersim;
using namespace fleet::minersim::test;
using nlohmann::json;
using std::chrono::seconds;

namespace {

std::string unlock(Miner& m, Now now = t0()) {
  auto r = call(m, {.method = "POST", .path = "/api/v1/unlock", .body = R"({"pw":"admin"})"}, now);
  REQUIRE(r.status == 200);
  return json_of(r)["token"];
}

}  // namespace

TEST_CASE("miner-sim: unlock: the right password gives a token, a wrong one 403 \"Wrong password\"",
          "[minersim][api]") {
  Miner m = make_miner();
  auto bad = call(m, {.method = "POST", .path = "/api/v1/unlock", .body = R"({"pw":"root"})"});
  CHECK(bad.status == 403);
  CHECK(body_of(bad) == "Wrong password");
  auto missing =
      call(m, {.method = "POST", .path = "/api/v1/unlock", .body = R"({"password":"x"})"});
  CHECK(missing.status == 400);
  CHECK_THAT(body_of(missing), Catch::Matchers::Contains("`pw`"));
  auto not_json = call(m, {.method = "POST", .path = "/api/v1/unlock", .body = "pw=admin"});
  CHECK(not_json.status == 400);
  const std::string token = unlock(m);
  CHECK(std::count(token.begin(), token.end(), '.') == 2);  // JWT-shaped
}

TEST_CASE("miner-sim: /summary requires a valid key or token", "[minersim][api]") {
  Miner m = keyed_miner();
  CHECK(call(m, {.path = "/api/v1/summary"}).status == 401);
  CHECK(body_of(call(m, {.path = "/api/v1/summary"})).empty());
  CHECK(
      call(m, {.path = "/api/v1/summary", .api_key = "ffffffffffffffffffffffffffffffff"}).status ==
      401);
  CHECK(call(m, {.path = "/api/v1/summary", .api_key = kKey}).status == 200);
  const std::string token = unlock(m);
  CHECK(call(m, {.path = "/api/v1/summary", .authorization = "Bearer " + token}).status == 200);
  // pyasic sends the token without "Bearer ".
  CHECK(call(m, {.path = "/api/v1/summary", .authorization = token}).status == 200);
  CHECK(call(m, {.path = "/api/v1/summary", .authorization = "Bearer nope"}).status == 401);
}

TEST_CASE("miner-sim: unlock tokens expire after the token TTL", "[minersim][api]") {
  Miner m = make_miner({.timing = {.token_ttl = seconds(300)}});
  const std::string token = unlock(m);
  const Call summary{.path = "/api/v1/summary", .authorization = "Bearer " + token};
  CHECK(call(m, summary, t0().plus(seconds(299))).status == 200);
  CHECK(call(m, summary, t0().plus(seconds(300))).status == 401);
  CHECK(call(m, {.path = "/api/v1/auth-check", .authorization = "Bearer " + token},
             t0().plus(seconds(301)))
            .status == 401);
}

TEST_CASE("miner-sim: API keys: bearer only, 32 hex chars or 422, insert/update/nochanges, delete",
          "[minersim][api]") {
  Miner m = make_miner();
  const std::string bearer = "Bearer " + unlock(m);
  const auto add = [&](const std::string& body, const std::string& auth) {
    return call(m,
                {.method = "POST", .path = "/api/v1/apikeys", .body = body, .authorization = auth});
  };
  CHECK(json_of(call(m, {.path = "/api/v1/apikeys", .authorization = bearer})) == json::array());
  for (const char* bad : {"not-hex-not-hex-not-hex-not-hex!", "0123456789abcdef", "zz",
                          "0123456789abcdef0123456789abcdef0"}) {
    auto r = add(json{{"key", bad}, {"description", "fleetward"}}.dump(), bearer);
    CAPTURE(bad);
    CHECK(r.status == 422);
    CHECK(body_of(r) == "Wrong apikey format");
  }
  const std::string body = json{{"key", kKey}, {"description", "fleetward"}}.dump();
  CHECK(add(body, "").status == 401);
  CHECK(json_of(add(body, bearer))["status"] == "inserted");
  CHECK(json_of(add(body, bearer))["status"] == "nochanges");
  CHECK(json_of(add(json{{"key", kKey}, {"description", "other"}}.dump(), bearer))["status"] ==
        "updated");
  CHECK(add(R"({"key":"0123456789abcdef0123456789abcdef"})", bearer).status == 400);
  const json keys = json_of(call(m, {.path = "/api/v1/apikeys", .authorization = bearer}));
  CHECK(keys ==
        json::parse(R"([{"key":"0123456789abcdef0123456789abcdef","description":"other"}])"));
  // A key alone does not manage keys (seed 003: a fresh bearer token is required).
  CHECK(call(m, {.path = "/api/v1/apikeys", .api_key = kKey}).status == 401);
  // ... but it does open /summary.
  CHECK(call(m, {.path = "/api/v1/summary", .api_key = kKey}).status == 200);
  auto del = call(m, {.method = "POST",
                      .path = "/api/v1/apikeys/delete",
                      .body = json{{"key", kKey}}.dump(),
                      .authorization = bearer});
  CHECK(del.status == 200);
  CHECK(call(m, {.path = "/api/v1/summary", .api_key = kKey}).status == 401);
}

TEST_CASE("miner-sim: the key store is bounded", "[minersim][api]") {
  Miner m = make_miner();
  for (size_t i = 0; i < Miner::kMaxApiKeys; ++i) {
    char key[33];
    std::snprintf(key, sizeof key, "%032zx", i);
    REQUIRE(m.add_key(key, "k") == AddKeyStatus::kInserted);
  }
  auto r = call(
      m, {.method = "POST",
          .path = "/api/v1/apikeys",
          .body = json{{"key", "ffffffffffffffffffffffffffffffff"}, {"description", "x"}}.dump(),
          .authorization = "Bearer " + unlock(m)});
  CHECK(r.status == 500);
  CHECK(json_of(r)["err"] == "Too many api keys");
}

TEST_CASE("miner-sim: revoked_key forgets every stored key, a new key works again",
          "[minersim][api]") {
  Miner m = keyed_miner();
  REQUIRE(call(m, {.path = "/api/v1/summary", .api_key = kKey}).status == 200);
  m.forget_keys();  // what the revoked_key event does
  CHECK(call(m, {.path = "/api/v1/summary", .api_key = kKey}).status == 401);
  REQUIRE(m.add_key("abcdefabcdefabcdefabcdefabcdefab", "fleetward") == AddKeyStatus::kInserted);
  CHECK(
      call(m, {.path = "/api/v1/summary", .api_key = "abcdefabcdefabcdefabcdefabcdefab"}).status ==
      200);
}

TEST_CASE("miner-sim: GET /settings takes the key only, POST /settings switches the preset",
          "[minersim][api]") {
  Miner m = keyed_miner({.model = "s19"});
  const std::string bearer = "Bearer " + unlock(m);
  CHECK(call(m, {.path = "/api/v1/settings", .authorization = bearer}).status == 401);
  CHECK(json_of(call(m, {.path = "/api/v1/settings",
                         .api_key = kKey}))["miner"]["overclock"]["preset"] == "disabled");
  auto set = call(m, {.method = "POST",
                      .path = "/api/v1/settings",
                      .body = R"({"miner":{"overclock":{"preset":"2950"}}})",
                      .authorization = bearer});
  CHECK(set.status == 200);
  CHECK(json_of(set) == json::parse(R"({"restart_required":false,"reboot_required":false})"));
  CHECK(json_of(call(m, {.path = "/api/v1/settings",
                         .api_key = kKey}))["miner"]["overclock"]["preset"] == "2950");
  CHECK(json_of(call(m, {.path = "/api/v1/perf-summary"}))["current_preset"]["name"] == "2950");
  // The preset applies through a mining restart, then hashes at the preset's rate (99 TH).
  const json after =
      json_of(call(m, {.path = "/api/v1/summary", .api_key = kKey}, t0().plus(seconds(30))));
  CHECK(after["miner"]["hr_nominal"] == 99000.0);
  // An unknown preset is ignored with the same answer (the firmware's documented quirk).
  auto unknown = call(m, {.method = "POST",
                          .path = "/api/v1/settings",
                          .body = R"({"miner":{"overclock":{"preset":"9999"}}})",
                          .api_key = kKey});
  CHECK(unknown.status == 200);
  CHECK(m.preset().name == "2950");
}

TEST_CASE("miner-sim: mining commands follow the state machine and fail like cgminer",
          "[minersim][api]") {
  Miner m = keyed_miner();
  const auto post = [&](const char* path, Now now) {
    return call(m, {.method = "POST", .path = path, .api_key = kKey}, now);
  };
  CHECK(post("/api/v1/mining/resume", t0()).status == 500);
  CHECK(json_of(post("/api/v1/mining/resume", t0()))["err"] ==
        "CGMiner err: Cgminer error failed-to-activate-resume-mode ");
  CHECK(post("/api/v1/mining/pause", t0()).status == 200);
  CHECK(m.state(t0()) == MinerStateKind::kStopped);
  CHECK(post("/api/v1/mining/pause", t0()).status == 500);
  CHECK(post("/api/v1/mining/resume", t0()).status == 200);
  CHECK(m.state(t0()) == MinerStateKind::kMining);
  CHECK(post("/api/v1/mining/stop", t0()).status == 200);
  CHECK(m.state(t0().plus(seconds(1))) == MinerStateKind::kShuttingDown);
  CHECK(m.state(t0().plus(seconds(3))) == MinerStateKind::kStopped);
  CHECK(json_of(post("/api/v1/mining/stop", t0().plus(seconds(3))))["err"] ==
        "CGMiner err: Cgminer error failed-to-activate-pause-mode ");
  CHECK(post("/api/v1/mining/start", t0().plus(seconds(3))).status == 200);
  CHECK(m.state(t0().plus(seconds(4))) == MinerStateKind::kStarting);
  CHECK(m.state(t0().plus(seconds(6))) == MinerStateKind::kInitializing);
  CHECK(m.state(t0().plus(seconds(11))) == MinerStateKind::kMining);
  CHECK(call(m, {.method = "POST", .path = "/api/v1/mining/restart"}).status == 401);
}

TEST_CASE("miner-sim: switch-pool, find-miner, reboot and lock answer like the firmware",
          "[minersim][api]") {
  Miner m = keyed_miner();
  auto bad_pool = call(m, {.method = "POST",
                           .path = "/api/v1/mining/switch-pool",
                           .body = R"({"pool_id":7})",
                           .api_key = kKey});
  CHECK(bad_pool.status == 500);
  CHECK(json_of(bad_pool)["err"] == "Could not find pool");
  CHECK(call(m, {.method = "POST",
                 .path = "/api/v1/mining/switch-pool",
                 .body = R"({"pool_id":1})",
                 .api_key = kKey})
            .status == 200);
  CHECK(json_of(call(m, {.method = "POST", .path = "/api/v1/find-miner"}))["on"] == true);
  CHECK(json_of(call(m, {.method = "POST", .path = "/api/v1/find-miner"}))["on"] == false);

  ApiEffects fx;
  auto reboot =
      call(m, {.method = "POST", .path = "/api/v1/system/reboot", .api_key = kKey}, t0(), &fx);
  CHECK(json_of(reboot) == json::parse(R"({"after":3})"));
  REQUIRE(fx.reboot_after.has_value());
  CHECK(*fx.reboot_after == seconds(3));
  call(m,
       {.method = "POST",
        .path = "/api/v1/system/reboot",
        .body = R"({"after":0})",
        .api_key = kKey},
       t0(), &fx);
  CHECK(*fx.reboot_after == seconds(0));
  CHECK(call(m, {.method = "POST",
                 .path = "/api/v1/system/reboot",
                 .body = R"({"after":-1})",
                 .api_key = kKey})
            .status == 400);

  const std::string token = unlock(m);
  CHECK(call(m, {.method = "POST", .path = "/api/v1/lock", .authorization = "Bearer " + token})
            .status == 200);
  CHECK(call(m, {.path = "/api/v1/auth-check", .authorization = "Bearer " + token}).status == 401);
  CHECK(call(m, {.method = "POST", .path = "/api/v1/lock", .api_key = kKey}).status == 401);
}

TEST_CASE("miner-sim: /status reports unlocked only for a request with valid credentials",
          "[minersim][api]") {
  Miner m = keyed_miner();
  CHECK(json_of(call(m, {.path = "/api/v1/status"}))["unlocked"] == false);
  CHECK(json_of(call(m, {.path = "/api/v1/status", .api_key = kKey}))["unlocked"] == true);
}

TEST_CASE("miner-sim: unknown paths are 404, wrong methods 405 with allow", "[minersim][api]") {
  Miner m = keyed_miner();
  CHECK(call(m, {.path = "/api/v1/nope"}).status == 404);
  CHECK(call(m, {.path = "/api/v1/summary/"}).status == 404);
  CHECK(call(m, {.path = "/api/v2/info"}).status == 404);
  auto r = call(m, {.method = "POST", .path = "/api/v1/info"});
  CHECK(r.status == 405);
  CHECK(r.extra_headers == "allow: GET\r\n");
  CHECK(call(m, {.method = "DELETE", .path = "/api/v1/apikeys"}).status == 405);
  CHECK(call(m, {.method = "GET", .path = "/api/v1/unlock"}).status == 405);
  CHECK(call(m, {.path = "/api/v1/logs/miner"}).status == 200);
  CHECK(call(m, {.path = "/api/v1/logs/nope"}).status == 404);
}

TEST_CASE("miner-sim: body faults break 200 answers only, and only on their path",
          "[minersim][api][faults]") {
  Miner m = keyed_miner();
  const std::string good = body_of(call(m, {.path = "/api/v1/info"}));

  SECTION("garbage") {
    m.add_fault({.kind = FaultKind::kGarbage});
    const std::string b = body_of(call(m, {.path = "/api/v1/info"}));
    CHECK(json::parse(b, nullptr, false).is_discarded());
    CHECK(b.find('\0') != std::string::npos);
    // Errors stay errors.
    CHECK(call(m, {.path = "/api/v1/summary"}).status == 401);
  }
  SECTION("truncated") {
    m.add_fault({.kind = FaultKind::kTruncated, .arg = 50});
    auto r = call(m, {.path = "/api/v1/info"});
    const std::string b = body_of(r);
    CHECK(b.size() == good.size() / 2);
    CHECK(good.substr(0, b.size()) == b);
    CHECK(json::parse(b, nullptr, false).is_discarded());
    CHECK(r.declared_length == UINT64_MAX);  // Content-Length matches what is sent
  }
  SECTION("huge: valid JSON of the requested size, the same document") {
    m.add_fault({.kind = FaultKind::kHuge, .arg = 5 * 1024 * 1024});
    auto r = call(m, {.path = "/api/v1/info"});
    CHECK(r.body_size() == 5u * 1024 * 1024);
    CHECK(r.body.size() == 2);  // virtual: no 5 MiB string was built
    CHECK(json::parse(body_of(r)) == json::parse(good));
  }
  SECTION("deep") {
    m.add_fault({.kind = FaultKind::kDeep, .arg = 1000});
    const std::string b = body_of(call(m, {.path = "/api/v1/info"}));
    CHECK(b == std::string(1000, '[') + std::string(1000, ']'));
  }
  SECTION("wrong_types") {
    m.add_fault({.kind = FaultKind::kWrongTypes});
    const json doc = json_of(call(m, {.path = "/api/v1/summary", .api_key = kKey}));
    CHECK(doc["miner"]["hr_realtime"].is_string());
    CHECK(doc["miner"]["miner_type"].is_number());
    CHECK(doc["miner"]["chains"].is_object());
    CHECK(doc["miner"]["chains"]["0"]["id"].is_string());
    CHECK(doc["miner"]["chains"]["0"]["status"]["state"].is_number());
  }
  SECTION("cut_transfer announces the full length and sends half") {
    m.add_fault({.kind = FaultKind::kCutTransfer});
    auto r = call(m, {.path = "/api/v1/info"});
    CHECK(r.declared_length == good.size());
    CHECK(r.close_after == good.size() / 2);
  }
  SECTION("a fault limited to one path leaves the others alone") {
    m.add_fault({.kind = FaultKind::kGarbage, .path = "/api/v1/summary"});
    CHECK(body_of(call(m, {.path = "/api/v1/info"})) == good);
    CHECK(
        json::parse(body_of(call(m, {.path = "/api/v1/summary", .api_key = kKey})), nullptr, false)
            .is_discarded());
  }
}

TEST_CASE("miner-sim: HEAD answers the headers of GET without a body", "[minersim][api]") {
  Miner m = keyed_miner();
  const std::string good = body_of(call(m, {.path = "/api/v1/info"}));
  auto r = call(m, {.method = "HEAD", .path = "/api/v1/info"});
  CHECK(r.status == 200);
  CHECK(r.body.empty());
  CHECK(r.declared_length == good.size());
}
