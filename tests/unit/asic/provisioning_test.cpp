// API-key provisioning and the blocking client, driven through a scripted transport.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "firmware/client.h"
#include "firmware/provisioning.h"
#include "scripted_transport.h"

using namespace fleet;
using namespace fleet::firmware;
using fleet::test::answer;
using fleet::test::has_header;
using fleet::test::path_of;
using fleet::test::ScriptedTransport;
using json = nlohmann::json;

namespace {

const ProvisionRequest kRequest{
    .miner = {"127.0.0.1", 8080}, .password = "s3cret", .description = "fleetward"};

// A miner with a key store, as the firmware behaves (unlock -> token; /apikeys needs it).
struct FakeMiner {
  std::string password = "s3cret";
  std::vector<std::pair<std::string, std::string>> keys;  // key, description
  std::string token = "tok-123";

  HttpResponse operator()(const HttpRequest& r) {
    const std::string p = path_of(r);
    if (p == "/unlock") {
      if (json::parse(r.body).value("pw", "") != password) return answer(403, "Wrong password");
      return answer(200, json{{"token", token}}.dump());
    }
    if (p == "/apikeys" && r.method == HttpRequest::Method::kGet) {
      if (!has_header(r, "Authorization: Bearer " + token)) return answer(401, "");
      json list = json::array();
      for (const auto& [k, d] : keys)
        list.push_back({{"key", k}, {"description", d}});
      return answer(200, list.dump());
    }
    if (p == "/apikeys") {
      if (!has_header(r, "Authorization: Bearer " + token)) return answer(401, "");
      json body = json::parse(r.body);
      const std::string key = body.value("key", "");
      if (!is_valid_api_key(key)) return answer(422, "Wrong apikey format");
      keys.emplace_back(key, body.value("description", ""));
      return answer(200, R"({"status":"inserted"})");
    }
    return answer(404, "");
  }
};

}  // namespace

TEST_CASE("provisioning reuses the key that carries our description", "[provisioning]") {
  FakeMiner miner;
  miner.keys = {{"ffffffffffffffffffffffffffffffff", "PowerHive"},
                {"0123456789abcdef0123456789abcdef", "fleetward"}};
  ScriptedTransport t(std::ref(miner));
  auto key = provision(t, kRequest, {});
  REQUIRE(key.ok());
  CHECK(key->key == "0123456789abcdef0123456789abcdef");
  CHECK_FALSE(key->created);
  CHECK(t.paths() == std::vector<std::string>{"/unlock", "/apikeys"});
  CHECK(miner.keys.size() == 2);
}

TEST_CASE("provisioning creates a 32-hex key when none is ours", "[provisioning]") {
  FakeMiner miner;
  miner.keys = {{"ffffffffffffffffffffffffffffffff", "someone else"}};
  ScriptedTransport t(std::ref(miner));
  auto key = provision(t, kRequest, {});
  REQUIRE(key.ok());
  CHECK(key->created);
  CHECK(is_valid_api_key(key->key));
  REQUIRE(miner.keys.size() == 2);
  CHECK(miner.keys[1] == std::make_pair(key->key, std::string("fleetward")));
  CHECK(t.paths() == std::vector<std::string>{"/unlock", "/apikeys", "/apikeys"});
  // The bearer token went with both key calls; the password only to /unlock.
  CHECK(has_header(t.requests[1], "Authorization: Bearer tok-123"));
  CHECK(has_header(t.requests[2], "Authorization: Bearer tok-123"));
  CHECK(t.requests[2].body.find("s3cret") == std::string::npos);
  // A second run finds the key it made.
  ScriptedTransport again(std::ref(miner));
  auto second = provision(again, kRequest, {});
  REQUIRE(second.ok());
  CHECK(second->key == key->key);
  CHECK_FALSE(second->created);
}

