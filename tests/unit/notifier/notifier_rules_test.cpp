// The notifier's pure decisions: routing, group keys, flush timing, retry verdicts.
#include <catch2/catch.hpp>

#include "notifier_rules.h"

using namespace fleet;
using namespace fleet::notifier;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

Facts offline(std::int64_t id, const std::string& site, std::int64_t worker = 7) {
  Facts f;
  f.id = id;
  f.event = "worker.offline";
  f.severity = "warning";
  f.title = "w offline";
  f.source = "heartbeat-monitor";
  f.worker_id = worker;
  f.site = site;
  f.farm_id = 3;
  f.worker_labels = R"({"rack": "r1", "owner": "ann", "tags": ["a", "b"]})";
  return f;
}

std::vector<Channel> two_channels() {
  return {
      {.id = 1, .name = "hook", .kind = "webhook", .enabled = true, .group_by = {"event", "site"}},
      {.id = 2, .name = "mqtt", .kind = "mqtt", .enabled = true, .group_by = {"worker"}}};
}

}  // namespace

TEST_CASE("event patterns match exact names and trailing-star prefixes", "[notifier][unit]") {
  CHECK(event_matches({}, "alert.firing"));
  CHECK(event_matches({"alert.*"}, "alert.firing"));
  CHECK_FALSE(event_matches({"alert.*"}, "worker.offline"));
  CHECK(event_matches({"worker.offline"}, "worker.offline"));
  CHECK_FALSE(event_matches({"worker.off"}, "worker.offline"));
  CHECK(event_matches({"x", "*"}, "anything"));
}

TEST_CASE("a route matches by severity, event, site, farm and worker labels", "[notifier][unit]") {
  const Facts n = offline(1, "hall-a");
  Route r{.id = 1, .channel_id = 1};
  CHECK(route_matches(r, n));
  r.severities = {"critical"};
  CHECK_FALSE(route_matches(r, n));
  r.severities = {"warning", "critical"};
  r.events = {"worker.*"};
  r.sites = {"hall-b"};
  CHECK_FALSE(route_matches(r, n));
  r.sites = {"hall-a"};
  r.farm_ids = {4};
  CHECK_FALSE(route_matches(r, n));
  r.farm_ids = {3};
  r.worker_labels = R"({"rack": "r2"})";
  CHECK_FALSE(route_matches(r, n));
  r.worker_labels = R"({"rack": "r1", "tags": ["b"]})";
  CHECK(route_matches(r, n));
  Facts no_worker = n;
  no_worker.worker_id = 0;
  CHECK_FALSE(route_matches(r, no_worker));  // labels asked, no worker
}

TEST_CASE("group keys list the channel's group_by fields in order", "[notifier][unit]") {
  const Facts n = offline(1, "hall-a");
  CHECK(group_key({"event", "site"}, n) == "event=worker.offline|site=hall-a");
  CHECK(group_key({"worker", "farm", "rule"}, n) == "worker=7|farm=3|rule=");
  CHECK(group_key({}, n).empty());
}

TEST_CASE("routing: one target per channel, disabled channels get nothing", "[notifier][unit]") {
  auto channels = two_channels();
  const std::vector<Route> routes{{.id = 1, .channel_id = 1, .events = {"worker.*"}},
                                  {.id = 2, .channel_id = 1, .severities = {"warning"}},
                                  {.id = 3, .channel_id = 2}};
  auto targets = route(offline(1, "hall-a"), channels, routes, {});
  REQUIRE(targets.size() == 2);
  CHECK(targets[0] == Target{1, "", "event=worker.offline|site=hall-a"});
  CHECK(targets[1] == Target{2, "", "worker=7"});
  channels[1].enabled = false;
  CHECK(route(offline(1, "hall-a"), channels, routes, {}).size() == 1);
}

TEST_CASE("routing: owners hear through their subscriptions", "[notifier][unit]") {
  const auto channels = two_channels();
  Facts n = offline(1, "hall-a");
  n.owners = {42};
  const std::vector<Subscription> subs{
      {.id = 1, .user_id = 42, .channel_id = 1, .min_severity = "warning", .address = "a@x"},
      {.id = 2, .user_id = 42, .channel_id = 2, .min_severity = "critical"},
      {.id = 3, .user_id = 43, .channel_id = 1},
      {.id = 4, .user_id = 42, .channel_id = 1, .events = {"alert.*"}, .address = "b@x"}};
  const auto targets = route(n, channels, {}, subs);
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].channel_id == 1);
  CHECK(targets[0].recipient == "a@x");
}

