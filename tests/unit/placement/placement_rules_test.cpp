// The placement core's filter, score and tie rules (placement.h), one rule per test case: each
// sets up a cluster where only that rule decides.
#include <catch2/catch.hpp>

#include <algorithm>

#include "placement/placement.h"

using namespace fleet::placement;

namespace {

Node node(std::int64_t id, double load = 10) {
  Node n;
  n.id = id;
  n.capacity = {.cpu_cores = 8, .memory_mb = 16384, .disk_gb = 100};
  n.cpu_percent = n.memory_percent = n.disk_percent = load;
  return n;
}

Request request(std::int64_t deployment, double cpu = 1, double memory = 1024) {
  Request r;
  r.deployment_id = deployment;
  r.organization_id = 1;
  r.need = {.cpu_cores = cpu, .memory_mb = memory, .disk_gb = 1};
  return r;
}

}  // namespace

TEST_CASE("placement: the least loaded node wins", "[placement]") {
  Cluster cluster({node(1, 50), node(2, 20), node(3, 30)});
  auto choice = cluster.place(request(7));
  CHECK(choice.node_id == 2);
  CHECK(choice.score == Approx(20));
  CHECK(choice.reason.empty());
}

TEST_CASE("placement: the score averages cpu, memory and disk", "[placement]") {
  Node cpu_heavy = node(1, 0), even = node(2, 0);
  cpu_heavy.cpu_percent = 45;                                       // average 15
  even.cpu_percent = even.memory_percent = even.disk_percent = 20;  // average 20, more cpu-idle
  Cluster cluster({cpu_heavy, even});
  auto choice = cluster.place(request(7));
  CHECK(choice.node_id == 1);
  CHECK(choice.score == Approx(15));
}

TEST_CASE("placement: placements of this plan raise a node's projected load, so a plan spreads",
          "[placement]") {
  Cluster cluster({node(1, 10), node(2, 12)});
  // 4 cores of 8 (+50 %) and 8 GiB of 16 (+50 %) and 1 GB of 100 (+1 %): 10 + 101/3.
  auto first = cluster.place(request(7, 4, 8192));
  REQUIRE(first.node_id == 1);
  CHECK(cluster.projected_load(1) == Approx(10 + 101.0 / 3));
  auto second = cluster.place(request(8, 1, 1024));
  CHECK(second.node_id == 2);
  CHECK(second.score == Approx(12));
}

TEST_CASE("placement: a resource with zero capacity contributes its observed percent",
          "[placement]") {
  Node diskless = node(1, 30);
  diskless.capacity.disk_gb = 0;
  Cluster cluster({diskless});
  Request r = request(7);
  r.need.disk_gb = 0;
  REQUIRE(cluster.place(r).placed());
  // cpu 30 + 12.5, memory 30 + 6.25, disk 30 (no capacity: nothing added, no division by zero).
  CHECK(cluster.projected_load(1) == Approx((42.5 + 36.25 + 30) / 3));
}

TEST_CASE("placement: unschedulable nodes are never chosen", "[placement]") {
  Node idle = node(1, 0);
  idle.schedulable = false;
  Cluster cluster({idle, node(2, 50)});
  CHECK(cluster.place(request(7)).node_id == 2);
}

TEST_CASE("placement: only nodes of the request's pool are chosen", "[placement]") {
  Node gpu = node(1, 0);
  gpu.pool = "gpu";
  Cluster cluster({gpu, node(2, 50)});
  CHECK(cluster.place(request(7)).node_id == 2);
  Request r = request(8);
  r.pool = "gpu";
  CHECK(cluster.place(r).node_id == 1);
}

TEST_CASE("placement: nodes to avoid are never chosen", "[placement]") {
  Cluster cluster({node(1, 0), node(2, 50)});
  Request r = request(7);
  r.avoid = {1};
  CHECK(cluster.place(r).node_id == 2);
}

