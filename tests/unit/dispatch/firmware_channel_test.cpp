// How the firmware channel classifies what happened to a command: only "nothing reached the
// miner" may be retried freely; a send without an answer is uncertain; a refusal is final.
#include <catch2/catch.hpp>

#include "../asic/scripted_transport.h"
#include "dispatch/firmware_channel.h"
#include "firmware/provisioning.h"

using namespace fleet;
using namespace fleet::dispatch;
using Catch::Matchers::Contains;
using firmware::TransportFailure;
using fleet::test::answer;
using fleet::test::failed;
using fleet::test::ScriptedTransport;

namespace {

const std::string kMac = "fe:07:26:3c:be:1b";

secrets::SecretBox box() {
  return *secrets::SecretBox::from_key_text(
      "fbe7d2b107482a0ab391d1f1b0977c2ae169e2498b135f2e2438fe0209d9d03c");
}

CommandJob job(const std::string& action, const std::string& params = "{}") {
  CommandJob j;
  j.id = 7;
  j.worker_name = "s19-a";
  j.action = action;
  j.params_json = params;
  j.channel = "firmware";
  j.miner = MinerTarget{.ip = "127.0.0.9", .port = 80, .mac = kMac};
  j.miner->api_key_enc =
      box().seal(std::string(32, 'a'), secrets::miner_secret_context(kMac, "api_key"));
  return j;
}

Outcome carry(ScriptedTransport& t, const CommandJob& j) {
  FirmwareChannelOptions o;
  return carry_out_firmware(t, o, box(), j);
}

}  // namespace

TEST_CASE("firmware outcomes: retry, uncertain, refused, succeeded", "[dispatch][firmware]") {
  SECTION("refused connection: nothing reached the miner") {
    ScriptedTransport t([](const auto&) { return failed(TransportFailure::kRefused); });
    CHECK(carry(t, job("reboot")).kind == Outcome::Kind::kRetry);
  }
  SECTION("a timeout after sending is uncertain") {
    ScriptedTransport t([](const auto&) { return failed(TransportFailure::kTimeout); });
    auto o = carry(t, job("reboot"));
    CHECK(o.kind == Outcome::Kind::kUncertain);
    CHECK_THAT(o.reason, Contains("/system/reboot"));
  }
  SECTION("a 500 with the firmware's words is a final refusal") {
    ScriptedTransport t([](const auto&) {
      return answer(500, R"({"err":"CGMiner err: Cgminer error failed-to-activate-pause-mode "})");
    });
    auto o = carry(t, job("pause_mining"));
    CHECK(o.kind == Outcome::Kind::kFailed);
    CHECK_THAT(o.reason, Contains("failed-to-activate-pause-mode"));
  }
  SECTION("a 503 may be retried") {
    ScriptedTransport t([](const auto&) { return answer(503, ""); });
    CHECK(carry(t, job("restart_mining")).kind == Outcome::Kind::kRetry);
  }
  SECTION("a reboot accepted") {
    ScriptedTransport t([](const auto&) { return answer(200, R"({"after":3})"); });
    auto o = carry(t, job("reboot"));
    CHECK(o.kind == Outcome::Kind::kSucceeded);
    CHECK_THAT(o.result_json, Contains("\"after\":3"));
    REQUIRE(t.requests.size() == 1);
    CHECK(fleet::test::path_of(t.requests[0]) == "/system/reboot");
  }
  SECTION("a preset that does not stick fails with the preset named") {
    ScriptedTransport t([](const firmware::HttpRequest& r) {
      if (r.method == firmware::HttpRequest::Method::kPost) {
        return answer(200, R"({"restart_required":false,"reboot_required":false})");
      }
      return answer(200, R"({"miner":{"overclock":{"preset":"1100"}}})");
    });
    auto o = carry(t, job("set_preset", R"({"preset":"3250"})"));
    CHECK(o.kind == Outcome::Kind::kFailed);
    CHECK_THAT(o.reason, Contains("did not switch to preset '3250'"));
  }
  SECTION("a worker without an address fails at once") {
    ScriptedTransport t([](const auto&) { return answer(200, ""); });
    auto j = job("reboot");
    j.miner.reset();
    auto o = carry(t, j);
    CHECK(o.kind == Outcome::Kind::kFailed);
    CHECK(t.requests.empty());
  }
}

TEST_CASE("only actions that can be repeated safely are idempotent", "[dispatch]") {
  CHECK(is_idempotent("set_preset", "{}"));
  CHECK(is_idempotent("stop_mining", "{}"));
  CHECK_FALSE(is_idempotent("reboot", "{}"));
  CHECK_FALSE(is_idempotent("restart_mining", "{}"));
  CHECK_FALSE(is_idempotent("power_cycle", "{}"));
  CHECK_FALSE(is_idempotent("find_miner", "{}"));  // a toggle
  CHECK(is_idempotent("find_miner", R"({"on": false})"));
}
