// Relay controllers and workers' relay mappings (issue 10).
#include <algorithm>

#include "client/client.h"
#include "parse.h"
#include "session.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;

json draft_json(const RelayControllerDraft& d, bool update) {
  json j = json::object();
  if (d.name) j["name"] = *d.name;
  if (d.driver) j["driver"] = *d.driver;
  if (d.topic) j["topic"] = *d.topic;
  if (d.channels) j["channels"] = *d.channels;
  if (d.site) j["site"] = d.site->empty() && update ? json() : json(*d.site);
  if (d.description) j["description"] = *d.description;
  return j;
}

std::string controller_path(std::int64_t id, const char* rest = "") {
  return "/api/relay-controllers/" + std::to_string(id) + rest;
}

std::string relay_path(std::int64_t worker) {
  return "/api/workers/" + std::to_string(worker) + "/relay";
}

}  // namespace

std::vector<RelayController> RelaysApi::controllers() {
  std::vector<RelayController> out;
  std::optional<std::string> after;
  for (;;) {
    Query q("/api/relay-controllers");
    q.add_limit(1000).add("after", after);
    auto page = parse::page<RelayController>(s_.call("GET", q.str()), parse::relay_controller);
    for (auto& c : page.items)
      out.push_back(std::move(c));
    if (!page.next || page.next == after) break;
    after = page.next;
  }
  return out;
}

RelayController RelaysApi::controller(std::int64_t id) {
  return parse::relay_controller(s_.call("GET", controller_path(id)));
}

RelayController RelaysApi::find_controller(const std::string& name_or_id) {
  const bool digits = !name_or_id.empty() && name_or_id.size() < 19 &&
                      std::all_of(name_or_id.begin(), name_or_id.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
  auto all = controllers();
  if (digits) {
    const std::int64_t id = std::stoll(name_or_id);
    for (const auto& c : all) {
      if (c.id == id) return c;
    }
  }
  for (const auto& c : all) {
    if (c.name == name_or_id) return c;
  }
  throw NotFoundError(404, "not_found",
                      "no relay controller named or numbered '" + name_or_id + "'", "controller");
}

RelayController RelaysApi::create_controller(const RelayControllerDraft& draft) {
  json body = draft_json(draft, false);
  return parse::relay_controller(s_.call("POST", "/api/relay-controllers", &body));
}

RelayController RelaysApi::update_controller(std::int64_t id, const RelayControllerDraft& change) {
  json body = draft_json(change, true);
  return parse::relay_controller(s_.call("PATCH", controller_path(id), &body));
}

void RelaysApi::remove_controller(std::int64_t id) {
  s_.call("DELETE", controller_path(id));
}

std::vector<RelayMapping> RelaysApi::mappings(std::optional<std::int64_t> controller_id) {
  Query q("/api/relay-mappings");
  q.add("controller_id", controller_id);
  return parse::page<RelayMapping>(s_.call("GET", q.str()), parse::relay_mapping).items;
}

std::optional<RelayMapping> RelaysApi::mapping(std::int64_t worker_id) {
  // The worker's detail carries its mapping or null: a missing worker stays a NotFoundError.
  json w = s_.call("GET", "/api/workers/" + std::to_string(worker_id));
  if (!w.is_object() || !w.contains("relay") || w["relay"].is_null()) return std::nullopt;
  return parse::relay_mapping(w["relay"]);
}

RelayMapping RelaysApi::map(std::int64_t worker_id, const RelayMappingRequest& r) {
  json body = {{"channel", r.channel}, {"wiring", r.wiring}};
  if (r.controller_id) {
    body["controller_id"] = *r.controller_id;
  } else {
    body["controller"] = r.controller;
  }
  if (r.pulse_ms) body["pulse_ms"] = *r.pulse_ms;
  if (r.hold_ms) body["hold_ms"] = *r.hold_ms;
  if (r.off_ms) body["off_ms"] = *r.off_ms;
  return parse::relay_mapping(s_.call("PUT", relay_path(worker_id), &body));
}

void RelaysApi::unmap(std::int64_t worker_id) {
  s_.call("DELETE", relay_path(worker_id));
}

}  // namespace fleet::client
