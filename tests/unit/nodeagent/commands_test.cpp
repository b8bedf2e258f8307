#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "nodeagent/commands.h"
#include "nodeagent/docker.h"

using namespace fleet;
using namespace fleet::nodeagent;
using nlohmann::json;

namespace {
std::string error_of(const std::string& params) {
  auto r = container_start_spec(params, Ulimits{});
  REQUIRE_FALSE(r.ok());
  return r.error().message();
}
std::string label(const ContainerSpec& s, const std::string& key) {
  for (const auto& [k, v] : s.labels)
    if (k == key) return v;
  return "<none>";
}
}  // namespace

TEST_CASE("container_start params become a spec with the agent's labels and ulimits") {
  auto spec = container_start_spec(
      R"({"name":"web","image":"localhost/bb:1","cmd":["/bin/busybox","httpd","-f"],
          "env":{"A":"1"},"ports":[{"container_port":8080,"host_port":18081,"host_ip":"127.0.0.1"}],
          "memory_mb":64,"cpus":0.5,"labels":{"team":"ops"},"deployment_id":42,"placement_id":7})",
      Ulimits{.nofile = 512, .nproc = 256});
  REQUIRE(spec.ok());
  CHECK(spec->name == "web");
  CHECK(spec->cmd.size() == 3);
  CHECK(spec->ports.at(0).host_ip == "127.0.0.1");
  CHECK(spec->ports.at(0).protocol == "tcp");
  CHECK(label(*spec, "fleetward.managed") == "true");
  CHECK(label(*spec, "fleetward.deployment") == "42");
  CHECK(label(*spec, "fleetward.placement") == "7");
  CHECK(label(*spec, "team") == "ops");

  json body = json::parse(container_create_body(*spec));
  CHECK(body["Image"] == "localhost/bb:1");
  CHECK(body["Env"][0] == "A=1");
  CHECK(body["Labels"]["fleetward.deployment"] == "42");
  CHECK(body["Labels"]["fleetward.placement"] == "7");
  const json& limits = body["HostConfig"]["Ulimits"];
  REQUIRE(limits.size() == 2);
  CHECK(limits[0] == json({{"Name", "nofile"}, {"Soft", 512}, {"Hard", 512}}));
  CHECK(limits[1] == json({{"Name", "nproc"}, {"Soft", 256}, {"Hard", 256}}));
  CHECK(body["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostPort"] == "18081");
  CHECK(body["HostConfig"]["Memory"] == 64 * 1024 * 1024);
  CHECK(body["HostConfig"]["NanoCpus"] == 500'000'000);
}

TEST_CASE("ulimits are set on every create, even with no params asking for them") {
  auto spec = container_start_spec(R"({"name":"a","image":"i"})", Ulimits{});
  REQUIRE(spec.ok());
  json body = json::parse(container_create_body(*spec));
  CHECK(body["HostConfig"]["Ulimits"][0]["Soft"] == 1024);
  CHECK(body["HostConfig"]["Ulimits"][1]["Soft"] == 1000);
  CHECK(label(*spec, "fleetward.managed") == "true");
  CHECK(label(*spec, "fleetward.deployment") == "<none>");
  CHECK(label(*spec, "fleetward.placement") == "<none>");
}

TEST_CASE("bad container_start params name the field") {
  CHECK(error_of("not json") == "params: not valid JSON");
  CHECK(error_of("[1]") == "params: must be an object");
  CHECK(error_of(R"({"image":"i"})") == "name: required string");
  CHECK(error_of(R"({"name":"../etc","image":"i"})").rfind("name: must match", 0) == 0);
  CHECK(error_of(R"({"name":"a"})") == "image: required string");
  CHECK(error_of(R"({"name":"a","image":"i","cmd":"sh"})") == "cmd: must be an array of strings");
  CHECK(error_of(R"({"name":"a","image":"i","cmd":["x",1]})") == "cmd[1]: must be a string");
  CHECK(error_of(R"({"name":"a","image":"i","env":{"A":1}})") == "env.A: must be a string");
  CHECK(error_of(R"({"name":"a","image":"i","ports":[{"container_port":80,"host_port":70000}]})") ==
        "ports[0].host_port: must be 1..65535");
  CHECK(error_of(R"({"name":"a","image":"i","ports":[{"host_port":80}]})") ==
        "ports[0].container_port: required");
  CHECK(
      error_of(
          R"({"name":"a","image":"i","ports":[{"container_port":1,"host_port":2,"protocol":"sctp"}]})") ==
      "ports[0].protocol: must be tcp or udp");
  CHECK(error_of(R"({"name":"a","image":"i","memory_mb":1.5})") == "memory_mb: must be an integer");
  CHECK(error_of(R"({"name":"a","image":"i","cpus":-1})") == "cpus: must be 0..1024");
  CHECK(error_of(R"({"name":"a","image":"i","labels":{"fleetward.managed":"false"}})") ==
        "labels.fleetward.managed: reserved");
  CHECK(error_of(R"({"name":"a","image":"i","labels":{"fleetward.placement":"9"}})") ==
        "labels.fleetward.placement: reserved");
  CHECK(error_of(R"({"name":"a","image":"i","placement_id":"7"})") ==
        "placement_id: must be an integer");
  CHECK(error_of(R"({"name":"a","image":"i","placement_id":0})") ==
        "placement_id: must be 1..9223372036854775807");
  std::string deep(100, '[');
  CHECK(error_of(deep) == "params: nested too deeply");
}