TEST_CASE("a wrong unlock password stops provisioning without touching keys", "[provisioning]") {
  FakeMiner miner;
  miner.password = "other";
  ScriptedTransport t(std::ref(miner));
  auto key = provision(t, kRequest, {});
  REQUIRE_FALSE(key.ok());
  CHECK(key.error().kind() == ErrorKind::kPermissionDenied);
  CHECK(key.error().message().find("s3cret") == std::string::npos);
  CHECK(t.paths() == std::vector<std::string>{"/unlock"});
}

TEST_CASE("provisioning failures keep their kind", "[provisioning]") {
  SECTION("unreachable miner is transient") {
    ScriptedTransport t(
        [](const HttpRequest&) { return test::failed(TransportFailure::kRefused); });
    auto key = provision(t, kRequest, {});
    REQUIRE_FALSE(key.ok());
    CHECK(key.error().transient());
  }
  SECTION("garbage from /unlock is data loss") {
    ScriptedTransport t([](const HttpRequest&) { return answer(200, "<html>"); });
    auto key = provision(t, kRequest, {});
    REQUIRE_FALSE(key.ok());
    CHECK(key.error().kind() == ErrorKind::kDataLoss);
  }
  SECTION("422 Wrong apikey format is a permanent invalid argument") {
    FakeMiner miner;
    ScriptedTransport t([&](const HttpRequest& r) {
      if (path_of(r) == "/apikeys" && r.method == HttpRequest::Method::kPost) {
        return answer(422, R"({"err":"Wrong apikey format"})");
      }
      return miner(r);
    });
    auto key = provision(t, kRequest, {});
    REQUIRE_FALSE(key.ok());
    CHECK(key.error().kind() == ErrorKind::kInvalidArgument);
    CHECK_THAT(key.error().message(), Catch::Matchers::Contains("Wrong apikey format"));
  }
}

TEST_CASE("many provisioning flows run side by side on one transport", "[provisioning]") {
  FakeMiner miner;
  ScriptedTransport t(std::ref(miner));
  int done = 0;
  for (int i = 0; i < 20; ++i) {
    start_provisioning(t, kRequest, {}, [&](Result<ProvisionedKey> r) {
      REQUIRE(r.ok());
      ++done;
    });
  }
  t.run();
  CHECK(done == 20);
}

TEST_CASE("generated keys are 32 lowercase hex and differ", "[provisioning]") {
  const std::string a = generate_api_key();
  CHECK(is_valid_api_key(a));
  CHECK(a != generate_api_key());
  CHECK_FALSE(is_valid_api_key("0123456789ABCDEF0123456789ABCDEF"));
  CHECK_FALSE(is_valid_api_key("0123456789abcdef"));
  CHECK_FALSE(is_valid_api_key("0123456789abcdef0123456789abcdeg"));
}

TEST_CASE("answers are classified into what the caller should do", "[classify]") {
  auto kind = [](HttpResponse r) { return classify(r, "/summary").error().kind(); };
  CHECK(classify(answer(200, "{}"), "/x").ok());
  CHECK(kind(answer(401, "")) == ErrorKind::kUnauthenticated);
  CHECK(kind(answer(403, "Wrong password")) == ErrorKind::kPermissionDenied);
  CHECK(kind(answer(404, "")) == ErrorKind::kNotFound);
  CHECK(kind(answer(422, "")) == ErrorKind::kInvalidArgument);
  CHECK(kind(answer(500, R"({"err":"boom"})")) == ErrorKind::kUnavailable);
  CHECK(kind(answer(429, "")) == ErrorKind::kResourceExhausted);
  CHECK(kind(test::failed(TransportFailure::kRefused)) == ErrorKind::kUnavailable);
  CHECK(kind(test::failed(TransportFailure::kReset)) == ErrorKind::kUnavailable);
  CHECK(kind(test::failed(TransportFailure::kTimeout)) == ErrorKind::kDeadlineExceeded);
  CHECK(kind(test::failed(TransportFailure::kConnectTimeout)) == ErrorKind::kDeadlineExceeded);
  CHECK(kind(test::failed(TransportFailure::kTooLarge)) == ErrorKind::kDataLoss);
  CHECK(classify(answer(500, R"({"err":"x-api-key: abc123 rejected"})"), "/summary")
            .error()
            .message()
            .find("abc123") == std::string::npos);
}

