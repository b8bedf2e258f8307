#include "relay/request_tracker.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

namespace fleet::relay {
namespace {

using Kind = RelayResult::Kind;
constexpr std::chrono::milliseconds kOnRetryEvery{250};

RelayResult result(Kind kind, std::string reason, std::string state_json = "{}") {
  return RelayResult{kind, std::move(reason), std::move(state_json)};
}

}  // namespace

std::string seconds_text(std::chrono::milliseconds d) {
  const auto ms = d.count();
  std::string s = std::to_string(ms / 1000);
  if (const auto frac = ms % 1000; frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, 3 - f.size(), '0');
    while (!f.empty() && f.back() == '0')
      f.pop_back();
    s += "." + f;
  }
  return s + " s";
}

RequestTracker::RequestTracker(std::string topic_prefix, Transport& transport)
    : prefix_(std::move(topic_prefix)), transport_(transport), map_(prefix_, {}) {}

void RequestTracker::rebuild_map() {
  map_ = TopicMap(prefix_, controllers_);
}

void RequestTracker::subscribe_controller(const ControllerRef& c) {
  for (const auto& f : map_.subscriptions(c))
    transport_.subscribe(f);
}

void RequestTracker::unsubscribe_controller(const ControllerRef& c) {
  for (const auto& f : map_.subscriptions(c))
    transport_.unsubscribe(f);
}

void RequestTracker::set_controllers(std::vector<ControllerRef> controllers) {
  std::set<std::int64_t> busy;
  for (const auto& [key, p] : pending_)
    busy.insert(key.first);
  auto same = [](const ControllerRef& a, const ControllerRef& b) {
    return a.id == b.id && a.driver == b.driver && a.topic == b.topic;
  };
  std::vector<ControllerRef> next;
  for (auto& c : controllers) {
    if (!valid_topic_level(c.topic)) {
      spdlog::warn("relay: controller {} has an unusable topic '{}'; ignored", c.name, c.topic);
      continue;
    }
    next.push_back(std::move(c));
  }
  // Keep controllers with requests in flight that the new set drops or changes.
  for (const auto& old : controllers_) {
    const bool kept =
        std::any_of(next.begin(), next.end(), [&](const ControllerRef& n) { return same(n, old); });
    if (!kept && busy.count(old.id) != 0 &&
        std::none_of(next.begin(), next.end(),
                     [&](const ControllerRef& n) { return n.id == old.id; })) {
      next.push_back(old);
    }
  }
  for (const auto& old : controllers_) {
    if (std::none_of(next.begin(), next.end(),
                     [&](const ControllerRef& n) { return same(n, old); })) {
      unsubscribe_controller(old);
      online_.erase(old.id);
    }
  }
  std::vector<ControllerRef> added;
  for (const auto& n : next) {
    if (std::none_of(controllers_.begin(), controllers_.end(),
                     [&](const ControllerRef& o) { return same(n, o); })) {
      added.push_back(n);
    }
  }
  controllers_ = std::move(next);
  rebuild_map();
  for (const auto& c : added)
    subscribe_controller(c);
}

std::string RequestTracker::where(const RelayRequest& r) const {
  return "controller " + r.controller.name + " channel " + std::to_string(r.channel);
}

RequestTracker::Completion RequestTracker::finish(Key key, Kind kind, std::string reason,
                                                  std::string state_json) {
  auto it = pending_.find(key);
  Completion c{std::move(it->second.done), result(kind, std::move(reason), std::move(state_json))};
  pending_.erase(it);
  switch (kind) {
    case Kind::kAcknowledged:
      ++stats_.acknowledged;
      break;
    case Kind::kNoAck:
      ++stats_.no_ack;
      break;
    case Kind::kRefused:
      ++stats_.refused;
      break;
    default:
      break;
  }
  return c;
}