TEST_CASE("stop, remove and inspect params") {
  auto stop = container_stop_params(R"({"name":"a"})");
  REQUIRE(stop.ok());
  CHECK(stop->timeout_s == 10);
  CHECK(container_stop_params(R"({"name":"a","timeout_s":-1})").error().message() ==
        "timeout_s: must be 0..600");
  auto rm = container_remove_params(R"({"name":"a"})");
  REQUIRE(rm.ok());
  CHECK(rm->force);
  CHECK(container_remove_params(R"({"name":"a","force":"yes"})").error().message() ==
        "force: must be a boolean");
  CHECK(container_name_param("{}").error().message() == "name: required string");
}

TEST_CASE("unknown actions and host power commands are refused with a clear error") {
  DockerClient docker({.socket = "/nonexistent/docker.sock"});
  CommandPolicy policy;
  int powered = 0;
  policy.power = [&](const std::string&) {
    ++powered;
    return Status::success();
  };
  auto unknown = execute_command({.id = 1, .action = "format_disk"}, docker, policy);
  CHECK_FALSE(unknown.ok);
  CHECK(unknown.error.find("unknown action 'format_disk'") != std::string::npos);

  auto refused = execute_command({.id = 2, .action = "reboot"}, docker, policy);
  CHECK_FALSE(refused.ok);
  CHECK(refused.error.find("allow_host_power") != std::string::npos);
  CHECK(powered == 0);

  policy.host_power = HostPower::kAllowed;
  auto allowed = execute_command({.id = 3, .action = "shutdown"}, docker, policy);
  CHECK(allowed.ok);
  CHECK(powered == 1);

  auto bad =
      execute_command({.id = 4, .action = "container_stop", .params_json = "{}"}, docker, policy);
  CHECK_FALSE(bad.ok);
  CHECK(bad.error == "name: required string");
  // Docker away: the failure says so rather than crashing.
  auto away = execute_command(
      {.id = 5, .action = "container_inspect", .params_json = R"({"name":"x"})"}, docker, policy);
  CHECK_FALSE(away.ok);
  CHECK(away.error.find("docker GET") != std::string::npos);
}

TEST_CASE("ports published on every address are kept to the agent's publish_address") {
  auto spec = container_start_spec(
      R"({"name":"a","image":"i","ports":[{"container_port":80,"host_port":20000},
          {"container_port":81,"host_port":20001,"host_ip":"127.0.0.9"},
          {"container_port":82,"host_port":20002,"host_ip":"::"}]})",
      Ulimits{});
  REQUIRE(spec.ok());
  ContainerSpec unchanged = *spec;
  restrict_published_ports(unchanged, "");
  CHECK(unchanged.ports.at(0).host_ip == "0.0.0.0");
  restrict_published_ports(*spec, "127.60.0.2");
  CHECK(spec->ports.at(0).host_ip == "127.60.0.2");
  CHECK(spec->ports.at(1).host_ip == "127.0.0.9");  // a command's own address is kept
  CHECK(spec->ports.at(2).host_ip == "127.60.0.2");
  json body = json::parse(container_create_body(*spec));
  CHECK(body["HostConfig"]["PortBindings"]["80/tcp"][0]["HostIp"] == "127.60.0.2");
}
