// The api-gateway's streaming JSON writer: its output must parse back to the same values.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "json_writer.h"

using fleet::gateway::JsonWriter;
using nlohmann::json;

TEST_CASE("the JSON writer places commas, nests, and escapes strings", "[gateway][json]") {
  JsonWriter w;
  w.begin_object();
  w.key("name").string("quote \" backslash \\ newline \n tab \t bell \x07");
  w.key("list")
      .begin_array()
      .integer(1)
      .number(2.5)
      .boolean(true)
      .null()
      .begin_object()
      .end_object()
      .end_array();
  w.key("empty").begin_array().end_array();
  w.key("raw").raw("{\"a\":[1,2]}");
  w.end_object();
  const std::string text = w.take();
  json parsed = json::parse(text);
  CHECK(parsed["name"] == "quote \" backslash \\ newline \n tab \t bell \x07");
  CHECK(parsed["list"] == json::array({1, 2.5, true, nullptr, json::object()}));
  CHECK(parsed["empty"] == json::array());
  CHECK(parsed["raw"]["a"] == json::array({1, 2}));
}

TEST_CASE("the JSON writer never emits invalid JSON for odd values", "[gateway][json]") {
  JsonWriter w;
  w.begin_array();
  w.number(std::numeric_limits<double>::quiet_NaN());
  w.number(std::numeric_limits<double>::infinity());
  w.number(3.0);
  w.number(0.1);
  w.string("bad \xff\xfe utf8");
  w.end_array();
  json parsed = json::parse(w.take());  // throws on invalid UTF-8 or NaN
  CHECK(parsed[0].is_null());
  CHECK(parsed[1].is_null());
  CHECK(parsed[2].is_number_float());
  CHECK(parsed[2] == 3.0);
  CHECK(parsed[3] == 0.1);
  CHECK(parsed[4].get<std::string>().rfind("bad ", 0) == 0);
}
