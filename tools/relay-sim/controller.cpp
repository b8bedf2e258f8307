#include "controller.h"

#include <charconv>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace fleet::relaysim {
namespace {

using relay::Driver;
using relay::Op;

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<ControllerSpec> parse_controller_spec(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const auto colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  const std::string quoted = "controller '" + std::string(text) + "'";
  if (parts.size() != 4) return Error::invalid(quoted + ": want NAME:DRIVER:TOPIC:CHANNELS");
  ControllerSpec s;
  s.name = std::string(parts[0]);
  if (!relay::valid_topic_level(s.name)) return Error::invalid(quoted + ": bad NAME");
  auto driver = relay::driver_from(parts[1]);
  if (!driver) return Error::invalid(quoted + ": DRIVER must be fleetward or tasmota");
  s.driver = *driver;
  s.topic = std::string(parts[2]);
  if (!relay::valid_topic_level(s.topic)) {
    return Error::invalid(quoted + ": TOPIC must be one MQTT level without wildcards");
  }
  auto channels = parse_int(parts[3]);
  if (!channels || *channels < 1 || *channels > relay::kMaxChannel) {
    return Error::invalid(quoted + ": CHANNELS must be 1..64");
  }
  s.channels = *channels;
  return s;
}

SimController::SimController(ControllerSpec spec, SimSettings settings)
    : spec_(std::move(spec)), settings_(std::move(settings)) {
  for (int c = 1; c <= spec_.channels; ++c)
    channels_[c].on = settings_.boot_on;
}

SimController::~SimController() {
  std::unique_ptr<mqtt::Client> client;
  {
    std::lock_guard lock(mu_);
    // A graceful shutdown says so itself (the will is only for crashes); written before the
    // DISCONNECT that the client's destructor sends.
    if (spec_.driver == Driver::kTasmota) {
      publish_locked(relay::tasmota::lwt_topic(spec_.topic), std::string(relay::tasmota::kOffline),
                     true);
    } else {
      publish_locked(relay::fleetward::status_topic(settings_.topic_prefix, spec_.topic),
                     std::string(relay::fleetward::kOffline), true);
    }
    client = std::move(client_);
  }
  client.reset();  // outside mu_: its network thread may be waiting for mu_
}

mqtt::BrokerOptions SimController::broker_options() const {
  mqtt::BrokerOptions o = settings_.broker;
  o.client_id = "relay-sim-" + spec_.name;
  o.session = mqtt::Session::kClean;
  o.keepalive = std::chrono::seconds(10);
  if (spec_.driver == Driver::kTasmota) {
    o.will = mqtt::Will{relay::tasmota::lwt_topic(spec_.topic),
                        std::string(relay::tasmota::kOffline), true};
  } else {
    o.will = mqtt::Will{relay::fleetward::status_topic(settings_.topic_prefix, spec_.topic),
                        std::string(relay::fleetward::kOffline), true};
  }
  return o;
}

Status SimController::connect() {
  // Held while the client starts, so its first on_connection() finds client_ set.
  std::lock_guard lock(mu_);
  mqtt::Client::Handlers h;
  h.on_message = [this](const mqtt::Message& m) { on_message(m); };
  h.on_connection = [this](bool up) { on_connection(up); };
  auto client = mqtt::Client::start(broker_options(), std::move(h));
  if (!client.ok()) return client.error();
  const std::string filter = spec_.driver == Driver::kTasmota
                                 ? "cmnd/" + spec_.topic + "/+"
                                 : settings_.topic_prefix + "/" + spec_.topic + "/+/cmd";
  client_ = std::move(*client);
  away_ = false;
  return client_->subscribe(filter);
}

void SimController::go_away() {
  std::lock_guard lock(mu_);
  if (away_ || !client_) return;
  away_ = true;
  client_->abort_connection();
  spdlog::info("relay-sim {}: gone away (connection dropped without DISCONNECT)", spec_.name);
}

Status SimController::come_back() {
  std::unique_ptr<mqtt::Client> old;
  {
    std::lock_guard lock(mu_);
    if (!away_) return Status::success();
    old = std::move(client_);
  }
  old.reset();
  return connect();
}

void SimController::set_faults(bool drop_acks, std::chrono::milliseconds ack_delay) {
  std::lock_guard lock(mu_);
  drop_acks_ = drop_acks;
  ack_delay_ = ack_delay;
}

void SimController::publish_locked(const std::string& topic, const std::string& payload,
                                   bool retain) {
  if (!client_ || away_) return;
  if (auto s = client_->publish(topic, payload, retain ? mqtt::Retain::kYes : mqtt::Retain::kNo);
      !s.ok()) {
    spdlog::warn("relay-sim {}: cannot publish {}: {}", spec_.name, topic, s.error().message());
  }
}

void SimController::on_connection(bool connected) {
  if (!connected) return;
  std::lock_guard lock(mu_);
  // Every connection (the broker may have restarted without its retained store): availability
  // first, then each channel's last published state.
  if (spec_.driver == Driver::kTasmota) {
    publish_locked(relay::tasmota::lwt_topic(spec_.topic), std::string(relay::tasmota::kOnline),
                   true);
    return;
  }
  publish_locked(relay::fleetward::status_topic(settings_.topic_prefix, spec_.topic),
                 std::string(relay::fleetward::kOnline), true);
  for (auto& [n, ch] : channels_) {
    if (!ch.published_state) ch.published_state = fleetward_state(n, "boot", "", false, "");
    publish_locked(relay::fleetward::state_topic(settings_.topic_prefix, spec_.topic, n),
                   *ch.published_state, true);
  }
}

std::string SimController::fleetward_state(int channel, const std::string& action,
                                           const std::string& request_id, bool refused,
                                           const std::string& reason) const {
  relay::fleetward::State s;
  s.on = channels_.at(channel).on;
  s.last_action = action;
  s.request_id = request_id;
  s.ts_ms = unix_ms();
  s.refused = refused;
  s.reason = reason;
  return relay::fleetward::encode_state(s);
}

void SimController::answer(const std::string& topic, const std::string& payload, bool retain) {
  if (drop_acks_) {
    ++dropped_acks_;
    spdlog::info("relay-sim {}: dropped the acknowledgement on {}", spec_.name, topic);
    return;
  }
  if (ack_delay_.count() > 0) {
    timers_.after(ack_delay_, [this, topic, payload, retain] {
      std::lock_guard lock(mu_);
      publish_locked(topic, payload, retain);
    });
    return;
  }
  publish_locked(topic, payload, retain);
}

void SimController::on_message(const mqtt::Message& m) {
  if (m.retained) return;  // commands are never retained; a stale one must not act
  std::lock_guard lock(mu_);
  if (away_) return;
  // Topic: <prefix>/<topic>/<n>/cmd or cmnd/<topic>/<leaf>.
  const auto last = m.topic.rfind('/');
  if (spec_.driver == Driver::kTasmota) {
    on_tasmota_command(m.topic.substr(last + 1), m.payload);
    return;
  }
  const auto before = m.topic.rfind('/', last - 1);
  const auto channel = parse_int(std::string_view(m.topic).substr(before + 1, last - before - 1));
  if (!channel || channels_.count(*channel) == 0) {
    ++bad_commands_;
    spdlog::warn("relay-sim {}: command for unknown channel on {}", spec_.name, m.topic);
    return;
  }
  on_fleetward_command(*channel, m.payload);
}

void SimController::on_fleetward_command(int channel, const std::string& payload) {
  auto cmd = relay::fleetward::decode_command(payload);
  if (!cmd.ok()) {
    ++bad_commands_;
    spdlog::warn("relay-sim {}: bad command on channel {}: {}", spec_.name, channel,
                 cmd.error().message());
    return;
  }
  const std::string state_topic =
      relay::fleetward::state_topic(settings_.topic_prefix, spec_.topic, channel);
  if (!seen_ids_.insert(cmd->request_id).second) {
    // A redelivery (QoS 1 is at-least-once) or a repeat: never act twice. Answer again if done.
    ++duplicates_;
    if (auto it = answers_.find(cmd->request_id); it != answers_.end()) {
      answer(relay::fleetward::state_topic(settings_.topic_prefix, spec_.topic, it->second.first),
             it->second.second, true);
    }
    return;
  }
  if (request_ids_.size() < 1000) request_ids_.push_back(cmd->request_id);
  Channel& ch = channels_.at(channel);
  const std::string action(relay::to_string(cmd->op));
  const auto now = std::chrono::steady_clock::now();
  if (relay::has_duration(cmd->op)) {
    std::string why;
    if (ch.busy) {
      why = "channel " + std::to_string(channel) + " is busy with another power action";
    } else if (ch.last_power_action && now - *ch.last_power_action < settings_.min_cycle_interval) {
      const auto ago =
          std::chrono::duration_cast<std::chrono::milliseconds>(now - *ch.last_power_action);
      why = "minimum interval of " + std::to_string(settings_.min_cycle_interval.count()) +
            " ms between power actions on channel " + std::to_string(channel) +
            "; the last one was " + std::to_string(ago.count()) + " ms ago";
    }
    if (!why.empty()) {
      ++ch.counts["refused"];
      const auto state = fleetward_state(channel, action, cmd->request_id, true, why);
      answers_[cmd->request_id] = {channel, state};
      ch.published_state = state;
      answer(state_topic, state, true);
      return;
    }
    ch.last_power_action = now;
  }
  ++ch.counts[action];
  const Op op = cmd->op;
  const std::string id = cmd->request_id;
  switch (op) {
    case Op::kPulse:
    case Op::kHold:
      ch.on = true;  // the contact closes for the press...
      break;
    case Op::kCycle:
      ch.on = false;  // ...or the mains goes off for the off time
      break;
    case Op::kOn:
    case Op::kOff:
      ch.on = op == Op::kOn;
      finish_fleetward(channel, op, id);
      return;
  }
  ch.busy = true;
  timers_.after(cmd->duration, [this, channel, op, id] {
    std::lock_guard lock(mu_);
    Channel& c = channels_.at(channel);
    c.on = op == Op::kCycle;  // press released / mains back on
    c.busy = false;
    finish_fleetward(channel, op, id);
  });
}

void SimController::finish_fleetward(int channel, Op op, const std::string& request_id) {
  const auto state =
      fleetward_state(channel, std::string(relay::to_string(op)), request_id, false, "");
  answers_[request_id] = {channel, state};
  if (!drop_acks_) channels_.at(channel).published_state = state;
  answer(relay::fleetward::state_topic(settings_.topic_prefix, spec_.topic, channel), state, true);
}

void SimController::tasmota_power(int channel, bool on) {
  Channel& ch = channels_.at(channel);
  ch.on = on;
  const std::string word = on ? "ON" : "OFF";
  answer(relay::tasmota::power_state_topic(spec_.topic, channel), word, false);
  answer("stat/" + spec_.topic + "/RESULT",
         nlohmann::json{{"POWER" + std::to_string(channel), word}}.dump(), false);
}

void SimController::on_tasmota_command(const std::string& leaf, const std::string& payload) {
  const std::string key = upper(leaf);
  const bool power = key.rfind("POWER", 0) == 0;
  const bool pulse = key.rfind("PULSETIME", 0) == 0;
  const auto number = power   ? std::string_view(key).substr(5)
                      : pulse ? std::string_view(key).substr(9)
                              : std::string_view();
  const auto channel = number.empty() ? std::optional<int>(1) : parse_int(number);
  if ((!power && !pulse) || !channel || channels_.count(*channel) == 0) {
    ++bad_commands_;
    spdlog::warn("relay-sim {}: unsupported Tasmota command '{}'", spec_.name, leaf);
    return;
  }
  Channel& ch = channels_.at(*channel);
  if (pulse) {
    auto units = parse_int(payload);
    if (!units || *units < 0 || *units > 64'900) {
      ++bad_commands_;
      spdlog::warn("relay-sim {}: bad PulseTime '{}'", spec_.name, payload);
      return;
    }
    ch.pulse_time_units = *units;
    publish_locked("stat/" + spec_.topic + "/RESULT",
                   nlohmann::json{{"PulseTime" + std::to_string(*channel),
                                   {{"Set", *units}, {"Remaining", 0}}}}
                       .dump(),
                   false);
    return;
  }
  const std::string word = upper(payload);
  bool on = false;
  if (word == "ON" || word == "1") {
    on = true;
  } else if (word == "TOGGLE" || word == "2") {
    on = !ch.on;
  } else if (word != "OFF" && word != "0") {
    ++bad_commands_;
    spdlog::warn("relay-sim {}: bad POWER payload '{}'", spec_.name, payload);
    return;
  }
  if (on && ch.pulse_time_units > 0) {
    const auto length = relay::tasmota::pulse_time_duration(ch.pulse_time_units);
    ++ch.counts["pulse"];
    ch.last_pulse_ms = length.count();
    tasmota_power(*channel, true);
    const int n = *channel;
    timers_.after(length, [this, n] {
      std::lock_guard lock(mu_);
      tasmota_power(n, false);
    });
    return;
  }
  ++ch.counts[on ? "on" : "off"];
  tasmota_power(*channel, on);
}

ControllerView SimController::view() const {
  std::lock_guard lock(mu_);
  ControllerView v;
  v.spec = spec_;
  v.connected = client_ && client_->connected();
  v.away = away_;
  v.drop_acks = drop_acks_;
  v.ack_delay_ms = ack_delay_.count();
  v.bad_commands = bad_commands_;
  v.duplicates = duplicates_;
  v.dropped_acks = dropped_acks_;
  v.request_ids = request_ids_;
  for (const auto& [n, ch] : channels_) {
    ChannelView c;
    c.channel = n;
    c.on = ch.on;
    c.counts = ch.counts;
    for (const char* k : {"pulse", "hold", "cycle", "on", "off", "refused"})
      c.counts[k] += 0;
    c.last_pulse_ms = ch.last_pulse_ms;
    v.channels.push_back(std::move(c));
  }
  return v;
}

}  // namespace fleet::relaysim
