// The Docker Engine API client and the agent's container commands against a real Podman.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "nodeagent/commands.h"
#include "nodeagent/docker.h"
#include "nodeagent/http_call.h"
#include "podman.h"

using namespace fleet;
using namespace fleet::nodeagent;
using nlohmann::json;

namespace {
const ContainerSummary* find(const std::vector<ContainerSummary>& list, const std::string& name) {
  for (const auto& c : list)
    if (c.name == name) return &c;
  return nullptr;
}
}  // namespace

TEST_CASE("docker client against Podman: version, create, start, list, inspect, stop, remove") {
  init_http();
  auto node = test::PodmanService::start();
  DockerClient docker({.socket = node->socket()});

  auto v = docker.version();
  REQUIRE(v.ok());
  CHECK(v->engine == "podman");
  CHECK_FALSE(v->version.empty());

  const int port = test::free_port();
  ContainerSpec spec;
  spec.name = "web";
  spec.image = test::PodmanService::kImage;
  spec.cmd = {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"};
  spec.ports = {{.container_port = 8080, .host_port = port, .host_ip = "127.0.0.1"}};
  spec.labels = {{"fleetward.managed", "true"}};
  auto id = docker.create(spec);
  REQUIRE(id.ok());
  auto again = docker.create(spec);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().kind() == ErrorKind::kAlreadyExists);

  REQUIRE(docker.start("web").ok());
  CHECK(docker.start("web").ok());  // already running: fine
  auto st = docker.inspect("web");
  REQUIRE(st.ok());
  CHECK(st->running);
  CHECK(st->id == *id);
  // The published port answers on loopback: busybox httpd serves /etc.
  CHECK(test::eventually([&] { return test::http_get(port, "/hostname").status == 200; },
                         std::chrono::seconds(10)));

  auto list = docker.list_all();
  REQUIRE(list.ok());
  const ContainerSummary* web = find(*list, "web");
  REQUIRE(web != nullptr);
  CHECK(web->state == "running");
  CHECK(web->image.find("bb") != std::string::npos);
  REQUIRE_FALSE(web->labels.empty());

  REQUIRE(docker.stop("web", 1).ok());
  st = docker.inspect("web");
  REQUIRE(st.ok());
  CHECK_FALSE(st->running);
  CHECK(docker.stop("web", 1).ok());  // already stopped: fine

  REQUIRE(docker.remove("web", true).ok());
  auto gone = docker.inspect("web");
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind() == ErrorKind::kNotFound);
  CHECK(docker.remove("web", true).error().kind() == ErrorKind::kNotFound);
}

TEST_CASE("agent commands against Podman: start with ulimits and labels, inspect, stop, remove") {
  init_http();
  auto node = test::PodmanService::start();
  DockerClient docker({.socket = node->socket()});
  CommandPolicy policy{.ulimits = {.nofile = 1024, .nproc = 1000}};
  const int port = test::free_port();
  json params = {
      {"name", "app"},
      {"image", test::PodmanService::kImage},
      {"cmd", {"/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/etc"}},
      {"ports", {{{"container_port", 8080}, {"host_port", port}, {"host_ip", "127.0.0.1"}}}},
      {"deployment_id", 9}};
  auto started = execute_command(
      {.id = 1, .action = "container_start", .params_json = params.dump()}, docker, policy);
  INFO(started.error);
  REQUIRE(started.ok);
  json result = json::parse(started.result_json);
  CHECK(result["state"] == "running");
  CHECK_FALSE(result["container_id"].get<std::string>().empty());
  CHECK(test::eventually([&] { return test::http_get(port, "/hostname").status == 200; },
                         std::chrono::seconds(10)));

  // The ulimits and labels are really on the container.
  auto inspected = node->get("/v1.41/containers/app/json");
  REQUIRE(inspected.status == 200);
  json c = json::parse(inspected.body);
  CHECK(c["Config"]["Labels"]["fleetward.managed"] == "true");
  CHECK(c["Config"]["Labels"]["fleetward.deployment"] == "9");
  bool nofile = false;
  for (const auto& u : c["HostConfig"]["Ulimits"])
    if (u["Name"] == "RLIMIT_NOFILE" || u["Name"] == "nofile") nofile = u["Soft"] == 1024;
  CHECK(nofile);

  // Starting it again is fine: it exists and runs.
  CHECK(execute_command({.id = 2, .action = "container_start", .params_json = params.dump()},
                        docker, policy)
            .ok);
  auto info = execute_command(
      {.id = 3, .action = "container_inspect", .params_json = R"({"name":"app"})"}, docker, policy);
  REQUIRE(info.ok);
  CHECK(json::parse(info.result_json)["running"] == true);
  auto stopped = execute_command(
      {.id = 4, .action = "container_stop", .params_json = R"({"name":"app","timeout_s":1})"},
      docker, policy);
  REQUIRE(stopped.ok);
  CHECK(json::parse(stopped.result_json)["running"] == false);
  auto removed = execute_command(
      {.id = 5, .action = "container_remove", .params_json = R"({"name":"app"})"}, docker, policy);
  REQUIRE(removed.ok);
  auto missing = execute_command(
      {.id = 6, .action = "container_remove", .params_json = R"({"name":"app"})"}, docker, policy);
  CHECK(missing.ok);  // missing = ok
  CHECK(json::parse(missing.result_json)["missing"] == true);

  // A container that cannot start is reported as a failure with the engine's reason.
  auto broken = execute_command(
      {.id = 7,
       .action = "container_start",
       .params_json = R"({"name":"broken","image":"localhost/bb:1","cmd":["/no/such/binary"]})"},
      docker, policy);
  CHECK_FALSE(broken.ok);
  CHECK_FALSE(broken.error.empty());
}
