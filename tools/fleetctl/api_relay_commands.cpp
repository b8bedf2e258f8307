// fleetctl api relays ...: relay controllers and workers' relay mappings through the REST API
// (docs/relay-mappings.md).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "api_commands.h"
#include "table.h"

namespace fleet::cli {
namespace {

using json = nlohmann::json;

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string online_text(const std::optional<bool>& online) {
  if (!online) return "unknown";
  return *online ? "online" : "offline";
}

// A worker by id, or by its exact name.
std::int64_t worker_id(client::Client& c, const std::string& worker) {
  if (all_digits(worker)) return std::stoll(worker);
  for (const auto& w : c.workers().all({.q = worker, .limit = 1000})) {
    if (w.name == worker) return w.id;
  }
  throw client::NotFoundError(404, "not_found", "no worker named '" + worker + "'", "worker");
}

std::string timing(const client::RelayMapping& m) {
  if (m.wiring == "mains") return "off " + std::to_string(m.off_ms) + " ms";
  return "press " + std::to_string(m.pulse_ms) + " ms, hold " + std::to_string(m.hold_ms) +
         " ms, off " + std::to_string(m.off_ms) + " ms";
}

void print_controller(const client::RelayController& rc, bool as_json, std::ostream& out) {
  if (as_json) {
    out << json::parse(rc.raw).dump(2) << "\n";
    return;
  }
  out << "relay controller " << rc.id << ": " << rc.name << " (" << rc.driver << ", topic "
      << rc.topic << ", " << rc.channels << " channels, " << online_text(rc.online) << ", "
      << rc.mapped_workers << " mapped)\n";
  if (rc.site) out << "  site: " << *rc.site << "\n";
  if (!rc.description.empty()) out << "  description: " << rc.description << "\n";
}

void print_mappings(const std::vector<client::RelayMapping>& items, bool as_json,
                    std::ostream& out) {
  if (as_json) {
    json arr = json::array();
    for (const auto& m : items)
      arr.push_back(json::parse(m.raw, nullptr, false));
    out << arr.dump(2) << "\n";
    return;
  }
  Table table({"CONTROLLER", "CHANNEL", "WORKER", "WIRING", "TIMING", "CONTROLLER STATE"});
  for (const auto& m : items) {
    table.add({m.controller_name, std::to_string(m.channel),
               std::to_string(m.worker_id) + " " + m.worker_name, m.wiring, timing(m),
               online_text(m.controller_online)});
  }
  out << (items.empty() ? "no relay mappings\n" : table.render());
}

}  // namespace

int api_relay_controllers_list(client::Client& c, bool as_json, std::ostream& out) {
  auto items = c.relays().controllers();
  if (as_json) {
    json arr = json::array();
    for (const auto& rc : items)
      arr.push_back(json::parse(rc.raw, nullptr, false));
    out << arr.dump(2) << "\n";
    return 0;
  }
  Table table({"ID", "NAME", "DRIVER", "TOPIC", "CHANNELS", "STATE", "MAPPED", "SITE"});
  for (const auto& rc : items) {
    table.add({std::to_string(rc.id), rc.name, rc.driver, rc.topic, std::to_string(rc.channels),
               online_text(rc.online), std::to_string(rc.mapped_workers), api_cell(rc.site)});
  }
  out << (items.empty() ? "no relay controllers\n" : table.render());
  return 0;
}

int api_relay_controller_show(client::Client& c, const std::string& controller, bool as_json,
                              std::ostream& out) {
  auto rc = c.relays().find_controller(controller);
  print_controller(rc, as_json, out);
  if (!as_json) print_mappings(c.relays().mappings(rc.id), false, out);
  return 0;
}

int api_relay_controller_add(client::Client& c, const ApiRelayControllerOptions& o,
                             std::ostream& out) {
  client::RelayControllerDraft d{.name = o.name, .driver = o.driver, .topic = o.topic};
  d.channels = o.channels;
  if (o.site && !o.site->empty()) d.site = o.site;
  if (!o.description.empty()) d.description = o.description;
  print_controller(c.relays().create_controller(d), false, out);
  return 0;
}

int api_relay_controller_update(client::Client& c, const std::string& controller,
                                const ApiRelayControllerOptions& o, std::ostream& out,
                                std::ostream& err) {
  client::RelayControllerDraft d;
  if (!o.name.empty()) d.name = o.name;
  if (!o.driver.empty()) d.driver = o.driver;
  if (!o.topic.empty()) d.topic = o.topic;
  d.channels = o.channels;
  d.site = o.site;
  if (o.description_set) d.description = o.description;
  if (!d.name && !d.driver && !d.topic && !d.channels && !d.site && !d.description) {
    err << "fleetctl: nothing to change: give --name, --driver, --topic, --channels, --site or "
           "--description\n";
    return 2;
  }
  const auto id = c.relays().find_controller(controller).id;
  print_controller(c.relays().update_controller(id, d), false, out);
  return 0;
}

int api_relay_controller_remove(client::Client& c, const std::string& controller,
                                std::ostream& out) {
  auto rc = c.relays().find_controller(controller);
  c.relays().remove_controller(rc.id);
  out << "relay controller " << rc.id << " (" << rc.name << ") removed\n";
  return 0;
}

int api_relay_map(client::Client& c, const ApiRelayMapOptions& o, std::ostream& out) {
  const std::int64_t worker = worker_id(c, o.worker);
  client::RelayMappingRequest r{.channel = o.channel, .wiring = o.wiring};
  r.controller_id = c.relays().find_controller(o.controller).id;
  r.pulse_ms = o.pulse_ms;
  r.hold_ms = o.hold_ms;
  r.off_ms = o.off_ms;
  auto m = c.relays().map(worker, r);
  if (o.json) {
    out << json::parse(m.raw).dump(2) << "\n";
    return 0;
  }
  out << "worker " << m.worker_id << " (" << m.worker_name << ") is on " << m.controller_name
      << " channel " << m.channel << " (" << m.wiring << ", " << timing(m) << ")\n";
  return 0;
}

int api_relay_unmap(client::Client& c, const std::string& worker, std::ostream& out) {
  const std::int64_t id = worker_id(c, worker);
  c.relays().unmap(id);
  out << "worker " << id << " has no relay mapping now\n";
  return 0;
}

int api_relays_list(client::Client& c, const std::string& controller, bool as_json,
                    std::ostream& out) {
  std::optional<std::int64_t> id;
  if (!controller.empty()) id = c.relays().find_controller(controller).id;
  print_mappings(c.relays().mappings(id), as_json, out);
  return 0;
}

}  // namespace fleet::cli