std::vector<RequestTracker::Completion> RequestTracker::submit(RelayRequest request, Done done,
                                                               Time now) {
  std::vector<Completion> out;
  auto now_result = [&](Kind kind, std::string reason) {
    if (kind == Kind::kNotSent) ++stats_.not_sent;
    if (kind == Kind::kRefused) ++stats_.refused;
    if (kind == Kind::kControllerOffline) ++stats_.offline_fast;
    out.push_back({std::move(done), result(kind, std::move(reason))});
    return out;
  };
  if (auto s = validate(request); !s.ok()) {
    // Retrying the same request cannot help: refused before anything was sent.
    return now_result(Kind::kRefused, "request " + request.request_id + " for " + where(request) +
                                          " refused before sending: " + s.error().message());
  }
  const ControllerRef& ref = request.controller;
  auto known = std::find_if(controllers_.begin(), controllers_.end(),
                            [&](const ControllerRef& c) { return c.id == ref.id; });
  if (known == controllers_.end() || known->topic != ref.topic || known->driver != ref.driver) {
    // Not in the configured set (or changed): listen to it before the command goes out. The
    // broker handles our SUBSCRIBE before the PUBLISH that follows on the same connection.
    if (known != controllers_.end()) {
      unsubscribe_controller(*known);
      *known = ref;
    } else {
      controllers_.push_back(ref);
    }
    rebuild_map();
    subscribe_controller(ref);
  }
  if (auto on = online(ref.id); on && !*on) {
    return now_result(Kind::kControllerOffline,
                      "controller " + ref.name + " is offline (its last will or status says so); " +
                          std::string(to_string(request.op)) + " on channel " +
                          std::to_string(request.channel) + " not sent");
  }
  const Key key{ref.id, request.channel};
  if (auto busy = pending_.find(key); busy != pending_.end()) {
    return now_result(Kind::kNotSent, where(request) + " is busy with request " +
                                          busy->second.request.request_id + "; not sent");
  }
  std::vector<OutMessage> messages;
  if (ref.driver == Driver::kFleetward) {
    messages.push_back(fleetward::encode_command(prefix_, request));
  } else {
    auto m = tasmota::encode_start(request);
    if (!m.ok()) {
      return now_result(Kind::kRefused, "request " + request.request_id + " for " + where(request) +
                                            " refused before sending: " + m.error().message());
    }
    messages = std::move(*m);
  }
  for (const auto& m : messages) {
    if (auto s = transport_.publish(m); !s.ok()) {
      // A Tasmota PulseTime alone switches nothing: still nothing happened at the controller.
      return now_result(Kind::kNotSent, std::string(to_string(request.op)) + " for " +
                                            where(request) + " not sent: " + s.error().message());
    }
  }
  ++stats_.published;
  Pending p;
  p.request = std::move(request);
  p.done = std::move(done);
  const auto& r = p.request;
  if (r.controller.driver == Driver::kTasmota && r.op == Op::kCycle) {
    p.phase = Phase::kOffWait;
    p.deadline = now + r.duration;
  } else if (r.controller.driver == Driver::kTasmota) {
    p.deadline = now + r.ack_timeout;  // Tasmota answers as the relay switches
  } else {
    p.deadline = now + r.duration + r.ack_timeout;  // our controllers answer when done
  }
  pending_.emplace(key, std::move(p));
  return out;
}

void RequestTracker::log_bad(std::string_view what) {
  // Rate-limited: one line per 10 s, with the number suppressed since.
  const auto now = std::chrono::steady_clock::now();
  if (bad_logged_ && now - last_bad_log_ < std::chrono::seconds(10)) {
    ++bad_unlogged_;
    return;
  }
  spdlog::warn("relay: ignored a bad MQTT message: {} ({} more since the last warning)", what,
               bad_unlogged_);
  bad_logged_ = true;
  last_bad_log_ = now;
  bad_unlogged_ = 0;
}

