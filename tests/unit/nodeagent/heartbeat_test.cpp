#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "nodeagent/heartbeat.h"

using namespace fleet;
using namespace fleet::nodeagent;
using nlohmann::json;
using std::chrono::milliseconds;

TEST_CASE("the heartbeat body follows the contract") {
  HeartbeatState s;
  s.seq = 7;
  s.sent_at = std::chrono::system_clock::time_point(std::chrono::seconds(1796374069));
  s.load = {.cpu_percent = 12.3456, .memory_percent = 140, .disk_percent = -3};
  s.containers = {
      {.id = "a1",
       .name = "web",
       .image = "localhost/bb:1",
       .state = "running",
       .status = "Up",
       .labels = {{"fleetward.managed", "true"}},
       .ports = {{.container_port = 8080, .host_port = 20001, .host_ip = "127.0.0.5"}}},
      {.id = "b2", .name = "old", .image = "x", .state = "exited", .status = "Exited (0)"}};
  json b = json::parse(heartbeat_body(s));
  CHECK(b["seq"] == 7);
  CHECK(b["sent_at"] == "2026-12-04T08:47:49Z");
  CHECK(b["cpu_percent"].get<double>() == Approx(12.35));
  CHECK(b["memory_percent"] == 100.0);  // clamped
  CHECK(b["disk_percent"] == 0.0);
  CHECK(b["containers"] == 2);
  CHECK(b["containers_running"] == 1);
  REQUIRE(b["container_list"].size() == 2);
  CHECK(b["container_list"][0]["name"] == "web");
  CHECK(b["container_list"][0]["labels"]["fleetward.managed"] == "true");
  CHECK(b["container_list"][1]["labels"].is_object());
  CHECK(b["container_list"][0]["ports"] ==
        json::parse(R"([{"container_port":8080,"host_port":20001,"host_ip":"127.0.0.5",)"
                    R"("protocol":"tcp"}])"));
  CHECK(b["container_list"][1]["ports"].empty());
}

TEST_CASE("the container list is cut at 500 but the counts cover every container") {
  HeartbeatState s;
  for (int i = 0; i < 650; ++i)
    s.containers.push_back({.id = std::to_string(i),
                            .name = "c" + std::to_string(i),
                            .state = i % 2 == 0 ? "running" : "exited"});
  json b = json::parse(heartbeat_body(s));
  CHECK(b["container_list"].size() == 500);
  CHECK(b["containers"] == 650);
  CHECK(b["containers_running"] == 325);
}

TEST_CASE("heartbeat pacing: ±10 % jitter from the injected random number") {
  const milliseconds base(30'000);
  CHECK(jittered_interval(base, 0.0) == milliseconds(27'000));
  CHECK(jittered_interval(base, 0.5) == milliseconds(30'000));
  CHECK(jittered_interval(base, 0.999999) == milliseconds(33'000));
  CHECK(jittered_interval(base, 7.0) == milliseconds(33'000));  // out of range: clamped
}

TEST_CASE("send retries back off exponentially, never beyond the heartbeat interval") {
  const auto p = send_retry_policy(milliseconds(30'000));
  // No jitter drawn (unit_random 0): 1 s, 2 s, 4 s, ... capped at 30 s.
  CHECK(backoff_delay(p, 1, 0.0) == milliseconds(1000));
  CHECK(backoff_delay(p, 2, 0.0) == milliseconds(2000));
  CHECK(backoff_delay(p, 5, 0.0) == milliseconds(16'000));
  CHECK(backoff_delay(p, 9, 0.0) == milliseconds(30'000));
  // Jitter only shortens a delay, by at most half.
  CHECK(backoff_delay(p, 2, 0.999) >= milliseconds(1000));
  CHECK(backoff_delay(p, 2, 0.999) < milliseconds(2000));
  // A 1 s interval never waits longer than 1 s.
  CHECK(backoff_delay(send_retry_policy(milliseconds(1000)), 6, 0.0) == milliseconds(1000));
}

TEST_CASE("the heartbeat buffer keeps only the newest unsent state") {
  HeartbeatBuffer buf;
  CHECK_FALSE(buf.pending());
  buf.offer({.seq = 1});
  buf.offer({.seq = 2});  // the gateway is away: 2 replaces 1
  REQUIRE(buf.pending());
  CHECK(buf.pending()->seq == 2);
  CHECK(buf.replaced() == 1);
  buf.sent(1);  // a late acknowledgement of an older one leaves the newest in place
  CHECK(buf.pending()->seq == 2);
  buf.sent(2);
  CHECK_FALSE(buf.pending());
}
