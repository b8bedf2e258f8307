// Node agents' side of the gateway (issue 13) without a database: registration token and node
// credential formats, the node role, the node credential cache (revocation, rotation grace,
// races with a forget), heartbeat validation and the over-limit check.
#include <catch2/catch.hpp>

#include "api_error.h"
#include "auth/credentials.h"
#include "auth/node_credentials.h"
#include "node_credential_cache.h"
#include "node_ingest.h"

using namespace fleet;
using namespace fleet::gateway;
using nlohmann::json;

TEST_CASE("registration tokens: fwr_<12 alnum id>_<43-char secret>, stored as a SHA-256 hash",
          "[auth][nodes]") {
  const auto t = auth::generate_registration_token();
  CHECK(t.token.size() == 4 + 12 + 1 + 43);
  CHECK(t.token.rfind("fwr_" + t.token_id + "_", 0) == 0);
  CHECK(t.token_id.find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == std::string::npos);
  CHECK(t.hash == auth::credential_hash(t.token));
  CHECK(t.hash.size() == 64);
  CHECK(auth::registration_token_id(t.token) == t.token_id);
  CHECK(auth::generate_registration_token().token != t.token);
  std::string secret(43, 'a');
  CHECK(auth::registration_token_id("fwr_abcdefABCDEF_" + secret) == "abcdefABCDEF");
  for (const std::string& bad :
       {std::string("fwk_abcdefABCDEF_") + secret, "fwr_abcdef-BCDEF_" + secret,
        "fwr_abcdefABCDEF_" + secret.substr(1), "fwr_abcdefABCDEF_" + secret + "a",
        "fwr_abcdefABCDEF_" + secret.substr(1) + "!", std::string("fwr_"), std::string()}) {
    INFO(bad);
    CHECK_FALSE(auth::registration_token_id(bad));
  }
}

TEST_CASE("node credentials name their worker: fwn_<id>_<43-char secret>", "[auth][nodes]") {
  const auto c = auth::generate_node_credential(4711);
  CHECK(c.credential.rfind("fwn_4711_", 0) == 0);
  CHECK(c.credential.size() == 9 + 43);
  CHECK(c.hash == auth::credential_hash(c.credential));
  CHECK(auth::node_credential_worker(c.credential) == 4711);
  CHECK(auth::generate_node_credential(4711).credential != c.credential);
  const std::string secret(43, '_');  // '_' is a URL-safe character of the secret
  CHECK(auth::node_credential_worker("fwn_9223372036854775807_" + secret) == INT64_MAX);
  for (const std::string& bad :
       {"fwn_0_" + secret, "fwn_-1_" + secret, "fwn_01_" + secret, "fwn_1a_" + secret,
        "fwn__" + secret, "fwn_1_" + secret.substr(1), "fwn_1_" + secret + "x",
        "fwn_99999999999999999999_" + secret, "fwk_1_" + secret,
        "fwn_1_" + std::string(42, 'a') + "=", std::string("fwn_1")}) {
    INFO(bad);
    CHECK_FALSE(auth::node_credential_worker(bad));
  }
}

TEST_CASE("the node role allows only node routes and no user role allows them", "[auth][nodes]") {
  using auth::Role;
  CHECK(auth::allows(Role::kNode, Role::kNode));
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin, Role::kIngest}) {
    CHECK_FALSE(auth::allows(Role::kNode, r));
    CHECK_FALSE(auth::allows(r, Role::kNode));
  }
  CHECK(auth::to_string(Role::kNode) == "node");
  // No user or API key can be given it.
  CHECK_FALSE(auth::parse_role("node"));
}

namespace {

struct FakeNodes {
  std::map<std::int64_t, NodeCredentialState> rows;
  int loads = 0;
  std::function<void()> during_load;
  NodeCredentialCache::Load loader() {
    return [this](std::int64_t id) -> std::optional<NodeCredentialState> {
      ++loads;
      if (during_load) during_load();
      auto it = rows.find(id);
      if (it == rows.end()) return std::nullopt;
      return it->second;
    };
  }
};

}  // namespace

TEST_CASE("verified node credentials are cached and forget() applies a revocation at once",
          "[gateway][nodes]") {
  ManualClock clock;
  FakeNodes db;
  const auto c = auth::generate_node_credential(7);
  db.rows[7] = {.hash = c.hash};
  NodeCredentialCache cache(db.loader(), clock, std::chrono::seconds(60));

  REQUIRE(cache.verify(c.credential).ok());
  CHECK(*cache.verify(c.credential) == 7);
  CHECK(db.loads == 1);  // the second one came from the cache

  db.rows[7].revoked = true;
  CHECK(cache.verify(c.credential).ok());  // cached until told
  cache.forget(7);
  auto refused = cache.verify(c.credential);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind() == ErrorKind::kUnauthenticated);
  CHECK(refused.error().message() == "node credential revoked");

  // forget_all() too (the listener reconnected), and entries expire after the TTL.
  db.rows[7].revoked = false;
  cache.forget_all();
  CHECK(cache.verify(c.credential).ok());
  const int loads = db.loads;
  clock.advance(std::chrono::seconds(61));
  CHECK(cache.verify(c.credential).ok());
  CHECK(db.loads == loads + 1);
}

