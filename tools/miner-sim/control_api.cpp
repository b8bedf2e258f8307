#include "control_api.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "address.h"
#include "core/strings.h"

namespace fleet::minersim {
namespace {

using nlohmann::json;

json to_json(const MinerView& v, bool detail) {
  json j = {
      {"index", v.index},           {"ip", v.ip},         {"mac", v.mac},      {"model", v.model},
      {"fw_version", v.fw_version}, {"online", v.online}, {"faults", v.faults}};
  if (detail) {
    j["hostname"] = v.hostname;
    j["serial"] = v.serial;
    j["firmware"] = v.firmware_style;
    j["presets_shape"] = v.presets_shape;
    j["miner_state"] = v.miner_state;
    j["preset"] = v.preset;
    j["current_preset"] = v.preset;
    j["api_keys"] = v.api_keys;
    j["api_keys_count"] = v.api_keys;
    j["api_key_descriptions"] = v.api_key_descriptions;
    j["tokens"] = v.tokens;
    j["uptime_s"] = v.uptime_s;
    j["find_miner"] = v.find_miner;
    j["rebooting"] = v.rebooting;
  }
  return j;
}

void reply_json(http::Response& out, int status, const json& body) {
  out.status = status;
  out.content_type = "application/json";
  out.set_body(body.dump(-1, ' ', false, json::error_handler_t::replace));
}

void reply_error(http::Response& out, int status, const std::string& message) {
  reply_json(out, status, json{{"error", message}});
}

void reply_status(http::Response& out, const Status& s) {
  if (s.ok()) {
    out.status = 204;
    out.body.clear();
    return;
  }
  int code = 500;
  switch (s.error().kind()) {
    case ErrorKind::kInvalidArgument:
      code = 400;
      break;
    case ErrorKind::kNotFound:
      code = 404;
      break;
    case ErrorKind::kAlreadyExists:
      code = 409;
      break;
    case ErrorKind::kUnavailable:
      code = 503;
      break;
    default:
      break;
  }
  reply_error(out, code, s.error().message());
}

std::optional<int> parse_index(std::string_view s) {
  int v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || v < 0) {
    return std::nullopt;
  }
  return v;
}

// A JSON object body; "" is an empty object. Error text names the problem.
Result<json> body_object(const http::Request& req) {
  if (trim(req.body).empty()) return json::object();
  json doc = json::parse(req.body, nullptr, false);
  if (doc.is_discarded()) return Error::invalid("request body is not valid JSON");
  if (!doc.is_object()) return Error::invalid("request body must be a JSON object");
  return doc;
}

// {"kind": "...", "arg": n|"n", "path": "..."} -> Fault.
Result<Fault> fault_from(const json& doc, int64_t reboot_seconds) {
  auto kind_it = doc.find("kind");
  if (kind_it == doc.end() || !kind_it->is_string()) {
    return Error::invalid("field 'kind' is required (a string, e.g. \"timeout\")");
  }
  auto kind = parse_fault_kind(kind_it->get<std::string>());
  if (!kind.ok()) return Error::invalid("field 'kind': " + kind.error().message());
  std::optional<int64_t> arg;
  if (auto a = doc.find("arg"); a != doc.end() && !a->is_null()) {
    if (a->is_number_integer()) {
      arg = a->get<int64_t>();
    } else if (a->is_string()) {
      // "64MiB", "2000": reuse the command-line syntax.
      auto parsed =
          parse_fault(kind_it->get<std::string>() + "=" + a->get<std::string>(), reboot_seconds);
      if (!parsed.ok()) return Error::invalid("field 'arg': " + parsed.error().message());
      arg = parsed->arg;
    } else {
      return Error::invalid("field 'arg' must be an integer or a string");
    }
  }
  std::string path;
  if (auto p = doc.find("path"); p != doc.end() && !p->is_null()) {
    if (!p->is_string()) return Error::invalid("field 'path' must be a string");
    path = p->get<std::string>();
  }
  auto fault = make_fault(*kind, arg, path, reboot_seconds);
  if (!fault.ok()) return Error::invalid(fault.error().message());
  return fault;
}

std::optional<FaultKind> kind_from_query(std::string_view query, Status& status) {
  for (const auto& part : split(query, '&')) {
    if (starts_with(part, "kind=")) {
      auto k = parse_fault_kind(part.substr(5));
      if (!k.ok()) {
        status = Error::invalid("query 'kind': " + k.error().message());
        return std::nullopt;
      }
      return *k;
    }
  }
  return std::nullopt;
}

}  // namespace

