// Fault specs and selectors as written on the command line and in the control API.
#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>

#include <map>

#include "churn.h"
#include "fault.h"

using namespace fleet::minersim;

TEST_CASE("miner-sim: fault specs parse with defaults, arguments and paths", "[minersim][faults]") {
  auto slow = parse_fault_spec("5:slow=2000", 10);
  REQUIRE(slow.ok());
  CHECK(slow->fault == Fault{.kind = FaultKind::kSlow, .arg = 2000});
  CHECK(describe(slow->fault) == "slow=2000");

  auto huge = parse_fault("huge", 10);
  REQUIRE(huge.ok());
  CHECK(huge->arg == 64 * 1024 * 1024);
  CHECK(parse_fault("huge=10MiB", 10)->arg == 10 * 1024 * 1024);
  CHECK(parse_fault("huge=1k", 10)->arg == 1024);
  CHECK(parse_fault("deep", 10)->arg == 100000);
  CHECK(parse_fault("reboot", 7)->arg == 7);  // --reboot-seconds is the default
  CHECK(parse_fault("failing_chain", 10)->arg == 1);
  CHECK(parse_fault("truncated", 10)->arg == 50);

  auto scoped = parse_fault("garbage@/api/v1/summary", 10);
  REQUIRE(scoped.ok());
  CHECK(scoped->path == "/api/v1/summary");
  CHECK(describe(*scoped) == "garbage@/api/v1/summary");
  for (const auto& name : fault_kind_names()) {
    auto f = parse_fault(name, 10);
    REQUIRE(f.ok());
    CHECK(parse_fault(describe(*f), 10)->kind == f->kind);  // round trip
  }
}

TEST_CASE("miner-sim: bad fault specs are rejected with a message naming the problem",
          "[minersim][faults]") {
  CHECK_THAT(parse_fault_spec("slow=2000", 10).error().message(),
             Catch::Matchers::Contains("expected <selector>:<kind>"));
  CHECK_THAT(parse_fault_spec("5:sloww", 10).error().message(),
             Catch::Matchers::Contains("did you mean slow"));
  CHECK_THAT(parse_fault_spec("5:reset=3", 10).error().message(),
             Catch::Matchers::Contains("takes no argument"));
  CHECK_THAT(parse_fault_spec("5:slow=abc", 10).error().message(),
             Catch::Matchers::Contains("not a number"));
  CHECK_THAT(parse_fault_spec("5:truncated=150", 10).error().message(),
             Catch::Matchers::Contains("out of range"));
  CHECK_THAT(parse_fault_spec("x:timeout", 10).error().message(),
             Catch::Matchers::Contains("not a miner index"));
  CHECK_THAT(parse_fault_spec("101%:timeout", 10).error().message(),
             Catch::Matchers::Contains("between 0% and 100%"));
  CHECK_THAT(parse_fault_spec("9-3:timeout", 10).error().message(),
             Catch::Matchers::Contains("bad range"));
  CHECK_THAT(parse_fault("garbage@api/v1/summary", 10).error().message(),
             Catch::Matchers::Contains("must start with '/'"));
}

TEST_CASE("miner-sim: selectors pick indices, ranges, lists, all, and deterministic shares",
          "[minersim][faults]") {
  CHECK(*resolve(*parse_selector("5"), 10, 42, 1) == std::vector<int>{5});
  CHECK(*resolve(*parse_selector("2-4"), 10, 42, 1) == std::vector<int>{2, 3, 4});
  CHECK(*resolve(*parse_selector("7,1,3-4,1"), 10, 42, 1) == std::vector<int>{1, 3, 4, 7});
  CHECK(resolve(*parse_selector("all"), 10, 42, 1)->size() == 10);
  CHECK_THAT(resolve(*parse_selector("10"), 10, 42, 1).error().message(),
             Catch::Matchers::Contains("out of range"));

  const auto share = *resolve(*parse_selector("10%"), 1000, 42, 1);
  CHECK(share.size() == 100);
  CHECK(share == *resolve(*parse_selector("10%"), 1000, 42, 1));  // deterministic
  CHECK(share != *resolve(*parse_selector("10%"), 1000, 43, 1));  // depends on the seed
  // Different kinds (salts) hit mostly different miners.
  const auto other = *resolve(*parse_selector("10%"), 1000, 42, 2);
  std::vector<int> both;
  std::set_intersection(share.begin(), share.end(), other.begin(), other.end(),
                        std::back_inserter(both));
  CHECK(both.size() < 30);
  CHECK(resolve(*parse_selector("0.5%"), 1000, 42, 1)->size() == 5);
  CHECK(resolve(*parse_selector("0%"), 1000, 42, 1)->empty());
}

TEST_CASE("miner-sim: fault kinds are classified as events or body faults", "[minersim][faults]") {
  CHECK(is_event(FaultKind::kReboot));
  CHECK(is_event(FaultKind::kRevokedKey));
  CHECK_FALSE(is_event(FaultKind::kOffline));
  CHECK(is_body_fault(FaultKind::kGarbage));
  CHECK(is_body_fault(FaultKind::kCutTransfer));
  CHECK_FALSE(is_body_fault(FaultKind::kSlow));
  CHECK_FALSE(is_body_fault(FaultKind::kTimeout));
}

TEST_CASE(
    "miner-sim: churn happens at the requested rate, in the documented shares, "
    "reproducibly",
    "[minersim][churn]") {
  CHECK_FALSE(churn_event(42, 0, 0, 0.0, 3).has_value());
  std::map<ChurnEvent::Kind, int> kinds;
  int events = 0;
  // 1000 miners for one hour at 2 events per miner-hour.
  for (int miner = 0; miner < 1000; ++miner) {
    for (uint64_t tick = 0; tick < 3600; ++tick) {
      auto e = churn_event(42, miner, tick, 2.0, 3);
      if (!e) continue;
      ++events;
      ++kinds[e->kind];
      if (e->kind == ChurnEvent::Kind::kOffline) {
        CHECK(e->duration >= std::chrono::seconds(30));
        CHECK(e->duration <= std::chrono::seconds(120));
      }
      if (e->kind == ChurnEvent::Kind::kFailingChain) {
        CHECK(e->chain >= 1);
        CHECK(e->chain <= 3);
      }
    }
  }
  CHECK(events == Approx(2000).epsilon(0.1));
  CHECK(kinds[ChurnEvent::Kind::kReboot] == Approx(events * 0.5).epsilon(0.15));
  CHECK(kinds[ChurnEvent::Kind::kOffline] == Approx(events * 0.2).epsilon(0.2));
  CHECK(kinds[ChurnEvent::Kind::kMove] == Approx(events * 0.15).epsilon(0.25));
  CHECK(kinds[ChurnEvent::Kind::kFailingChain] == Approx(events * 0.15).epsilon(0.25));
  // The same seed, miner and second always decide the same.
  for (uint64_t tick = 0; tick < 5000; ++tick) {
    CHECK(churn_event(7, 3, tick, 60, 3).has_value() == churn_event(7, 3, tick, 60, 3).has_value());
  }
}
