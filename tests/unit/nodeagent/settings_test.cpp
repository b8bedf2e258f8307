#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "nodeagent/settings.h"
#include "process.h"

using namespace fleet;
using namespace fleet::nodeagent;

namespace {
Result<config::Config> load(const std::string& file, std::map<std::string, std::string> env = {}) {
  static config::Schema schema = [] {
    config::Schema s;
    declare_config(s);
    return s;
  }();
  return config::Config::load(schema, {.file_path = file, .env = std::move(env)});
}
}  // namespace

TEST_CASE("config: a registered node's file gives the settings, env overrides it") {
  const std::string dir = test::make_temp_dir("nodeagent-cfg");
  test::write_file(dir + "/a.json", R"({"gateway_url":"http://127.0.0.1:8080","node_id":5,
    "credential":"fwn_5_secret","ulimits":{"nofile":2048},"allow_host_power":true})");
  auto c = load(dir + "/a.json", {{"FLEET_COMMAND_POLL_S", "7"}});
  REQUIRE(c.ok());
  auto s = settings_from(*c, Needs::kRegistration);
  REQUIRE(s.ok());
  CHECK(s->node_id == 5);
  CHECK(s->ulimits.nofile == 2048);
  CHECK(s->ulimits.nproc == 1000);
  CHECK(s->host_power == HostPower::kAllowed);
  CHECK(s->command_poll == std::chrono::seconds(7));
  CHECK(s->heartbeat_interval == std::chrono::seconds(30));
  CHECK(s->docker.socket == "/var/run/docker.sock");
  // The credential never shows in the described configuration.
  CHECK(c->describe_masked().find("fwn_5_secret") == std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("config: unknown keys, bad values and a missing registration are errors") {
  const std::string dir = test::make_temp_dir("nodeagent-cfg");
  test::write_file(dir + "/typo.json", R"({"heartbeat_intervall_s": 10})");
  auto typo = load(dir + "/typo.json");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().message().find("heartbeat_intervall_s") != std::string::npos);

  test::write_file(dir + "/range.json", R"({"heartbeat_interval_s": 0})");
  REQUIRE_FALSE(load(dir + "/range.json").ok());

  test::write_file(dir + "/empty.json", "{}");
  auto empty = load(dir + "/empty.json");
  REQUIRE(empty.ok());
  auto s = settings_from(*empty, Needs::kRegistration);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("'gateway_url', 'node_id', 'credential': not set") !=
        std::string::npos);
  CHECK(settings_from(*empty, Needs::kNothing).ok());

  test::write_file(dir + "/cred.json",
                   R"({"gateway_url":"http://h","node_id":1,"credential":"fwr_token"})");
  auto cred = load(dir + "/cred.json");
  REQUIRE(cred.ok());
  CHECK(
      settings_from(*cred, Needs::kRegistration).error().message().find("not a node credential") !=
      std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("gateway URLs: scheme and host only") {
  CHECK(check_gateway_url("https://fleet.example.com").ok());
  CHECK(check_gateway_url("http://127.0.0.1:8080/").ok());
  CHECK_FALSE(check_gateway_url("ftp://x").ok());
  CHECK_FALSE(check_gateway_url("https://").ok());
  CHECK_FALSE(check_gateway_url("https://u:p@host").ok());
  CHECK_FALSE(check_gateway_url("https://host/api").ok());
}

TEST_CASE("the config file is replaced atomically, mode 0600, other keys kept") {
  const std::string dir = test::make_temp_dir("nodeagent-cfg");
  const std::string path = dir + "/node-agent.json";
  test::write_file(path, R"({"docker_socket":"/run/podman/podman.sock","credential":"old"})");
  chmod(path.c_str(), 0644);
  REQUIRE(update_config_file(path, {{"credential", "\"fwn_1_new\""}, {"node_id", "1"}}).ok());
  auto doc = nlohmann::json::parse(test::read_file(path));
  CHECK(doc["credential"] == "fwn_1_new");
  CHECK(doc["node_id"] == 1);
  CHECK(doc["docker_socket"] == "/run/podman/podman.sock");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(stored_credential(path) == "fwn_1_new");
  // No temporary file is left behind.
  CHECK(std::distance(std::filesystem::directory_iterator(dir),
                      std::filesystem::directory_iterator()) == 1);
  // A file that is not a JSON object is not overwritten.
  test::write_file(path, "[1,2]");
  CHECK_FALSE(update_config_file(path, {{"node_id", "2"}}).ok());
  CHECK(test::read_file(path) == "[1,2]");
  std::filesystem::remove_all(dir);
}

TEST_CASE("config: several agents on one host register under their own name and identity") {
  const std::string dir = test::make_temp_dir("nodeagent-cfg");
  test::write_file(dir + "/two.json",
                   R"({"hostname":"node-2","machine_id":"0123456789abcdef0123456789abcdef"})");
  auto c = load(dir + "/two.json");
  REQUIRE(c.ok());
  auto s = settings_from(*c, Needs::kNothing);
  REQUIRE(s.ok());
  auto facts = collect_host_facts(s->paths);
  REQUIRE(facts.ok());
  CHECK(facts->hostname == "node-2");
  CHECK(facts->machine_id == "0123456789abcdef0123456789abcdef");

  test::write_file(dir + "/none.json", R"({"machine_id":"none"})");
  auto none = load(dir + "/none.json");
  REQUIRE(none.ok());
  auto facts_none = collect_host_facts(settings_from(*none, Needs::kNothing)->paths);
  REQUIRE(facts_none.ok());
  CHECK(facts_none->machine_id.empty());

  test::write_file(dir + "/addr.json", R"({"addresses":"127.0.3.7, ::1"})");
  auto addr = load(dir + "/addr.json");
  REQUIRE(addr.ok());
  auto facts_addr = collect_host_facts(settings_from(*addr, Needs::kNothing)->paths);
  REQUIRE(facts_addr.ok());
  CHECK(facts_addr->addresses == std::vector<std::string>{"127.0.3.7", "::1"});

  test::write_file(dir + "/publish.json", R"({"publish_address":"127.0.3.7"})");
  auto publish = load(dir + "/publish.json");
  REQUIRE(publish.ok());
  CHECK(settings_from(*publish, Needs::kNothing)->publish_address == "127.0.3.7");

  for (const char* bad :
       {R"({"publish_address":"127.0.3.7,127.0.3.8"})", R"({"publish_address":"localhost"})",
        R"({"addresses":"127.0.3.7,,::1"})", R"({"addresses":"node-a"})",
        R"({"addresses":"127.0.0.256"})", R"({"machine_id":"xyz"})", R"({"hostname":"a b"})",
        R"({"machine_id":"0123456789ABCDEF0123456789ABCDEF"})"}) {
    INFO(bad);
    test::write_file(dir + "/bad.json", bad);
    auto b = load(dir + "/bad.json");
    REQUIRE(b.ok());
    CHECK_FALSE(settings_from(*b, Needs::kNothing).ok());
  }
  std::filesystem::remove_all(dir);
}