void ControlApi::handle(const http::Request& req, http::Response& out) {
  out = http::Response{};
  const std::string_view path = req.path;
  const std::string_view method = req.method;
  const auto parts = split(path.substr(path.empty() ? 0 : 1), '/');
  const bool get = method == "GET";
  const bool post = method == "POST";
  const bool del = method == "DELETE";

  if (path == "/health") {
    if (!get) return reply_error(out, 405, "use GET");
    return reply_json(out, 200, json{{"status", "ok"}, {"miners", fleet_.count()}});
  }
  if (path == "/miners") {
    if (!get) return reply_error(out, 405, "use GET");
    json arr = json::array();
    for (const auto& v : fleet_.list())
      arr.push_back(to_json(v, false));
    return reply_json(out, 200, arr);
  }
  if (path == "/faults") {
    if (del) {
      fleet_.clear_all_faults();
      return reply_status(out, Status{});
    }
    if (!post) return reply_error(out, 405, "use POST or DELETE");
    auto doc = body_object(req);
    if (!doc.ok()) return reply_error(out, 400, doc.error().message());
    auto sel_it = doc->find("selector");
    if (sel_it == doc->end() || !sel_it->is_string()) {
      return reply_error(out, 400, "field 'selector' is required (e.g. \"10%\", \"5\", \"10-19\")");
    }
    auto sel = parse_selector(sel_it->get<std::string>());
    if (!sel.ok()) return reply_error(out, 400, "field 'selector': " + sel.error().message());
    auto fault = fault_from(*doc, reboot_seconds_);
    if (!fault.ok()) return reply_error(out, 400, fault.error().message());
    auto applied = fleet_.add_fault_bulk(*sel, *fault);
    if (!applied.ok()) return reply_status(out, Status(applied.error()));
    return reply_status(out, Status{});
  }
  if (path == "/stats") {
    if (!get) return reply_error(out, 405, "use GET");
    const StatsView s = fleet_.stats();
    json per = json::object();
    for (const auto& [i, m] : s.per_miner)
      per[std::to_string(i)] = m;
    return reply_json(out, 200, json{{"requests", s.requests}, {"per_miner", per}});
  }
  if (path == "/stats/reset") {
    if (!post) return reply_error(out, 405, "use POST");
    fleet_.reset_stats();
    return reply_status(out, Status{});
  }
  if (parts.size() >= 2 && parts[0] == "miners") {
    const auto index = parse_index(parts[1]);
    if (!index) return reply_error(out, 404, "'" + parts[1] + "' is not a miner index");
    if (*index >= fleet_.count()) {
      return reply_error(
          out, 404, "no miner " + parts[1] + " (there are " + std::to_string(fleet_.count()) + ")");
    }
    const int i = *index;
    if (parts.size() == 2) {
      if (!get) return reply_error(out, 405, "use GET");
      auto v = fleet_.get(i);
      if (!v.ok()) return reply_status(out, Status(v.error()));
      return reply_json(out, 200, to_json(*v, true));
    }
    const std::string& action = parts[2];
    if (parts.size() == 3 && action == "faults") {
      if (del) {
        Status st;
        auto kind = kind_from_query(req.query, st);
        if (!st.ok()) return reply_status(out, st);
        return reply_status(out, fleet_.clear_faults(i, kind));
      }
      if (!post) return reply_error(out, 405, "use POST or DELETE");
      auto doc = body_object(req);
      if (!doc.ok()) return reply_error(out, 400, doc.error().message());
      auto fault = fault_from(*doc, reboot_seconds_);
      if (!fault.ok()) return reply_error(out, 400, fault.error().message());
      return reply_status(out, fleet_.add_fault(i, *fault));
    }
    if (parts.size() == 3 && !post) return reply_error(out, 405, "use POST");
    if (parts.size() == 3 && action == "offline")
      return reply_status(out, fleet_.set_online(i, false));
    if (parts.size() == 3 && action == "online")
      return reply_status(out, fleet_.set_online(i, true));
    if (parts.size() == 3 && action == "reboot") {
      auto doc = body_object(req);
      if (!doc.ok()) return reply_error(out, 400, doc.error().message());
      std::optional<std::chrono::seconds> down;
      if (auto s = doc->find("seconds"); s != doc->end()) {
        if (!s->is_number_integer() || s->get<int64_t>() < 0 || s->get<int64_t>() > 86400) {
          return reply_error(out, 400, "field 'seconds' must be an integer in [0, 86400]");
        }
        down = std::chrono::seconds(s->get<int64_t>());
      }
      return reply_status(out, fleet_.reboot(i, down));
    }
    if (parts.size() == 3 && action == "move") {
      auto doc = body_object(req);
      if (!doc.ok()) return reply_error(out, 400, doc.error().message());
      auto ip_it = doc->find("ip");
      if (ip_it == doc->end() || !ip_it->is_string()) {
        return reply_error(out, 400, "field 'ip' is required (e.g. \"127.20.9.9\")");
      }
      auto ip = parse_ip(ip_it->get<std::string>());
      if (!ip.ok()) return reply_error(out, 400, "field 'ip': " + ip.error().message());
      return reply_status(out, fleet_.move(i, *ip));
    }
  }
  reply_error(out, 404, "no route " + std::string(method) + " " + std::string(path));
}

}  // namespace fleet::minersim
