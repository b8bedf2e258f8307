#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "process.h"

using namespace fleet;
using namespace fleet::config;
using std::chrono::milliseconds;
using Catch::Matchers::Contains;

namespace {

Schema sample_schema() {
  Schema s;
  s.add({.name = "interval", .type = Type::kDuration, .default_value = milliseconds(30'000),
         .flag = "--interval", .min = 0.01, .max = 86400});
  s.add({.name = "log.format", .type = Type::kString, .default_value = std::string("text"),
         .flag = "--log-format", .choices = {"text", "json"}});
  s.add({.name = "health.port", .type = Type::kInt, .default_value = std::int64_t{0}, .min = 0,
         .max = 65535});
  s.add({.name = "database.password", .type = Type::kString, .secret = true,
         .env = {"POSTGRES_PASSWORD"}});
  s.add({.name = "database.url", .type = Type::kString, .env = {"DATABASE_URL"}});
  s.add({.name = "ratio", .type = Type::kDouble, .default_value = 0.5});
  s.add({.name = "enabled", .type = Type::kBool, .default_value = true});
  s.add({.name = "subnets", .type = Type::kStringList, .default_value = std::vector<std::string>{}});
  s.add({.name = "extra", .type = Type::kObject});
  return s;
}

std::string temp_json(const std::string& text) {
  static int n = 0;
  std::string path = "/tmp/fleet-config-test-" + std::to_string(getpid()) + "-" +
                     std::to_string(++n) + ".json";
  test::write_file(path, text);
  return path;
}

}  // namespace

TEST_CASE("defaults apply when nothing is given", "[config]") {
  auto c = Config::load(sample_schema(), {});
  REQUIRE(c.ok());
  CHECK(c->duration("interval") == milliseconds(30'000));
  CHECK(c->str("log.format") == "text");
  CHECK(c->source("interval") == Source::kDefault);
  CHECK_FALSE(c->has("database.password"));
}

TEST_CASE("precedence is flag > environment > file > default", "[config]") {
  const std::string file = temp_json(R"({"interval": 10, "log": {"format": "json"}, "health": {"port": 9000}})");
  Sources src{.file_path = file,
              .env = {{"FLEET_INTERVAL", "20"}, {"FLEET_HEALTH_PORT", "9100"}},
              .flags = {{"interval", "40s"}}};
  auto c = Config::load(sample_schema(), src);
  REQUIRE(c.ok());
  CHECK(c->duration("interval") == milliseconds(40'000));  // flag beats env and file
  CHECK(c->source("interval") == Source::kFlag);
  CHECK(c->integer("health.port") == 9100);                // env beats file
  CHECK(c->source("health.port") == Source::kEnv);
  CHECK(c->str("log.format") == "json");                   // file beats default
  CHECK(c->source("log.format") == Source::kFile);

  src.flags.clear();
  c = Config::load(sample_schema(), src);
  REQUIRE(c.ok());
  CHECK(c->duration("interval") == milliseconds(20'000));
  src.env.clear();
  c = Config::load(sample_schema(), src);
  REQUIRE(c.ok());
  CHECK(c->duration("interval") == milliseconds(10'000));
}

TEST_CASE("explicit environment names such as POSTGRES_PASSWORD are read", "[config]") {
  auto c = Config::load(sample_schema(), {.env = {{"POSTGRES_PASSWORD", "s3cret"},
                                                 {"DATABASE_URL", "postgresql://a@b/c"}}});
  REQUIRE(c.ok());
  CHECK(c->str("database.password") == "s3cret");
  CHECK(c->str("database.url") == "postgresql://a@b/c");
}

TEST_CASE("an empty environment variable counts as unset", "[config]") {
  auto c = Config::load(sample_schema(), {.env = {{"FLEET_LOG_FORMAT", ""}}});
  REQUIRE(c.ok());
  CHECK(c->str("log.format") == "text");
}

TEST_CASE("unknown keys in the file are errors that name the key and suggest", "[config]") {
  auto c = Config::load(sample_schema(), {.file_path = temp_json(R"({"intreval": 5, "log": {"fromat": "json"}})")});
  REQUIRE_FALSE(c.ok());
  const std::string m = c.error().message();
  CHECK_THAT(m, Contains("unknown key 'intreval'"));
  CHECK_THAT(m, Contains("did you mean 'interval'"));
  CHECK_THAT(m, Contains("unknown key 'log.fromat'"));
  CHECK_THAT(m, Contains("did you mean 'log.format'"));
}

TEST_CASE("unknown keys given with --set are errors", "[config]") {
  auto c = Config::load(sample_schema(), {.flags = {{"health.prot", "1"}}});
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), Contains("unknown key 'health.prot'"));
}

TEST_CASE("bad values are errors naming key and source", "[config]") {
  struct Case {
    Sources src;
    const char* expect;
  };
  std::vector<Case> cases = {
      {{.file_path = temp_json(R"({"health": {"port": "eighty"}})")},
       "key 'health.port' in the config file: must be an integer"},
      {{.file_path = temp_json(R"({"health": {"port": 70000}})")},
       "key 'health.port' in the config file: must be at most 65535"},
      {{.file_path = temp_json(R"({"health": {"port": 1.5}})")}, "must be an integer"},
      {{.env = {{"FLEET_HEALTH_PORT", "-1"}}},
       "key 'health.port' from environment variable FLEET_HEALTH_PORT: must be at least 0"},
      {{.env = {{"FLEET_HEALTH_PORT", "12abc"}}}, "must be an integer (got '12abc')"},
      {{.flags = {{"log.format", "xml"}}},
       "key 'log.format' from flag --log-format: must be one of text, json (got 'xml')"},
      {{.flags = {{"interval", "0"}}}, "key 'interval' from flag --interval: must be at least 0.01 seconds"},
      {{.flags = {{"interval", "5 parsecs"}}}, "key 'interval'"},
      {{.env = {{"FLEET_ENABLED", "maybe"}}}, "must be true or false"},
      {{.env = {{"FLEET_RATIO", "nan"}}}, "must be a number"},
      {{.file_path = temp_json(R"({"subnets": "10.0.0.0/8"})")}, "must be a list of strings"},
      {{.file_path = temp_json(R"({"subnets": [1, 2]})")}, "list items must be strings"},
      {{.file_path = temp_json(R"({"extra": [1]})")}, "must be an object"},
      {{.file_path = temp_json(R"({"interval": 99999999999999})")}, "key 'interval'"},
  };
  for (auto& c : cases) {
    INFO(c.expect);
    auto r = Config::load(sample_schema(), c.src);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), Contains(c.expect));
  }
}

TEST_CASE("every problem is reported at once", "[config]") {
  auto c = Config::load(sample_schema(), {.env = {{"FLEET_HEALTH_PORT", "x"}},
                                          .flags = {{"log.format", "xml"}}});
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), Contains("health.port"));
  CHECK_THAT(c.error().message(), Contains("log.format"));
}

TEST_CASE("a broken or missing config file is an error", "[config]") {
  auto c = Config::load(sample_schema(), {.file_path = temp_json("{\"interval\": 5,")});
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), Contains("is not valid JSON"));
  c = Config::load(sample_schema(), {.file_path = "/nonexistent/fleet.json"});
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), Contains("cannot be read"));
  c = Config::load(sample_schema(), {.file_path = temp_json("[1,2]")});
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), Contains("must hold a JSON object"));
}

