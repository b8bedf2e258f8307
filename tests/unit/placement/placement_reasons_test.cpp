// Why a request fits nowhere: each reason names the binding constraint in the operator's units.
#include <catch2/catch.hpp>

#include <limits>

#include "placement/placement.h"

using namespace fleet::placement;

namespace {

Node node(std::int64_t id, const std::string& pool = "default") {
  Node n;
  n.id = id;
  n.pool = pool;
  n.capacity = {.cpu_cores = 4, .memory_mb = 8192, .disk_gb = 50};
  return n;
}

Request request(const std::string& pool, Resources need) {
  Request r;
  r.deployment_id = 7;
  r.organization_id = 1;
  r.pool = pool;
  r.need = need;
  return r;
}

std::string reason(std::vector<Node> nodes, const Request& r) {
  Cluster cluster(std::move(nodes));
  auto choice = cluster.place(r);
  CHECK_FALSE(choice.placed());
  return choice.reason;
}

}  // namespace

TEST_CASE("placement reason: no node in the pool", "[placement][reasons]") {
  CHECK(reason({node(1)}, request("gpu", {.cpu_cores = 1})) == "no schedulable node in pool gpu");
}

TEST_CASE("placement reason: the pool's nodes are all unschedulable", "[placement][reasons]") {
  Node down = node(1, "gpu");
  down.schedulable = false;
  CHECK(reason({down, node(2)}, request("gpu", {.cpu_cores = 1})) ==
        "no schedulable node in pool gpu");
}

TEST_CASE("placement reason: the only schedulable nodes are to be avoided",
          "[placement][reasons]") {
  Request r = request("default", {.cpu_cores = 1});
  r.avoid = {1};
  CHECK(reason({node(1)}, r) ==
        "no schedulable node in pool default other than the avoided node 1");
  r.avoid = {2, 1};
  CHECK(reason({node(1), node(2)}, r) ==
        "no schedulable node in pool default other than the avoided nodes 1 and 2");
}

TEST_CASE("placement reason: memory, in GiB", "[placement][reasons]") {
  CHECK(reason({node(1, "gpu"), node(2, "gpu")},
               request("gpu", {.cpu_cores = 1, .memory_mb = 10240})) ==
        "no node has 10 GiB memory free in pool gpu");
}

TEST_CASE("placement reason: cores, counting reservations and earlier placements",
          "[placement][reasons]") {
  Node half = node(1);
  half.reserved.cpu_cores = 2.5;
  Cluster cluster({half, node(2)});
  REQUIRE(cluster.place(request("default", {.cpu_cores = 3})).node_id == 2);
  auto choice = cluster.place(request("default", {.cpu_cores = 2, .memory_mb = 512}));
  CHECK(choice.reason == "no node has 2 cores free in pool default");
  CHECK(reason({node(1)}, request("default", {.cpu_cores = 4.5})) ==
        "no node has 4.5 cores free in pool default");
}

TEST_CASE("placement reason: disk", "[placement][reasons]") {
  CHECK(reason({node(1)}, request("default", {.disk_gb = 60})) ==
        "no node has 60 GB disk free in pool default");
}

TEST_CASE("placement reason: several resources short everywhere are all named",
          "[placement][reasons]") {
  CHECK(reason({node(1)}, request("default", {.cpu_cores = 1, .memory_mb = 9000, .disk_gb = 51})) ==
        "no node has 9000 MiB memory and 51 GB disk free in pool default");
}

TEST_CASE("placement reason: each resource fits somewhere but not together",
          "[placement][reasons]") {
  Node cpu_rich = node(1), memory_rich = node(2);
  cpu_rich.reserved.memory_mb = 8000;
  memory_rich.reserved.cpu_cores = 3.5;
  CHECK(reason({cpu_rich, memory_rich}, request("default", {.cpu_cores = 1, .memory_mb = 512})) ==
        "no node has 1 core and 512 MiB memory free together in pool default");
}

TEST_CASE("placement reason: every node with room runs a replica (anti-affinity)",
          "[placement][reasons]") {
  Node running = node(1), full = node(2);
  running.deployments = {7};
  full.reserved.cpu_cores = 4;
  CHECK(reason({running, full}, request("default", {.cpu_cores = 1})) ==
        "every node with room in pool default already runs a replica of this deployment "
        "(anti-affinity)");
}

TEST_CASE("placement reason: every node with room runs the anti-affinity key",
          "[placement][reasons]") {
  Node keyed = node(1), running = node(2);
  keyed.anti_affinity_keys = {"1/db"};
  running.deployments = {7};
  Request r = request("default", {.cpu_cores = 1});
  r.anti_affinity_key = "db";
  CHECK(reason({keyed}, r) ==
        "every node with room in pool default already runs a container with anti-affinity key "
        "\"db\" of this organisation (anti-affinity)");
  CHECK(reason({keyed, running}, r) ==
        "every node with room in pool default already runs a replica of this deployment or a "
        "container with anti-affinity key \"db\" of this organisation (anti-affinity)");
}

TEST_CASE("placement reason: an invalid request is refused, naming the field",
          "[placement][reasons]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(reason({node(1)}, request("default", {.cpu_cores = -1})) ==
        "invalid request: cpu_cores must be a finite number >= 0");
  CHECK(reason({node(1)}, request("default", {.memory_mb = nan})) ==
        "invalid request: memory_mb must be a finite number >= 0");
  CHECK(
      reason({node(1)}, request("default", {.disk_gb = std::numeric_limits<double>::infinity()})) ==
      "invalid request: disk_gb must be a finite number >= 0");
}

TEST_CASE("placement: a huge request saturates instead of overflowing", "[placement][reasons]") {
  Node big = node(1);
  big.capacity.memory_mb = 1e300;
  CHECK_FALSE(Cluster({big}).place(request("default", {.memory_mb = 1e308})).placed());
}

TEST_CASE("placement: describe_memory_mb: GiB when exact, MiB otherwise", "[placement][reasons]") {
  CHECK(describe_memory_mb(4096) == "4 GiB");
  CHECK(describe_memory_mb(1536) == "1.5 GiB");
  CHECK(describe_memory_mb(512) == "512 MiB");
  CHECK(describe_memory_mb(4097) == "4097 MiB");  // never rounded to "4 GiB"
  CHECK(describe_memory_mb(0.5) == "0.5 MiB");
}
