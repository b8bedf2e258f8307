// The api-gateway's defaults that depend on the machine.
#include <catch2/catch.hpp>

#include "gateway.h"

using fleet::gateway::default_handler_threads;

TEST_CASE("the gateway's handler threads default to twice the CPUs, 4 to 16",
          "[gateway][options]") {
  CHECK(default_handler_threads(1) == 4);
  CHECK(default_handler_threads(2) == 4);
  CHECK(default_handler_threads(3) == 6);
  CHECK(default_handler_threads(8) == 16);
  CHECK(default_handler_threads(64) == 16);
}