TEST_CASE("placement: a node without room for any one resource is skipped", "[placement]") {
  for (int lacking = 0; lacking < 3; ++lacking) {
    Node small = node(1, 0);
    if (lacking == 0) small.capacity.cpu_cores = 0.5;
    if (lacking == 1) small.capacity.memory_mb = 512;
    if (lacking == 2) small.capacity.disk_gb = 0.5;
    Cluster cluster({small, node(2, 50)});
    INFO("lacking resource " << lacking);
    CHECK(cluster.place(request(7)).node_id == 2);
  }
}

TEST_CASE("placement: room counts what is already reserved on the node", "[placement]") {
  Node busy = node(1, 0);
  busy.reserved = {.cpu_cores = 7.5, .memory_mb = 0, .disk_gb = 0};
  Cluster cluster({busy, node(2, 50)});
  CHECK(cluster.place(request(7)).node_id == 2);
}

TEST_CASE("placement: room counts what this plan placed: never overcommitted", "[placement]") {
  Cluster cluster({node(1, 0)});
  CHECK(cluster.place(request(1, 4)).node_id == 1);
  CHECK(cluster.place(request(2, 4)).node_id == 1);
  auto third = cluster.place(request(3, 0.001));
  CHECK_FALSE(third.placed());
  CHECK(third.node_id == 0);
}

TEST_CASE("placement: amounts are exact: 0.1 + 0.2 cores fit 0.3 cores", "[placement]") {
  Node small = node(1, 0);
  small.capacity.cpu_cores = 0.3;
  Cluster cluster({small});
  CHECK(cluster.place(request(1, 0.1, 1)).placed());
  CHECK(cluster.place(request(2, 0.2, 1)).placed());  // 0.1 + 0.2 = 0.30000000000000004 in doubles
  CHECK_FALSE(cluster.place(request(3, 0.001, 1)).placed());
}

TEST_CASE("placement: a resource the request does not need does not constrain it", "[placement]") {
  Node over = node(1, 0);
  over.reserved.memory_mb = 20000;  // already over its 16384 MiB (placed before a resize)
  Cluster cluster({over});
  CHECK_FALSE(cluster.place(request(1, 1, 1)).placed());
  CHECK(cluster.place(request(2, 1, 0)).node_id == 1);
}

TEST_CASE("placement: no two replicas of one deployment on a node", "[placement]") {
  Node running = node(1, 0);
  running.deployments = {7};
  Cluster cluster({running, node(2, 40), node(3, 50)});
  CHECK(cluster.place(request(7)).node_id == 2);  // 1 runs one already
  CHECK(cluster.place(request(7)).node_id == 3);  // 2 got one in this plan
  CHECK_FALSE(cluster.place(request(7)).placed());
  CHECK(cluster.place(request(8)).node_id == 1);  // other deployments are not affected
}

TEST_CASE("placement: an anti-affinity key keeps one organisation's containers apart",
          "[placement]") {
  Node running = node(1, 0);
  running.anti_affinity_keys = {"1/db"};
  Cluster cluster({running, node(2, 40)});
  Request r = request(7);
  r.anti_affinity_key = "db";
  CHECK(cluster.place(r).node_id == 2);
  Request same_key = request(8);  // another deployment of the same organisation
  same_key.anti_affinity_key = "db";
  CHECK_FALSE(cluster.place(same_key).placed());
  Request other_org = request(9);
  other_org.organization_id = 2;
  other_org.anti_affinity_key = "db";
  CHECK(cluster.place(other_org).node_id == 1);  // keys are compared within one organisation
}

TEST_CASE("placement: equal loads: the site with fewer replicas of the deployment wins",
          "[placement]") {
  Node east1 = node(1, 20), east2 = node(2, 10), west = node(3, 10);
  east1.site = east2.site = "east";
  west.site = "west";
  east1.deployments = {7};
  Cluster cluster({east1, east2, west});
  CHECK(cluster.place(request(7)).node_id == 3);  // node 2 has the lower id, but east has one
}

TEST_CASE("placement: equal loads: a node without a site is a site of its own", "[placement]") {
  Node east1 = node(1, 20), east2 = node(2, 10), loner = node(3, 10);
  east1.site = east2.site = "east";
  east1.deployments = {7};
  Cluster cluster({east1, east2, loner});
  CHECK(cluster.place(request(7)).node_id == 3);
}

