#include "control_api.h"

#include <nlohmann/json.hpp>

namespace fleet::relaysim {
namespace {

using nlohmann::json;

void reply(http::Response& out, int status, const json& body) {
  out.status = status;
  out.set_content(body.dump(), "application/json");
}

void error(http::Response& out, int status, const std::string& message) {
  reply(out, status, json{{"error", message}});
}

json to_json(const ControllerView& v) {
  json channels = json::array();
  for (const auto& c : v.channels) {
    channels.push_back({{"channel", c.channel},
                        {"on", c.on},
                        {"counts", c.counts},
                        {"last_pulse_ms", c.last_pulse_ms}});
  }
  return {{"name", v.spec.name},
          {"driver", std::string(relay::to_string(v.spec.driver))},
          {"topic", v.spec.topic},
          {"connected", v.connected},
          {"away", v.away},
          {"faults", {{"drop_acks", v.drop_acks}, {"ack_delay_ms", v.ack_delay_ms}}},
          {"bad_commands", v.bad_commands},
          {"duplicates", v.duplicates},
          {"dropped_acks", v.dropped_acks},
          {"request_ids", v.request_ids},
          {"channels", channels}};
}

}  // namespace

SimController* ControlApi::find(const std::string& name) {
  for (auto& c : controllers_) {
    if (c->spec().name == name) return c.get();
  }
  return nullptr;
}

void ControlApi::handle(const http::Request& req, http::Response& out) {
  const std::string& path = req.path;
  const bool get = req.method == "GET" || req.method == "HEAD";
  const bool post = req.method == "POST";
  if (path == "/health") {
    if (!get) return error(out, 405, "use GET");
    int connected = 0;
    for (auto& c : controllers_)
      connected += c->view().connected ? 1 : 0;
    return reply(
        out, 200,
        json{{"status", "ok"}, {"controllers", controllers_.size()}, {"connected", connected}});
  }
  if (path == "/controllers") {
    if (!get) return error(out, 405, "use GET");
    json all = json::array();
    for (auto& c : controllers_)
      all.push_back(to_json(c->view()));
    return reply(out, 200, all);
  }
  const std::string base = "/controllers/";
  if (path.rfind(base, 0) != 0) return error(out, 404, "no such route");
  const std::string rest = path.substr(base.size());
  const auto slash = rest.find('/');
  const std::string name = rest.substr(0, slash);
  const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
  SimController* c = find(name);
  if (c == nullptr) return error(out, 404, "no controller '" + name + "'");
  if (action.empty()) {
    if (!get) return error(out, 405, "use GET");
    return reply(out, 200, to_json(c->view()));
  }
  if (action == "faults") {
    if (req.method == "DELETE") {
      c->set_faults(false, std::chrono::milliseconds(0));
      return reply(out, 200, to_json(c->view()));
    }
    if (!post) return error(out, 405, "use POST or DELETE");
    json doc = json::parse(req.body.empty() ? std::string("{}") : req.body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return error(out, 400, "request body must be a JSON object");
    }
    const auto current = c->view();
    bool drop = current.drop_acks;
    std::int64_t delay = current.ack_delay_ms;
    for (const auto& [key, value] : doc.items()) {
      if (key == "drop_acks") {
        if (!value.is_boolean()) return error(out, 400, "field 'drop_acks' must be a boolean");
        drop = value.get<bool>();
      } else if (key == "ack_delay_ms") {
        if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
            value.get<std::int64_t>() > 600'000) {
          return error(out, 400, "field 'ack_delay_ms' must be an integer 0..600000");
        }
        delay = value.get<std::int64_t>();
      } else {
        return error(out, 400, "unknown field '" + key + "'");
      }
    }
    c->set_faults(drop, std::chrono::milliseconds(delay));
    return reply(out, 200, to_json(c->view()));
  }
  if (action == "away" || action == "back") {
    if (!post) return error(out, 405, "use POST");
    if (action == "away") {
      c->go_away();
    } else if (auto s = c->come_back(); !s.ok()) {
      return error(out, 503, s.error().message());
    }
    return reply(out, 200, to_json(c->view()));
  }
  return error(out, 404, "no such route");
}

}  // namespace fleet::relaysim
