// The project's own JSON layout (docs/actions.md "fleetward driver").
#include <nlohmann/json.hpp>

#include "core/json_depth.h"
#include "json_checks.h"
#include "relay/codec.h"

namespace fleet::relay {
namespace {

using nlohmann::json;

std::string topic_of(std::string_view prefix, std::string_view topic) {
  std::string t(prefix);
  t += '/';
  t += topic;
  return t;
}

// A JSON object of at most kMaxStatePayloadBytes and depth 1, or an error saying why not.
Result<json> parse_flat_object(std::string_view payload, std::string_view what) {
  if (payload.size() > kMaxStatePayloadBytes) {
    return Error(ErrorKind::kDataLoss, std::string(what) + " is " + std::to_string(payload.size()) +
                                           " bytes (limit " +
                                           std::to_string(kMaxStatePayloadBytes) + ")");
  }
  if (json_nesting_depth(payload, 1) > 1) {
    return Error(ErrorKind::kDataLoss, std::string(what) + " nests objects or arrays");
  }
  json doc = json::parse(payload.begin(), payload.end(), nullptr, false);
  if (doc.is_discarded()) {
    return Error(ErrorKind::kDataLoss, std::string(what) + " is not valid JSON");
  }
  if (!doc.is_object()) {
    return Error(ErrorKind::kDataLoss, std::string(what) + " is not a JSON object");
  }
  return doc;
}

Error bad(std::string_view what, const std::string& detail) {
  return Error(ErrorKind::kDataLoss, std::string(what) + ": " + detail);
}

}  // namespace

namespace fleetward {

std::string command_topic(std::string_view prefix, std::string_view topic, int channel) {
  return topic_of(prefix, topic) + "/" + std::to_string(channel) + "/cmd";
}

std::string state_topic(std::string_view prefix, std::string_view topic, int channel) {
  return topic_of(prefix, topic) + "/" + std::to_string(channel) + "/state";
}

std::string status_topic(std::string_view prefix, std::string_view topic) {
  return topic_of(prefix, topic) + "/status";
}

std::string encode_command_payload(Op op, std::chrono::milliseconds duration,
                                   std::string_view request_id) {
  json j = json::object();
  j["action"] = std::string(to_string(op));
  if (has_duration(op)) j["ms"] = duration.count();
  j["req_id"] = std::string(request_id);
  return j.dump();
}

OutMessage encode_command(std::string_view prefix, const RelayRequest& r) {
  return {command_topic(prefix, r.controller.topic, r.channel),
          encode_command_payload(r.op, r.duration, r.request_id), false};
}

Result<Command> decode_command(std::string_view payload) {
  constexpr std::string_view what = "relay command";
  auto doc = parse_flat_object(payload, what);
  if (!doc.ok()) return doc.error();
  Command c;
  bool have_action = false;
  bool have_ms = false;
  for (const auto& [key, value] : doc->items()) {
    if (key == "action") {
      if (!value.is_string()) return bad(what, "field 'action' must be a string");
      auto op = op_from(value.get<std::string>());
      if (!op) return bad(what, "field 'action': '" + value.get<std::string>() + "' is not an op");
      c.op = *op;
      have_action = true;
    } else if (key == "ms") {
      if (!value.is_number_integer()) return bad(what, "field 'ms' must be an integer");
      const auto ms = value.get<std::int64_t>();
      if (ms < 1 || ms > kMaxDuration.count()) {
        return bad(what, "field 'ms' must be 1.." + std::to_string(kMaxDuration.count()));
      }
      c.duration = std::chrono::milliseconds(ms);
      have_ms = true;
    } else if (key == "req_id") {
      if (!value.is_string() || !detail::valid_request_id(value.get<std::string>())) {
        return bad(what, "field 'req_id' must be 1..128 of [A-Za-z0-9._:-]");
      }
      c.request_id = value.get<std::string>();
    } else {
      return bad(what, "unknown field '" + key + "'");
    }
  }
  if (!have_action) return bad(what, "field 'action' is required");
  if (c.request_id.empty()) return bad(what, "field 'req_id' is required");
  if (has_duration(c.op) && !have_ms) {
    return bad(what, "field 'ms' is required for " + std::string(to_string(c.op)));
  }
  if (!has_duration(c.op) && have_ms) {
    return bad(what, "field 'ms' is not allowed for " + std::string(to_string(c.op)));
  }
  return c;
}

std::string encode_state(const State& s) {
  json j = json::object();
  j["on"] = s.on;
  j["last_action"] = s.last_action;
  j["req_id"] = s.request_id;
  j["ts"] = s.ts_ms;
  j["result"] = s.refused ? "refused" : "ok";
  if (!s.reason.empty()) j["reason"] = s.reason;
  return j.dump();
}

Result<State> decode_state(std::string_view payload) {
  constexpr std::string_view what = "relay state";
  auto doc = parse_flat_object(payload, what);
  if (!doc.ok()) return doc.error();
  State s;
  bool have_on = false;
  bool have_action = false;
  bool have_ts = false;
  bool have_result = false;
  for (const auto& [key, value] : doc->items()) {
    if (key == "on") {
      if (!value.is_boolean()) return bad(what, "field 'on' must be true or false");
      s.on = value.get<bool>();
      have_on = true;
    } else if (key == "last_action") {
      if (!value.is_string()) return bad(what, "field 'last_action' must be a string");
      const auto a = value.get<std::string>();
      if (a != "boot" && !op_from(a)) {
        return bad(what, "field 'last_action': '" + a + "' is not an op or \"boot\"");
      }
      s.last_action = a;
      have_action = true;
    } else if (key == "req_id") {
      if (!value.is_string()) return bad(what, "field 'req_id' must be a string");
      const auto id = value.get<std::string>();
      if (!id.empty() && !detail::valid_request_id(id)) {
        return bad(what, "field 'req_id' must be \"\" or 1..128 of [A-Za-z0-9._:-]");
      }
      s.request_id = id;
    } else if (key == "ts") {
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
        return bad(what, "field 'ts' must be a non-negative integer (Unix ms)");
      }
      s.ts_ms = value.get<std::int64_t>();
      have_ts = true;
    } else if (key == "result") {
      if (!value.is_string()) return bad(what, "field 'result' must be a string");
      const auto r = value.get<std::string>();
      if (r != "ok" && r != "refused") return bad(what, "field 'result' must be ok or refused");
      s.refused = r == "refused";
      have_result = true;
    } else if (key == "reason") {
      if (!value.is_string() || value.get<std::string>().size() > 500) {
        return bad(what, "field 'reason' must be a string of at most 500 bytes");
      }
      s.reason = value.get<std::string>();
    } else {
      return bad(what, "unknown field '" + key + "'");
    }
  }
  if (!have_on) return bad(what, "field 'on' is required");
  if (!have_action) return bad(what, "field 'last_action' is required");
  if (!have_ts) return bad(what, "field 'ts' is required");
  if (!have_result) return bad(what, "field 'result' is required");
  return s;
}

}  // namespace fleetward
}  // namespace fleet::relay