TEST_CASE("the client unlocks once on 401 and retries with both credentials", "[client]") {
  int summaries = 0;
  ScriptedTransport t([&](const HttpRequest& r) {
    const std::string p = path_of(r);
    if (p == "/unlock") return answer(200, R"({"token":"fresh"})");
    if (p == "/summary") {
      ++summaries;
      if (!has_header(r, "Authorization: Bearer fresh")) return answer(401, "");
      CHECK(has_header(r, "x-api-key: 0123456789abcdef0123456789abcdef"));
      return answer(200, R"({"miner":{"miner_status":{"miner_state":"mining"}}})");
    }
    return answer(404, "");
  });
  VnishClient client(t, {"127.0.0.1", 80});
  client.set_api_key("0123456789abcdef0123456789abcdef");
  SECTION("without a password the 401 is returned") {
    auto s = client.summary();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().kind() == ErrorKind::kUnauthenticated);
    CHECK(summaries == 1);
  }
  SECTION("with a password it unlocks and retries once") {
    client.set_password("admin");
    auto s = client.summary();
    REQUIRE(s.ok());
    CHECK(s->miner_state == "mining");
    CHECK(t.paths() == std::vector<std::string>{"/summary", "/unlock", "/summary"});
  }
}

TEST_CASE("the client's control calls hit the documented endpoints", "[client]") {
  std::string preset = "1100";
  ScriptedTransport t([&](const HttpRequest& r) {
    const std::string p = path_of(r);
    if (p == "/settings" && r.method == HttpRequest::Method::kPost) {
      // Like real firmware: answers success, applies only tuned presets.
      const std::string wanted = json::parse(r.body)["miner"]["overclock"]["preset"];
      if (wanted != "9999") preset = wanted;
      return answer(200, R"({"restart_required":false,"reboot_required":false})");
    }
    if (p == "/settings")
      return answer(200, json{{"miner", {{"overclock", {{"preset", preset}}}}}}.dump());
    if (p == "/system/reboot") return answer(200, R"({"after": 5})");
    if (p == "/find-miner") return answer(200, R"({"on": true})");
    if (p.rfind("/mining/", 0) == 0) return answer(200, "");
    if (p == "/perf-summary")
      return answer(200, R"({"current_preset":null,"preset_switcher":{"enabled":false}})");
    if (p == "/status")
      return answer(200, R"({"miner_state":"mining","find_miner":false,"unlocked":true})");
    return answer(404, "");
  });
  VnishClient client(t, {"127.0.0.1", 80});
  client.set_api_key("0123456789abcdef0123456789abcdef");
  CHECK(client.switch_preset("3250").ok());
  auto refused = client.switch_preset("9999");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind() == ErrorKind::kFailedPrecondition);
  CHECK(client.reboot(5)->value() == 5);
  CHECK(client.find_miner()->value());
  for (auto a : {MiningAction::kStart, MiningAction::kStop, MiningAction::kPause,
                 MiningAction::kResume, MiningAction::kRestart}) {
    CHECK(client.mining(a).ok());
  }
  CHECK(client.perf_summary().ok());
  CHECK(client.status()->unlocked);
  const auto p = t.paths();
  for (const char* expected : {"/mining/start", "/mining/stop", "/mining/pause", "/mining/resume",
                               "/mining/restart", "/system/reboot", "/find-miner"}) {
    CHECK(std::find(p.begin(), p.end(), expected) != p.end());
  }
  auto missing = client.model();
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind() == ErrorKind::kNotFound);  // /model is absent on old firmware
}