TEST_CASE("required keys must be set", "[config]") {
  Schema s;
  s.add({.name = "network.subnets", .type = Type::kStringList, .required = true});
  auto c = Config::load(s, {});
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.error().message(), Contains("key 'network.subnets' is required"));
  CHECK_THAT(c.error().message(), Contains("FLEET_NETWORK_SUBNETS"));
}

TEST_CASE("values of every type parse from text and JSON", "[config]") {
  auto c = Config::load(sample_schema(),
                        {.file_path = temp_json(R"({"interval": "1m30s", "extra": {"a": [1]}})"),
                         .env = {{"FLEET_SUBNETS", "10.0.0.0/24, 127.20.0.0/16"},
                                 {"FLEET_ENABLED", "off"},
                                 {"FLEET_RATIO", "0.25"}}});
  REQUIRE(c.ok());
  CHECK(c->duration("interval") == milliseconds(90'000));
  CHECK(c->strings("subnets") == std::vector<std::string>{"10.0.0.0/24", "127.20.0.0/16"});
  CHECK_FALSE(c->boolean("enabled"));
  CHECK(c->number("ratio") == Approx(0.25));
  CHECK(nlohmann::json::parse(c->object_json("extra"))["a"][0] == 1);
  auto l = Config::load(sample_schema(), {.env = {{"FLEET_SUBNETS", R"(["a","b"])"}}});
  REQUIRE(l.ok());
  CHECK(l->strings("subnets").size() == 2);
}

TEST_CASE("null in the file means unset", "[config]") {
  auto c = Config::load(sample_schema(), {.file_path = temp_json(R"({"log": {"format": null}})")});
  REQUIRE(c.ok());
  CHECK(c->str("log.format") == "text");
}

TEST_CASE("secrets are masked when the configuration is described", "[config]") {
  auto c = Config::load(sample_schema(),
                        {.env = {{"POSTGRES_PASSWORD", "hunter2"},
                                 {"DATABASE_URL", "postgresql://fleet:hunter2@db/fleet"}}});
  REQUIRE(c.ok());
  const std::string described = c->describe_masked();
  CHECK(described.find("hunter2") == std::string::npos);
  auto j = nlohmann::json::parse(described);
  CHECK(j["database"]["password"] == "***");
  CHECK(j["database"]["url"] == "postgresql://fleet:***@db/fleet");
  CHECK(j["interval"] == "30s");
}

TEST_CASE("unknown FLEET_ variables are warnings, not errors", "[config]") {
  auto c = Config::load(sample_schema(), {.env = {{"FLEET_INTERVALL", "5"}, {"HOME", "/root"}}});
  REQUIRE(c.ok());
  REQUIRE(c->warnings().size() == 1);
  CHECK_THAT(c->warnings()[0], Contains("FLEET_INTERVALL"));
  CHECK_THAT(c->warnings()[0], Contains("did you mean FLEET_INTERVAL"));
}

TEST_CASE("asking for an undeclared key or the wrong type is a programming error", "[config]") {
  auto c = Config::load(sample_schema(), {});
  REQUIRE(c.ok());
  CHECK_THROWS_AS(c->str("nope"), std::logic_error);
  CHECK_THROWS_AS(c->integer("log.format"), std::logic_error);
  CHECK_THROWS_AS(c->str("database.password"), std::logic_error);  // unset
  Schema s;
  s.add({.name = "a"});
  CHECK_THROWS_AS(s.add({.name = "a"}), std::logic_error);
}