TEST_CASE("routing: notifier.test goes only to its channel, channel alerts never to their own",
          "[notifier][unit]") {
  const auto channels = two_channels();
  const std::vector<Route> everything{{.id = 1, .channel_id = 1}, {.id = 2, .channel_id = 2}};
  Facts test = offline(1, "");
  test.event = "notifier.test";
  test.payload = R"({"channel_id": 2})";
  auto targets = route(test, channels, everything, {});
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].channel_id == 2);
  Facts failing = test;
  failing.event = "notifier.channel_failing";
  failing.payload = R"({"channel_id": 1, "channel": "hook"})";
  targets = route(failing, channels, everything, {});
  REQUIRE(targets.size() == 1);
  CHECK(targets[0].channel_id == 2);
}

TEST_CASE("flush timing: group_wait for a new group, group_interval after a message",
          "[notifier][unit]") {
  const WallTime t0{seconds(1'000'000)};  // any wall time
  const milliseconds gw = seconds(30), gi = seconds(300);
  // Never sent: waits group_wait from the first pending delivery.
  CHECK_FALSE(flush_due(t0, std::nullopt, gw, gi, t0 + seconds(29)));
  CHECK(flush_due(t0, std::nullopt, gw, gi, t0 + seconds(30)));
  // Sent 100 s before the burst began: the next message waits for group_interval.
  const WallTime last = t0 - seconds(100);
  CHECK_FALSE(flush_due(t0, last, gw, gi, t0 + seconds(30)));
  CHECK_FALSE(flush_due(t0, last, gw, gi, last + seconds(299)));
  CHECK(flush_due(t0, last, gw, gi, last + seconds(300)));
  // Sent long before: a new burst waits group_wait only.
  const WallTime long_ago = t0 - seconds(1000);
  CHECK_FALSE(flush_due(t0, long_ago, gw, gi, t0 + seconds(10)));
  CHECK(flush_due(t0, long_ago, gw, gi, t0 + seconds(30)));
  // group_wait 0: at once.
  CHECK(flush_due(t0, std::nullopt, milliseconds(0), gi, t0));
}

TEST_CASE("attempt verdicts: delivered, retried with jittered backoff, dead", "[notifier][unit]") {
  const RetryPolicy policy{.max_attempts = 4,
                           .max_age = std::chrono::hours(1),
                           .backoff = {.initial = seconds(10), .max = seconds(600)}};
  notify::SendResult ok;
  ok.outcome = notify::SendResult::Outcome::kDelivered;
  CHECK(judge_attempt(ok, 4, 0, seconds(1), policy, 0.5).state == Verdict::State::kDelivered);

  notify::SendResult failed;
  failed.error = "HTTP 500";
  auto v = judge_attempt(failed, 1, 0, seconds(1), policy, 0.0);
  CHECK(v.state == Verdict::State::kRetrying);
  CHECK(v.retry_in == seconds(10));
  v = judge_attempt(failed, 3, 0, seconds(1), policy, 0.0);
  CHECK(v.retry_in == seconds(40));
  v = judge_attempt(failed, 3, 0, seconds(1), policy, 0.99);  // jitter: down to half
  CHECK(v.retry_in < seconds(40));
  CHECK(v.retry_in >= seconds(20));
  v = judge_attempt(failed, 4, 0, seconds(1), policy, 0.0);
  CHECK(v.state == Verdict::State::kDead);
  CHECK(v.dead_reason.find("4 attempts") != std::string::npos);
  // "retry now" gave it max_attempts again.
  CHECK(judge_attempt(failed, 5, 4, seconds(1), policy, 0.0).state == Verdict::State::kRetrying);
  // Too old.
  CHECK(judge_attempt(failed, 1, 0, std::chrono::hours(2), policy, 0.0).state ==
        Verdict::State::kDead);
  // Retrying cannot help.
  failed.permanent = true;
  CHECK(judge_attempt(failed, 1, 0, seconds(1), policy, 0.0).state == Verdict::State::kDead);
  // Uncertain is retried like a failure.
  notify::SendResult uncertain;
  uncertain.outcome = notify::SendResult::Outcome::kUncertain;
  CHECK(judge_attempt(uncertain, 1, 0, seconds(1), policy, 0.0).state == Verdict::State::kRetrying);
}
