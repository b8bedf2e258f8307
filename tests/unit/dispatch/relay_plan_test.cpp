#include <catch2/catch.hpp>

#include "dispatch/relay_plan.h"

using namespace fleet::dispatch;
using Catch::Matchers::Contains;
using std::chrono::milliseconds;

namespace {
RelayTarget target(const std::string& wiring) {
  return {.controller_id = 1,
          .controller_name = "rack-a",
          .driver = "fleetward",
          .topic = "rack-a",
          .channel = 2,
          .wiring = wiring,
          .pulse_ms = 400,
          .hold_ms = 7000,
          .off_ms = 12000};
}
}  // namespace

TEST_CASE("a power cycle follows the wiring", "[dispatch][relay]") {
  auto mains = relay_plan("power_cycle", "{}", target("mains"));
  REQUIRE(mains.ok());
  REQUIRE(mains->size() == 1);
  CHECK((*mains)[0].op == RelayOp::kCycle);
  CHECK((*mains)[0].duration == milliseconds(12000));
  auto button = relay_plan("power_cycle", "{}", target("power_button"));
  REQUIRE(button.ok());
  REQUIRE(button->size() == 2);
  CHECK((*button)[0].op == RelayOp::kHold);
  CHECK((*button)[0].duration == milliseconds(7000));
  CHECK((*button)[1].op == RelayOp::kPulse);
  CHECK((*button)[1].duration == milliseconds(400));
  CHECK((*button)[1].wait_before == milliseconds(12000));
}

TEST_CASE("power on, off and a button press", "[dispatch][relay]") {
  CHECK((*relay_plan("power_off", "{}", target("mains")))[0].op == RelayOp::kOff);
  CHECK((*relay_plan("power_off", "{}", target("power_button")))[0].op == RelayOp::kHold);
  CHECK((*relay_plan("power_on", "{}", target("mains")))[0].op == RelayOp::kOn);
  CHECK((*relay_plan("power_on", "{}", target("power_button")))[0].op == RelayOp::kPulse);
  auto press = relay_plan("power_button", R"({"ms": 150})", target("power_button"));
  REQUIRE(press.ok());
  CHECK((*press)[0].duration == milliseconds(150));
  auto no_button = relay_plan("power_button", "{}", target("mains"));
  REQUIRE_FALSE(no_button.ok());
  CHECK_THAT(no_button.error().message(), Contains("mains"));
  CHECK_FALSE(relay_plan("power_button", R"({"ms": 5})", target("power_button")).ok());
  CHECK_FALSE(relay_plan("power_button", R"({"ms": "x"})", target("power_button")).ok());
  CHECK_FALSE(relay_plan("reboot", "{}", target("mains")).ok());
}