TEST_CASE("a load that races with a forget is not cached", "[gateway][nodes]") {
  ManualClock clock;
  FakeNodes db;
  const auto c = auth::generate_node_credential(8);
  db.rows[8] = {.hash = c.hash};
  NodeCredentialCache cache(db.loader(), clock, std::chrono::seconds(60));
  // The revocation's NOTIFY arrives while the (older) state is being read.
  db.during_load = [&] {
    cache.forget(8);
    db.during_load = nullptr;
  };
  CHECK(cache.verify(c.credential).ok());
  db.rows[8].revoked = true;
  CHECK_FALSE(cache.verify(c.credential).ok());
}

TEST_CASE("after a rotation the previous credential works until previous_valid_until",
          "[gateway][nodes]") {
  ManualClock clock;
  FakeNodes db;
  const auto old = auth::generate_node_credential(9);
  const auto fresh = auth::generate_node_credential(9);
  db.rows[9] = {.hash = fresh.hash,
                .previous_hash = old.hash,
                .previous_valid_until = clock.wall_now() + std::chrono::minutes(5)};
  NodeCredentialCache cache(db.loader(), clock, std::chrono::seconds(3600));
  CHECK(cache.verify(fresh.credential).ok());
  CHECK(cache.verify(old.credential).ok());
  clock.advance(std::chrono::minutes(5));
  auto late = cache.verify(old.credential);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().message() == "invalid node credential");
  CHECK(cache.verify(fresh.credential).ok());
}

TEST_CASE("a wrong secret re-reads the node at most once a second and unknown nodes are refused",
          "[gateway][nodes]") {
  ManualClock clock(std::chrono::steady_clock::time_point{}, std::chrono::system_clock::now());
  FakeNodes db;
  const auto right = auth::generate_node_credential(10);
  const auto rotated_elsewhere = auth::generate_node_credential(10);
  db.rows[10] = {.hash = right.hash};
  NodeCredentialCache cache(db.loader(), clock, std::chrono::seconds(3600));
  REQUIRE(cache.verify(right.credential).ok());
  const auto guess = auth::generate_node_credential(10);
  CHECK_FALSE(cache.verify(guess.credential).ok());
  CHECK_FALSE(cache.verify(guess.credential).ok());
  CHECK(db.loads == 1);  // guesses within the second cost no query
  // Rotated on another replica before its NOTIFY arrived here: works after the recheck delay.
  db.rows[10].hash = rotated_elsewhere.hash;
  clock.advance(std::chrono::seconds(1));
  CHECK(cache.verify(rotated_elsewhere.credential).ok());
  CHECK(db.loads == 2);
  CHECK_FALSE(cache.verify(auth::generate_node_credential(11).credential).ok());
  CHECK(cache.verify("fwn_garbage").error().message() == "malformed node credential");
}

namespace {

const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

json valid_heartbeat() {
  return {{"seq", 5},
          {"sent_at", "2027-01-15T08:00:00.123Z"},
          {"cpu_percent", 91},
          {"memory_percent", 20.5},
          {"disk_percent", 95},
          {"containers", 2},
          {"containers_running", 1},
          {"container_list",
           {{{"id", "a1"},
             {"name", "web"},
             {"state", "running"},
             {"labels", {{"k", "v"}}},
             {"ports",
              {{{"container_port", 8080},
                {"host_port", 20001},
                {"host_ip", "127.0.0.5"},
                {"protocol", "tcp"}}}}}}}};
}

}  // namespace

TEST_CASE("a valid heartbeat is parsed and limits_broken names what is over", "[gateway][nodes]") {
  const Heartbeat h = parse_heartbeat(valid_heartbeat().dump(), 3, kNow, std::chrono::seconds(60));
  CHECK(h.worker_id == 3);
  CHECK(h.seq == 5);
  CHECK(h.sent_at == "2027-01-15T08:00:00.123000Z");
  CHECK_FALSE(h.clock_ahead);
  CHECK(h.cpu_percent == 91);
  CHECK(h.containers_running == 1);
  CHECK(json::parse(h.container_list)[0]["labels"]["k"] == "v");
  CHECK(json::parse(h.container_list)[0]["ports"][0]["host_port"] == 20001);
  CHECK(limits_broken(h, NodeLimits{}) == std::vector<std::string>{"cpu_percent", "disk_percent"});
  CHECK(limits_broken(h, NodeLimits{.cpu_percent = 95, .memory_percent = 95, .disk_percent = 95})
            .empty());
}

TEST_CASE("a sent_at beyond the allowed skew is replaced by the gateway's time",
          "[gateway][nodes]") {
  json b = valid_heartbeat();
  b["sent_at"] = "2027-01-15T08:01:01Z";  // kNow is 2027-01-15T08:00:00Z
  const Heartbeat ahead = parse_heartbeat(b.dump(), 3, kNow, std::chrono::seconds(60));
  CHECK(ahead.clock_ahead);
  CHECK(ahead.sent_at == "2027-01-15T08:00:00.000000Z");
  b["sent_at"] = "2027-01-15T08:00:59Z";
  CHECK_FALSE(parse_heartbeat(b.dump(), 3, kNow, std::chrono::seconds(60)).clock_ahead);
}

