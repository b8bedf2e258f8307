#include <catch2/catch.hpp>

#include "mqtt/client.h"

using namespace fleet;

TEST_CASE("broker addresses parse into host and port and bad ones name the text", "[mqtt]") {
  mqtt::BrokerOptions o;
  REQUIRE(mqtt::parse_broker_address("10.0.0.5:1884", o).ok());
  CHECK(o.host == "10.0.0.5");
  CHECK(o.port == 1884);
  REQUIRE(mqtt::parse_broker_address("broker.local", o).ok());
  CHECK(o.port == 1883);
  o.tls.enabled = true;
  REQUIRE(mqtt::parse_broker_address("broker.local", o).ok());
  CHECK(o.port == 8883);
  CHECK_THAT(mqtt::parse_broker_address("h:99999", o).error().message(),
             Catch::Contains("'99999' is not a port"));
  CHECK_FALSE(mqtt::parse_broker_address(":1883", o).ok());
}

TEST_CASE("broker options are checked without a network and never show the password", "[mqtt]") {
  mqtt::BrokerOptions o;
  o.username = "dispatcher";
  o.password = "s3cret-pass";
  CHECK(mqtt::validate(o).ok());
  CHECK(mqtt::describe(o) == "mqtt://dispatcher@127.0.0.1:1883");
  o.tls.enabled = true;
  CHECK_THAT(mqtt::validate(o).error().message(), Catch::Contains("CA file"));
  o.tls.ca_file = "/nonexistent/ca.pem";
  CHECK_THAT(mqtt::validate(o).error().message(), Catch::Contains("not readable"));
  mqtt::BrokerOptions p;
  p.session = mqtt::Session::kPersistent;
  CHECK_THAT(mqtt::validate(p).error().message(), Catch::Contains("client id"));
  mqtt::BrokerOptions q;
  q.password = "x";
  CHECK_FALSE(mqtt::validate(q).ok());
  // start() refuses bad options instead of connecting.
  auto c = mqtt::Client::start(p, {});
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().kind() == ErrorKind::kInvalidArgument);
}
