// migration-planner's configuration: defaults, the port range and a bad value named in the error.
#include <catch2/catch.hpp>

#include "config/config.h"
#include "planner_options.h"
#include "runtime/worker.h"

using namespace fleet;
using namespace fleet::planner;

namespace {

Result<config::Config> load(std::map<std::string, std::string> env) {
  config::Schema schema;
  declare_config(schema);
  config::Sources sources;
  sources.env = std::move(env);
  return config::Config::load(schema, sources);
}

}  // namespace

TEST_CASE("planner options: defaults as the contract says", "[planner]") {
  auto c = load({});
  REQUIRE(c.ok());
  PlannerOptions o = options_from(*c);
  CHECK(o.offline_grace == std::chrono::seconds(60));
  CHECK(o.reachable_within == std::chrono::seconds(90));
  CHECK(o.start_timeout == std::chrono::seconds(300));
  CHECK(o.port_range.first == 20000);
  CHECK(o.port_range.last == 29999);
  CHECK(o.publish_on == "any");
  CHECK(o.max_moves_per_minute == 120);
  CHECK(o.max_start_attempts == 2);
  CHECK(o.retry_failed_after == std::chrono::seconds(60));
  CHECK(o.route_file.empty());
}

TEST_CASE("planner options: values from the environment, bad ones are refused by name",
          "[planner]") {
  auto c = load({{"FLEET_PLANNER_PORT_RANGE", "31000-31010"},
                 {"FLEET_PLANNER_PUBLISH_ON", "node_address"},
                 {"FLEET_PLANNER_ROUTE_FILE", "/tmp/routes.json"}});
  REQUIRE(c.ok());
  PlannerOptions o = options_from(*c);
  CHECK(o.port_range.first == 31000);
  CHECK(o.port_range.last == 31010);
  CHECK(o.publish_on == "node_address");
  CHECK(o.route_file == "/tmp/routes.json");

  auto bad = load({{"FLEET_PLANNER_PORT_RANGE", "30000-20000"}});
  REQUIRE(bad.ok());
  CHECK_THROWS_WITH(options_from(*bad), Catch::Matchers::StartsWith("planner.port_range"));
  auto wrong_choice = load({{"FLEET_PLANNER_PUBLISH_ON", "everywhere"}});
  CHECK_FALSE(wrong_choice.ok());
}

TEST_CASE("port ranges parse strictly", "[planner]") {
  PortRange r;
  CHECK(parse_port_range("1-65535", r));
  CHECK(r.first == 1);
  CHECK(r.last == 65535);
  CHECK_FALSE(parse_port_range("0-10", r));
  CHECK_FALSE(parse_port_range("10-65536", r));
  CHECK_FALSE(parse_port_range("10", r));
  CHECK_FALSE(parse_port_range("a-b", r));
  CHECK_FALSE(parse_port_range("10-20-30", r));
  CHECK_FALSE(parse_port_range("-5-10", r));
}