std::vector<RequestTracker::Completion> RequestTracker::on_message(std::string_view topic,
                                                                   std::string_view payload,
                                                                   bool retained, Time /*now*/) {
  std::vector<Completion> out;
  auto event = map_.decode(topic, payload);
  if (!event.ok()) {
    ++stats_.bad_messages;
    log_bad(event.error().message());
    return out;
  }
  if (std::holds_alternative<IgnoredEvent>(*event)) {
    ++stats_.ignored_messages;
    return out;
  }
  if (const auto* a = std::get_if<AvailabilityEvent>(&*event)) {
    auto it = online_.find(a->controller_id);
    if (it == online_.end() || it->second != a->online) {
      online_[a->controller_id] = a->online;
      availability_changes_.emplace_back(a->controller_id, a->online);
    }
    if (!a->online) {
      std::vector<Key> gone;
      for (const auto& [key, p] : pending_) {
        if (key.first == a->controller_id) gone.push_back(key);
      }
      for (const auto& key : gone) {
        const auto& r = pending_.at(key).request;
        std::string reason = where(r) + " went offline (last will) before acknowledging " +
                             std::string(to_string(r.op)) + " " + r.request_id;
        out.push_back(finish(key, Kind::kNoAck, std::move(reason), "{}"));
      }
    }
    return out;
  }
  const auto& s = std::get<StateEvent>(*event);
  const Key key{s.controller_id, s.channel};
  auto it = pending_.find(key);
  if (it == pending_.end()) return out;  // a state nobody waits for (boot, retained, others)
  Pending& p = it->second;
  const auto& r = p.request;
  if (r.controller.driver == Driver::kFleetward) {
    if (s.request_id != r.request_id) {
      ++stats_.stale_states;
      spdlog::debug("relay: {} state for request '{}' while waiting for {}; ignored", where(r),
                    s.request_id, r.request_id);
      return out;
    }
    if (s.refused) {
      out.push_back(finish(key, Kind::kRefused,
                           where(r) + " refused " + std::string(to_string(r.op)) + ": " +
                               (s.reason.empty() ? "no reason given" : s.reason),
                           s.state_json));
    } else {
      out.push_back(finish(key, Kind::kAcknowledged, "", s.state_json));
    }
    return out;
  }
  // Tasmota: no request id; the first non-retained POWER state we expect after our send.
  if (retained) {
    ++stats_.ignored_messages;
    return out;
  }
  if (p.phase == Phase::kOffWait || p.phase == Phase::kOnRetry) {
    if (!s.on) p.off_confirmed = true;
    return out;
  }
  const bool expected = r.op == Op::kCycle ? true : tasmota::acknowledging_state(r.op);
  if (s.on != expected) {
    ++stats_.stale_states;
    return out;
  }
  if (r.op == Op::kCycle && !p.off_confirmed) {
    out.push_back(finish(key, Kind::kNoAck,
                         where(r) + " confirmed power-on but never the power-off of cycle " +
                             r.request_id + "; the off time may not have happened",
                         s.state_json));
    return out;
  }
  out.push_back(finish(key, Kind::kAcknowledged, "", s.state_json));
  return out;
}

std::vector<RequestTracker::Completion> RequestTracker::on_tick(Time now) {
  std::vector<Completion> out;
  std::vector<Key> due;
  for (const auto& [key, p] : pending_) {
    if (p.deadline <= now) due.push_back(key);
  }
  for (const auto& key : due) {
    Pending& p = pending_.at(key);
    const auto& r = p.request;
    if (p.phase == Phase::kAwaitAck) {
      out.push_back(finish(key, Kind::kNoAck,
                           "no acknowledgement from controller " + r.controller.name +
                               " (channel " + std::to_string(r.channel) + ", " +
                               std::string(to_string(r.op)) + " " + r.request_id + ") within " +
                               seconds_text(r.ack_timeout),
                           "{}"));
      continue;
    }
    if (p.phase == Phase::kOffWait) p.give_up = now + r.ack_timeout;
    auto sent = transport_.publish(tasmota::cycle_on_message(r));
    if (sent.ok()) {
      p.phase = Phase::kAwaitAck;
      p.deadline = now + r.ack_timeout;
    } else if (now + kOnRetryEvery < p.give_up) {
      p.phase = Phase::kOnRetry;
      p.deadline = now + kOnRetryEvery;
    } else {
      out.push_back(finish(key, Kind::kNoAck,
                           "could not send the power-on of cycle " + r.request_id + " to " +
                               where(r) + " after the off time (" + sent.error().message() +
                               "); the channel may be left off",
                           "{}"));
    }
  }
  return out;
}

std::vector<RequestTracker::Completion> RequestTracker::abandon_all(const std::string& why) {
  std::vector<Completion> out;
  while (!pending_.empty()) {
    const Key key = pending_.begin()->first;
    const auto& r = pending_.begin()->second.request;
    out.push_back(finish(key, Kind::kNoAck,
                         std::string(to_string(r.op)) + " " + r.request_id + " for " + where(r) +
                             " was sent but " + why + " before an acknowledgement",
                         "{}"));
  }
  return out;
}

std::optional<RequestTracker::Time> RequestTracker::next_deadline() const {
  std::optional<Time> next;
  for (const auto& [key, p] : pending_) {
    if (!next || p.deadline < *next) next = p.deadline;
  }
  return next;
}

std::optional<bool> RequestTracker::online(std::int64_t controller_id) const {
  auto it = online_.find(controller_id);
  if (it == online_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::int64_t, bool>> RequestTracker::take_availability_changes() {
  return std::exchange(availability_changes_, {});
}

}  // namespace fleet::relay
