// migration-planner's small decisions: reachable, failed and schedulable nodes, host ports, stale
// copies, rate limit and disruption budget, retry after a failed start.
#include <catch2/catch.hpp>

#include "planner_rules.h"

using namespace fleet::planner;
using std::chrono::seconds;

namespace {

NodeView node(const std::string& status, std::optional<milliseconds> heartbeat_age,
              milliseconds status_age = seconds(3600)) {
  NodeView n;
  n.id = 7;
  n.name = "node-a";
  n.status = status;
  n.heartbeat_age = heartbeat_age;
  n.status_age = status_age;
  return n;
}

}  // namespace

TEST_CASE("reachable: an alive status and a heartbeat younger than reachable_within", "[planner]") {
  PlannerOptions o;  // 90 s
  CHECK(is_reachable(node("online", seconds(5)), o));
  CHECK(is_reachable(node("unhealthy", seconds(89)), o));
  CHECK(is_reachable(node("draining", seconds(5)), o));
  CHECK(is_reachable(node("pending", seconds(5)), o));
  CHECK_FALSE(is_reachable(node("online", seconds(90)), o));
  CHECK_FALSE(is_reachable(node("online", std::nullopt), o));  // never heartbeated
  CHECK_FALSE(is_reachable(node("offline", seconds(5)), o));
  CHECK_FALSE(is_reachable(node("unreachable", seconds(5)), o));
}

TEST_CASE("failed: offline past the grace, or draining at once, unreachable never", "[planner]") {
  PlannerOptions o;  // grace 60 s
  CHECK(failure_trigger(node("offline", std::nullopt, seconds(60)), o) == "offline");
  CHECK_FALSE(failure_trigger(node("offline", std::nullopt, seconds(59)), o));
  CHECK(failure_trigger(node("draining", seconds(1), seconds(0)), o) == "draining");
  CHECK_FALSE(failure_trigger(node("unreachable", std::nullopt, seconds(9999)), o));
  CHECK_FALSE(failure_trigger(node("online", seconds(1)), o));
  CHECK_FALSE(failure_trigger(node("unhealthy", seconds(1)), o));
  o.offline_grace = seconds(0);
  CHECK(failure_trigger(node("offline", std::nullopt, seconds(0)), o) == "offline");
}

TEST_CASE("schedulable: online, fresh heartbeat, site not held", "[planner]") {
  PlannerOptions o;
  NodeView n = node("online", seconds(5));
  n.site = "west";
  CHECK(is_schedulable(n, {}, o));
  CHECK_FALSE(is_schedulable(n, {"west"}, o));
  CHECK(is_schedulable(n, {"east"}, o));
  CHECK_FALSE(is_schedulable(node("draining", seconds(5)), {}, o));
  CHECK_FALSE(is_schedulable(node("unhealthy", seconds(5)), {}, o));
  CHECK_FALSE(is_schedulable(node("online", seconds(100)), {}, o));
  NodeView nosite = node("online", seconds(5));
  CHECK_FALSE(is_schedulable(nosite, {""}, o));  // the hold of workers without a site
}

TEST_CASE("host ports: the lowest free ones of the range, or none when too few", "[planner]") {
  CHECK(choose_host_ports({}, {20000, 29999}, 2) == std::vector<int>{20000, 20001});
  CHECK(choose_host_ports({20000, 20002}, {20000, 29999}, 2) == std::vector<int>{20001, 20003});
  CHECK(choose_host_ports({}, {20000, 29999}, 0) == std::vector<int>{});
  CHECK_FALSE(choose_host_ports({5, 6}, {5, 7}, 2));
  CHECK(choose_host_ports({5, 6}, {5, 7}, 1) == std::vector<int>{7});
}

TEST_CASE("names: container and service address", "[planner]") {
  CHECK(container_name(12, 0, 345) == "fw-12-0-345");
  CHECK(service_address("web", "acme") == "web.acme");
  CHECK(plain_container_name("/fw-1-0-2") == "fw-1-0-2");
  CHECK(plain_container_name("fw-1-0-2") == "fw-1-0-2");
}

TEST_CASE("stale copies: managed deployment containers that are no placement kept there",
          "[planner]") {
  NodeView n = node("online", seconds(5));
  n.containers = {
      {.name = "/fw-1-0-10", .managed = true, .deployment = "1", .placement = "10"},  // current
      {.name = "/fw-1-0-9", .managed = true, .deployment = "1", .placement = "9"},    // moved
      {.name = "/fw-1-1-11",
       .managed = true,
       .deployment = "1",
       .placement = ""},  // no label, kept by name
      {.name = "/fw-1-2-12",
       .managed = true,
       .deployment = "1",
       .placement = ""},                                                       // no label, unknown
      {.name = "/other", .managed = true, .deployment = "", .placement = ""},  // not a deployment's
      {.name = "/mine", .managed = false, .deployment = "1", .placement = "3"},  // not managed
  };
  CHECK(stale_containers(n, {"10"}, {"fw-1-1-11"}) ==
        std::vector<std::string>{"fw-1-0-9", "fw-1-2-12"});
  CHECK(stale_containers(n, {"10", "9", "12"}, {"fw-1-1-11", "fw-1-2-12"}).empty());
}

TEST_CASE("rate limit and disruption budget", "[planner]") {
  CHECK(moves_allowed(120, 0) == 120);
  CHECK(moves_allowed(120, 119) == 1);
  CHECK(moves_allowed(120, 130) == 0);
  CHECK(disruption_room(1, 0) == 1);
  CHECK(disruption_room(1, 1) == 0);
  CHECK(disruption_room(3, 1) == 2);
}

TEST_CASE("a failed start is retried elsewhere until max_start_attempts", "[planner]") {
  CHECK(after_start_failure(1, 2) == AfterStartFailure::kRetry);
  CHECK(after_start_failure(2, 2) == AfterStartFailure::kFail);
  CHECK(after_start_failure(1, 1) == AfterStartFailure::kFail);
}
