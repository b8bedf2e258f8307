#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/strings.h"
#include "logging/logging.h"
#include "process.h"

using namespace fleet;

TEST_CASE("json_escape produces valid JSON string content", "[logging]") {
  const std::string raw = std::string("quote \" backslash \\ newline \n tab \t bell \x07 bad \xff");
  const std::string doc = "{\"m\":\"" + logging::json_escape(raw) + "\"}";
  auto parsed = nlohmann::json::parse(doc);
  CHECK(parsed["m"].get<std::string>().find("quote \" backslash \\ newline \n") == 0);
}

TEST_CASE("json log lines are one parseable object each, with secrets redacted", "[logging]") {
  const std::string dir = test::make_temp_dir("fleet-log");
  const std::string file = dir + "/w.log";
  REQUIRE(logging::init({.service = "unit-worker", .format = logging::Format::kJson,
                         .level = logging::Level::kDebug, .file = file})
              .ok());
  spdlog::info("connecting to postgresql://fleet:hunter2@db/fleet");
  spdlog::debug("multi\nline \"quoted\"");
  logging::shutdown();
  const std::string text = test::read_file(file);
  auto lines = split(std::string(trim(text)), '\n');
  REQUIRE(lines.size() == 2);
  auto first = nlohmann::json::parse(lines[0]);
  CHECK(first["level"] == "info");
  CHECK(first["service"] == "unit-worker");
  CHECK(first["msg"] == "connecting to postgresql://fleet:***@db/fleet");
  CHECK(first["ts"].get<std::string>().back() == 'Z');
  CHECK(text.find("hunter2") == std::string::npos);
  CHECK(nlohmann::json::parse(lines[1])["msg"] == "multi\nline \"quoted\"");
  std::filesystem::remove_all(dir);
}

TEST_CASE("text log lines follow seed 001's layout", "[logging]") {
  const std::string dir = test::make_temp_dir("fleet-log");
  const std::string file = dir + "/w.log";
  REQUIRE(logging::init({.service = "alert-worker", .file = file}).ok());
  spdlog::info("Starting continuous evaluation loop...");
  spdlog::debug("not shown at info");
  logging::shutdown();
  const std::string text = test::read_file(file);
  CHECK(text.find(" - alert-worker - INFO - Starting continuous evaluation loop...") !=
        std::string::npos);
  CHECK(text.find("not shown") == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("an unwritable log file is a clear error", "[logging]") {
  auto s = logging::init({.file = "/proc/definitely/not/here.log"});
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("cannot open log file") != std::string::npos);
}