TEST_CASE("bad heartbeats are refused naming the field", "[gateway][nodes]") {
  struct Case {
    const char* name;
    std::function<void(json&)> change;
    const char* field;
  };
  const std::vector<Case> cases = {
      {"cpu over 100", [](json& b) { b["cpu_percent"] = 100.01; }, "cpu_percent"},
      {"memory negative", [](json& b) { b["memory_percent"] = -0.1; }, "memory_percent"},
      {"disk as text", [](json& b) { b["disk_percent"] = "1"; }, "disk_percent"},
      {"disk as bool", [](json& b) { b["disk_percent"] = true; }, "disk_percent"},
      {"huge number", [](json& b) { b["cpu_percent"] = 1e308; }, "cpu_percent"},
      {"seq missing", [](json& b) { b.erase("seq"); }, "seq"},
      {"seq as text", [](json& b) { b["seq"] = "5"; }, "seq"},
      {"containers over a million", [](json& b) { b["containers"] = 1'000'001; }, "containers"},
      {"running > containers", [](json& b) { b["containers_running"] = 3; }, "containers_running"},
      {"sent_at local time", [](json& b) { b["sent_at"] = "2027-01-15T08:00:00"; }, "sent_at"},
      {"sent_at offset", [](json& b) { b["sent_at"] = "2027-01-15T09:00:00+01:00"; }, "sent_at"},
      {"sent_at number", [](json& b) { b["sent_at"] = 1700000000; }, "sent_at"},
      {"entry not an object", [](json& b) { b["container_list"][0] = "web"; }, "container_list[0]"},
      {"entry id not a string", [](json& b) { b["container_list"][0]["id"] = 1; },
       "container_list[0].id"},
      {"status too long", [](json& b) { b["container_list"][0]["status"] = std::string(201, 's'); },
       "container_list[0].status"},
      {"too many labels",
       [](json& b) {
         for (int i = 0; i < 101; ++i)
           b["container_list"][0]["labels"]["l" + std::to_string(i)] = "v";
       },
       "container_list[0].labels"},
      {"NUL in a label",
       [](json& b) { b["container_list"][0]["labels"]["k"] = std::string("\0", 1); },
       "container_list[0].labels.k"},
      {"ports not an array", [](json& b) { b["container_list"][0]["ports"] = 8080; },
       "container_list[0].ports"},
      {"port over 65535",
       [](json& b) { b["container_list"][0]["ports"][0]["container_port"] = 70000; },
       "container_list[0].ports[0].container_port"},
      {"port protocol unknown",
       [](json& b) { b["container_list"][0]["ports"][0]["protocol"] = "icmp"; },
       "container_list[0].ports[0].protocol"},
      {"port unknown field", [](json& b) { b["container_list"][0]["ports"][0]["x"] = 1; },
       "container_list[0].ports[0].x"},
      {"too many ports",
       [](json& b) {
         for (int i = 0; i < 101; ++i)
           b["container_list"][0]["ports"].push_back({{"container_port", 1 + i}});
       },
       "container_list[0].ports"},
      {"unknown field", [](json& b) { b["uptime"] = 1; }, "uptime"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    json b = valid_heartbeat();
    c.change(b);
    try {
      (void)parse_heartbeat(b.dump(), 3, kNow, std::chrono::seconds(60));
      FAIL("accepted");
    } catch (const ApiError& e) {
      CHECK(e.status() == 400);
      CHECK(e.field() == c.field);
    }
  }
}

TEST_CASE("UTC timestamps: RFC 3339 with Z or +00:00, real dates only", "[gateway][nodes]") {
  using std::chrono::seconds;
  const auto base = std::chrono::system_clock::time_point(seconds(1'800'000'000));
  CHECK(parse_utc_timestamp("2027-01-15T08:00:00Z") == base);
  CHECK(parse_utc_timestamp("2027-01-15t08:00:00z") == base);
  CHECK(parse_utc_timestamp("2027-01-15T08:00:00+00:00") == base);
  CHECK(parse_utc_timestamp("2027-01-15T08:00:00.5Z") == base + std::chrono::milliseconds(500));
  CHECK(format_utc_timestamp(base + std::chrono::microseconds(7)) == "2027-01-15T08:00:00.000007Z");
  for (const char* bad : {"2027-01-15 08:00:00Z", "2027-02-30T00:00:00Z", "2027-13-01T00:00:00Z",
                          "2027-01-15T24:00:00Z", "2027-01-15T08:00:00.Z", "1969-12-31T23:59:59Z",
                          "2027-01-15T08:00:00-00:30", "2027-01-15T08:00Z", ""}) {
    INFO(bad);
    CHECK_FALSE(parse_utc_timestamp(bad));
  }
}
