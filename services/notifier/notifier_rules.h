// The notifier's decisions, free of the database so they can be tested alone
// (docs/services/notifier.md):
//   route()          which (channel, recipient) pairs a notification goes to, with its group key
//   flush_due()      whether a group of pending deliveries is sent now (group_wait /
//   group_interval) judge_attempt()  what an attempt's result makes of a message (delivered,
//   retrying, dead)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/backoff.h"
#include "notify/sender.h"

namespace fleet::notifier {

using std::chrono::milliseconds;

// A notification with what routing and messages need of its worker (NULLs as 0 / "").
struct Facts {
  std::int64_t id = 0;
  std::string created_at;  // RFC 3339, UTC
  std::string source;
  std::string event;
  std::string severity;  // info | warning | critical
  std::string title;
  std::string body;
  std::int64_t worker_id = 0;
  std::string worker_name;
  std::string worker_kind;
  std::string site;  // workers.site, else payload.site
  std::int64_t farm_id = 0;
  std::string worker_labels = "{}";  // JSON object
  std::int64_t rule_id = 0;
  std::int64_t alert_id = 0;
  std::string payload = "{}";        // JSON object
  std::vector<std::int64_t> owners;  // user ids (DESIGN seed 002 "owner" notifications)
};

struct Channel {
  std::int64_t id = 0;
  std::string name;
  std::string kind;
  bool enabled = true;
  std::vector<std::string> group_by{"event", "site"};
};

struct Route {
  std::int64_t id = 0;
  std::int64_t channel_id = 0;
  std::vector<std::string> severities;  // empty: any
  std::vector<std::string> events;      // exact or prefix ending in '*'; empty: any
  std::vector<std::string> sites;
  std::vector<std::int64_t> farm_ids;
  std::string worker_labels = "{}";  // the worker's labels must contain these (jsonb @>)
};

struct Subscription {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::int64_t channel_id = 0;
  std::vector<std::string> events;
  std::string min_severity = "info";
  std::string address;
};

struct Target {
  std::int64_t channel_id = 0;
  std::string recipient;
  std::string group_key;
  bool operator==(const Target&) const = default;
};

// 0 info, 1 warning, 2 critical (-1 unknown).
int severity_rank(const std::string& severity);

// "alert.*" matches "alert.firing"; "alert.firing" only itself; empty `patterns` match anything.
bool event_matches(const std::vector<std::string>& patterns, const std::string& event);

// jsonb @> for the JSON texts `container` and `contained` (objects by key, arrays by element).
bool json_contains(const std::string& container, const std::string& contained);

bool route_matches(const Route& route, const Facts& n);

// `k=v` pairs of group_by in order joined by '|', e.g. "event=worker.offline|site=hall-a".
std::string group_key(const std::vector<std::string>& group_by, const Facts& n);

// Where `n` goes: every enabled channel of a matching route (recipient ""), and every matching
// subscription of one of its owners (recipient = the subscription's address); one target per
// (channel, recipient). notifier.test goes only to payload.channel_id; notifier.channel_failing
// / channel_recovered never to the channel they are about. Disabled channels get nothing.
std::vector<Target> route(const Facts& n, const std::vector<Channel>& channels,
                          const std::vector<Route>& routes,
                          const std::vector<Subscription>& subscriptions);

// Whether a group is flushed at `now`: a group never sent, or last sent longer than
// group_interval before its first pending delivery, waits group_wait from that delivery;
// otherwise it waits until group_interval after its last message. Times are wall clock.
using WallTime = std::chrono::system_clock::time_point;
bool flush_due(WallTime first_pending, std::optional<WallTime> last_sent, milliseconds group_wait,
               milliseconds group_interval, WallTime now);

struct RetryPolicy {
  int max_attempts = 8;
  milliseconds max_age{std::chrono::hours(24)};
  BackoffPolicy backoff{.initial = std::chrono::seconds(10), .max = std::chrono::hours(1)};
};

struct Verdict {
  enum class State { kDelivered, kRetrying, kDead } state = State::kRetrying;
  milliseconds retry_in{0};  // kRetrying: next attempt after this
  std::string dead_reason;   // kDead
};

// After attempt `attempts` (counting from 1; retry_base = attempts before the last "retry now")
// of a message `age` old: delivered on success; dead when the sender says retrying cannot help,
// after max_attempts attempts since the last "retry now", or when older than max_age; retrying
// after a jittered exponential backoff otherwise (`unit_random` in [0, 1)).
Verdict judge_attempt(const notify::SendResult& result, int attempts, int retry_base,
                      milliseconds age, const RetryPolicy& policy, double unit_random);

}  // namespace fleet::notifier
