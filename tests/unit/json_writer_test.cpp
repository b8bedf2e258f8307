// The api-gateway's streaming JSON writer: its output must parse back to the same values.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

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

TEST_CASE("the JSON writer copies plain text and escapes only what must be", "[gateway][json]") {
  const std::vector<std::string> texts = {"",
                                          "plain ascii 127.0.0.1 02:00:00:00:00:01",
                                          "\"",
                                          "\\",
                                          "a\"b\\c\x01"
                                          "d\x1f",
                                          "tab\tend\n",
                                          "grüße ✓ 温度",
                                          "\x7f",
                                          "trailing\\"};
  JsonWriter w;
  w.begin_array();
  for (const auto& t : texts)
    w.string(t);
  w.integer(INT64_MIN).integer(INT64_MAX).integer(0);
  w.end_array();
  const std::string text = w.take();
  CHECK(text.find("\"plain ascii 127.0.0.1 02:00:00:00:00:01\"") != std::string::npos);
  CHECK(text.find("\\u0001") != std::string::npos);
  json parsed = json::parse(text);
  for (std::size_t i = 0; i < texts.size(); ++i)
    CHECK(parsed[i] == texts[i]);
  CHECK(parsed[texts.size()] == INT64_MIN);
  CHECK(parsed[texts.size() + 1] == INT64_MAX);
  CHECK(parsed[texts.size() + 2] == 0);
}

TEST_CASE("json writer: PostgreSQL's UTC timestamps become RFC 3339 to the second") {
  auto one = [](std::string_view text) {
    JsonWriter w;
    w.utc_timestamp(text);
    return w.take();
  };
  CHECK(one("2026-12-05 00:07:28+00") == "\"2026-12-05T00:07:28Z\"");
  CHECK(one("2026-12-05 00:07:28.123456+00") == "\"2026-12-05T00:07:28Z\"");
  CHECK(one("1999-01-31 23:59:59.5+00") == "\"1999-01-31T23:59:59Z\"");
  // Anything else is written as it came (never guessed at).
  CHECK(one("2026-12-05 00:07:28+01") == "\"2026-12-05 00:07:28+01\"");
  CHECK(one("infinity") == "\"infinity\"");
  CHECK(one("12026-12-05 00:07:28+00") == "\"12026-12-05 00:07:28+00\"");
  CHECK(one("2026-12-05 00:07:28 BC+00") == "\"2026-12-05 00:07:28 BC+00\"");
  CHECK(one("2026-12-05T00:07:28+00") == "\"2026-12-05T00:07:28+00\"");
  CHECK(one("") == "\"\"");
}
