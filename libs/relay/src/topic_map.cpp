#include <charconv>

#include <nlohmann/json.hpp>

#include "json_checks.h"
#include "relay/codec.h"

namespace fleet::relay {
namespace {

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

std::optional<int> parse_channel(std::string_view s) {
  int v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || s[0] == '0' || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

Error unknown(std::string_view topic, const std::string& why) {
  return Error::not_found("topic '" + std::string(topic) + "': " + why);
}

Error bad(std::string_view topic, const std::string& why) {
  return Error(ErrorKind::kDataLoss, "message on '" + std::string(topic) + "': " + why);
}

}  // namespace

bool valid_topic_level(std::string_view level) {
  if (level.empty() || level.size() > 200) return false;
  for (char c : level) {
    if (c == '/' || c == '+' || c == '#' || c == '\0') return false;
  }
  return true;
}

Status validate(const RelayRequest& r) {
  if (!valid_topic_level(r.controller.topic)) {
    return Error::invalid("controller topic '" + r.controller.topic +
                          "' must be one MQTT level without wildcards");
  }
  const int channels = std::min(r.controller.channels, kMaxChannel);
  if (r.channel < 1 || r.channel > channels) {
    return Error::invalid("channel " + std::to_string(r.channel) + " is not in 1.." +
                          std::to_string(channels));
  }
  if (has_duration(r.op)) {
    if (r.duration < std::chrono::milliseconds(1) || r.duration > kMaxDuration) {
      return Error::invalid("duration of " + std::string(to_string(r.op)) + " must be 1 ms..300 s");
    }
  } else if (r.duration.count() != 0) {
    return Error::invalid("duration must be 0 for " + std::string(to_string(r.op)));
  }
  if (!detail::valid_request_id(r.request_id)) {
    return Error::invalid("request id must be 1..128 of [A-Za-z0-9._:-]");
  }
  if (r.ack_timeout <= std::chrono::milliseconds(0)) {
    return Error::invalid("ack timeout must be positive");
  }
  return Status::success();
}

TopicMap::TopicMap(std::string prefix, std::vector<ControllerRef> controllers)
    : prefix_(std::move(prefix)), controllers_(std::move(controllers)) {
  for (std::size_t i = 0; i < controllers_.size(); ++i) {
    auto& index = controllers_[i].driver == Driver::kTasmota ? tasmota_ : fleetward_;
    index[controllers_[i].topic] = i;
  }
}

std::vector<std::string> TopicMap::subscriptions(const ControllerRef& c) const {
  if (c.driver == Driver::kTasmota) {
    return {"stat/" + c.topic + "/+", tasmota::lwt_topic(c.topic)};
  }
  return {fleetward::status_topic(prefix_, c.topic), prefix_ + "/" + c.topic + "/+/state"};
}

Result<Event> TopicMap::decode(std::string_view topic, std::string_view payload) const {
  if (payload.size() > kMaxStatePayloadBytes) {
    return bad(topic, std::to_string(payload.size()) + " bytes is over the limit of " +
                          std::to_string(kMaxStatePayloadBytes));
  }
  // Tasmota: stat/<t>/POWER<n>, stat/<t>/<anything else>, tele/<t>/LWT.
  if (starts_with(topic, "stat/") || starts_with(topic, "tele/")) {
    const auto rest = topic.substr(5);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return unknown(topic, "not a Tasmota topic");
    const auto it = tasmota_.find(rest.substr(0, slash));
    if (it == tasmota_.end()) return unknown(topic, "no known Tasmota controller");
    const ControllerRef& c = controllers_[it->second];
    const auto leaf = rest.substr(slash + 1);
    if (starts_with(topic, "tele/")) {
      if (leaf != "LWT") return Event{IgnoredEvent{}};
      if (payload == tasmota::kOnline) return Event{AvailabilityEvent{c.id, true}};
      if (payload == tasmota::kOffline) return Event{AvailabilityEvent{c.id, false}};
      return bad(topic, "LWT must be Online or Offline");
    }
    if (!starts_with(leaf, "POWER")) return Event{IgnoredEvent{}};  // RESULT, STATUS...
    // "POWER" alone is a one-relay device's channel 1.
    const auto number = leaf.substr(5);
    const auto channel = number.empty() ? std::optional<int>(1) : parse_channel(number);
    if (!channel || *channel < 1 || *channel > std::min(c.channels, kMaxChannel)) {
      return unknown(topic, "controller " + c.name + " has no such channel");
    }
    bool on = false;
    if (payload == "ON") {
      on = true;
    } else if (payload != "OFF") {
      return bad(topic, "POWER state must be ON or OFF");
    }
    StateEvent e;
    e.controller_id = c.id;
    e.channel = *channel;
    e.on = on;
    e.state_json = nlohmann::json{{"on", on}}.dump();
    return Event{std::move(e)};
  }
  // Fleetward: <prefix>/<t>/status, <prefix>/<t>/<n>/state.
  if (!starts_with(topic, prefix_) || topic.size() <= prefix_.size() ||
      topic[prefix_.size()] != '/') {
    return unknown(topic, "not a relay topic");
  }
  const auto rest = topic.substr(prefix_.size() + 1);
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) return unknown(topic, "not a relay topic");
  const auto it = fleetward_.find(rest.substr(0, slash));
  if (it == fleetward_.end()) return unknown(topic, "no known controller");
  const ControllerRef& c = controllers_[it->second];
  const auto leaf = rest.substr(slash + 1);
  if (leaf == "status") {
    if (payload == fleetward::kOnline) return Event{AvailabilityEvent{c.id, true}};
    if (payload == fleetward::kOffline) return Event{AvailabilityEvent{c.id, false}};
    return bad(topic, "status must be online or offline");
  }
  const auto slash2 = leaf.find('/');
  if (slash2 == std::string_view::npos || leaf.substr(slash2 + 1) != "state") {
    return unknown(topic, "not a state topic");
  }
  const auto channel = parse_channel(leaf.substr(0, slash2));
  if (!channel || *channel > std::min(c.channels, kMaxChannel)) {
    return unknown(topic, "controller " + c.name + " has no such channel");
  }
  auto state = fleetward::decode_state(payload);
  if (!state.ok()) return bad(topic, state.error().message());
  StateEvent e;
  e.controller_id = c.id;
  e.channel = *channel;
  e.on = state->on;
  e.request_id = state->request_id;
  e.refused = state->refused;
  e.reason = state->reason;
  e.state_json = fleetward::encode_state(*state);
  return Event{std::move(e)};
}

}  // namespace fleet::relay