TEST_CASE("placement: equal loads and sites: the lower id wins, whatever the input order",
          "[placement]") {
  Cluster forward({node(4, 10), node(9, 10), node(6, 10)});
  Cluster backward({node(6, 10), node(9, 10), node(4, 10)});
  CHECK(forward.place(request(7)).node_id == 4);
  CHECK(backward.place(request(7)).node_id == 4);
}

TEST_CASE("placement: a node with id 0 or a repeated id is never chosen", "[placement]") {
  Cluster cluster({node(0, 0), node(5, 20), node(5, 1), node(6, 30)});
  CHECK(cluster.place(request(7)).node_id == 5);
  CHECK(cluster.projected_load(5) > 20);  // the first node 5 got it
  CHECK(cluster.place(request(7)).node_id == 6);
  CHECK_FALSE(cluster.place(request(7)).placed());
}

TEST_CASE("placement: release forgets a reservation: room, load and anti-affinity", "[placement]") {
  Node small = node(1, 10);
  small.capacity.cpu_cores = 2;
  Cluster cluster({small});
  Request r = request(7, 2);
  r.anti_affinity_key = "db";
  REQUIRE(cluster.place(r).node_id == 1);
  CHECK_FALSE(cluster.place(request(8, 1)).placed());
  cluster.release(1, r);
  CHECK(cluster.projected_load(1) == Approx(10));
  CHECK(cluster.place(r).node_id == 1);  // room and the replica/key are free again
}

TEST_CASE("placement: release of something this Cluster did not place changes nothing",
          "[placement]") {
  Node running = node(1, 10), other = node(2, 20);
  running.deployments = {7};
  running.reserved.cpu_cores = 8;
  Cluster cluster({running, other});
  REQUIRE(cluster.place(request(7, 1)).node_id == 2);  // this Cluster placed 7 elsewhere
  cluster.release(1, request(7, 8));                   // placed before the plan: not this Cluster's
  cluster.release(42, request(7, 8));                  // unknown node
  CHECK(cluster.projected_load(1) == Approx(10));
  Node only_one = node(1, 10);
  only_one.deployments = {7};
  only_one.reserved.cpu_cores = 8;
  Cluster single({only_one});
  single.release(1, request(7, 8));
  CHECK_FALSE(single.place(request(8, 1)).placed());     // its room is still taken
  CHECK_FALSE(single.place(request(7, 0, 0)).placed());  // and its replica still there
  CHECK(cluster.place(request(8, 1)).node_id == 2);
  CHECK_FALSE(cluster.place(request(7, 0, 0)).placed());  // 1 still runs one, 2 got one
}

TEST_CASE("placement: projected_load of an unknown node is -1", "[placement]") {
  Cluster cluster({node(1)});
  CHECK(cluster.projected_load(2) == -1);
}

TEST_CASE("placement: an unknown observed load counts as fully loaded", "[placement]") {
  Node unknown = node(1, 0);
  unknown.cpu_percent = std::numeric_limits<double>::quiet_NaN();
  Cluster cluster({unknown, node(2, 40)});
  CHECK(cluster.projected_load(1) == Approx(100.0 / 3));
  CHECK(cluster.place(request(7)).node_id == 1);
  CHECK(cluster.place(request(8)).node_id == 1);  // 33.3 + 12.5/3 + ... still below 40
}

TEST_CASE("placement: place_all places in order and each placement sees the earlier ones",
          "[placement]") {
  Cluster cluster({node(1, 10), node(2, 11)});
  auto choices = place_all(cluster, {request(1, 4, 0), request(2, 4, 0), request(3, 4, 0),
                                     request(4, 4, 0), request(5, 4, 0)});
  REQUIRE(choices.size() == 5);
  CHECK(choices[0].node_id == 1);
  CHECK(choices[1].node_id == 2);
  CHECK(choices[2].node_id == 1);
  CHECK(choices[3].node_id == 2);
  CHECK_FALSE(choices[4].placed());
}
