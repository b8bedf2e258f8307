// Relay controllers and the mapping of workers to their channels (issue 10, sql/0038): which
// relay presses a worker's power button or switches its mains. Admins manage controllers (they
// name places on the MQTT broker); operators map workers to channels. One worker per channel;
// devices have no power to cut. The action-dispatcher reads these rows for power_* commands.
#include <string_view>

#include <pqxx/pqxx>

#include "core/strings.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

const std::string kControllerSelect =
    "SELECT c.id, c.name, c.driver, c.topic, c.channels, c.site, c.description, c.online, " +
    iso_sql("c.availability_at") + ", " + iso_sql("c.created_at") + ", " + iso_sql("c.updated_at") +
    ", (SELECT count(*) FROM relay_mappings rm WHERE rm.controller_id = c.id) "
    "FROM relay_controllers c ";

json controller_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"name", r[1].as<std::string>()},
          {"driver", r[2].as<std::string>()},
          {"topic", r[3].as<std::string>()},
          {"channels", r[4].as<int>()},
          {"site", opt_text(r[5])},
          {"description", r[6].as<std::string>()},
          {"online", r[7].is_null() ? json() : json(r[7].as<bool>())},
          {"availability_at", opt_text(r[8])},
          {"created_at", r[9].as<std::string>()},
          {"updated_at", r[10].as<std::string>()},
          {"mapped_workers", r[11].as<std::int64_t>()}};
}

const std::string kMappingSelect =
    "SELECT m.worker_id, w.name, w.kind, m.controller_id, c.name, c.driver, c.online, " +
    iso_sql("c.availability_at") + ", m.channel, m.wiring, m.pulse_ms, m.hold_ms, m.off_ms, " +
    iso_sql("m.created_at") + ", " + iso_sql("m.updated_at") +
    " FROM relay_mappings m JOIN workers w ON w.id = m.worker_id"
    " JOIN relay_controllers c ON c.id = m.controller_id ";

json mapping_json(const pqxx::row& r) {
  return {{"worker_id", r[0].as<std::int64_t>()},
          {"worker_name", r[1].as<std::string>()},
          {"worker_kind", r[2].as<std::string>()},
          {"controller_id", r[3].as<std::int64_t>()},
          {"controller_name", r[4].as<std::string>()},
          {"controller_driver", r[5].as<std::string>()},
          {"controller_online", r[6].is_null() ? json() : json(r[6].as<bool>())},
          {"controller_availability_at", opt_text(r[7])},
          {"channel", r[8].as<int>()},
          {"wiring", r[9].as<std::string>()},
          {"pulse_ms", r[10].as<int>()},
          {"hold_ms", r[11].as<int>()},
          {"off_ms", r[12].as<int>()},
          {"created_at", r[13].as<std::string>()},
          {"updated_at", r[14].as<std::string>()}};
}

const json kNullableString = {{"type", "string"}, {"nullable", true}};

const json kController = {{"type", "object"},
                          {"properties",
                           {{"id", {{"type", "integer"}}},
                            {"name", {{"type", "string"}}},
                            {"driver", {{"type", "string"}, {"enum", {"fleetward", "tasmota"}}}},
                            {"topic", {{"type", "string"}}},
                            {"channels", {{"type", "integer"}, {"minimum", 1}, {"maximum", 64}}},
                            {"site", kNullableString},
                            {"description", {{"type", "string"}}},
                            {"online", {{"type", "boolean"}, {"nullable", true}}},
                            {"availability_at", kNullableString},
                            {"created_at", {{"type", "string"}}},
                            {"updated_at", {{"type", "string"}}},
                            {"mapped_workers", {{"type", "integer"}}}}}};

const json kControllerBody = {
    {"type", "object"},
    {"properties",
     {{"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}}},
      {"driver", {{"type", "string"}, {"enum", {"fleetward", "tasmota"}}}},
      {"topic", {{"type", "string"}, {"pattern", "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"}}},
      {"channels", {{"type", "integer"}, {"minimum", 1}, {"maximum", 64}}},
      {"site", kNullableString},
      {"description", {{"type", "string"}, {"maxLength", 500}}}}}};

const json kMapping = {{"type", "object"},
                       {"properties",
                        {{"worker_id", {{"type", "integer"}}},
                         {"worker_name", {{"type", "string"}}},
                         {"controller_id", {{"type", "integer"}}},
                         {"controller_name", {{"type", "string"}}},
                         {"controller_online", {{"type", "boolean"}, {"nullable", true}}},
                         {"channel", {{"type", "integer"}}},
                         {"wiring", {{"type", "string"}, {"enum", {"power_button", "mains"}}}},
                         {"pulse_ms", {{"type", "integer"}}},
                         {"hold_ms", {{"type", "integer"}}},
                         {"off_ms", {{"type", "integer"}}}}}};

const json kMappingBody = {
    {"type", "object"},
    {"required", {"channel", "wiring"}},
    {"properties",
     {{"controller_id", {{"type", "integer"}}},
      {"controller", {{"type", "string"}, {"description", "controller name (or controller_id)"}}},
      {"channel", {{"type", "integer"}, {"minimum", 1}, {"maximum", 64}}},
      {"wiring", {{"type", "string"}, {"enum", {"power_button", "mains"}}}},
      {"pulse_ms", {{"type", "integer"}, {"minimum", 50}, {"maximum", 10000}}},
      {"hold_ms", {{"type", "integer"}, {"minimum", 1000}, {"maximum", 60000}}},
      {"off_ms", {{"type", "integer"}, {"minimum", 1000}, {"maximum", 300000}}}}}};

// One MQTT topic segment or controller name: what sql/0038 accepts.
bool is_segment(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s[0])) return false;
  for (char c : s) {
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

std::optional<std::string> opt_segment(const JsonBody& body, const char* field) {
  auto s = body.opt_string(field, 200);
  if (s && !is_segment(*s)) {
    throw ApiError::bad_request(
        "'" + std::string(field) +
            "' must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit",
        field);
  }
  return s;
}

std::optional<std::string> opt_driver(const JsonBody& body) {
  auto d = body.opt_string("driver", 32);
  if (d && *d != "fleetward" && *d != "tasmota")
    throw ApiError::bad_request("'driver' must be fleetward or tasmota", "driver");
  return d;
}

// The names of the workers mapped to a controller, for messages ("a, b and 3 more").
std::string mapped_names(pqxx::transaction_base& tx, std::int64_t controller, int* count) {
  auto rows = tx.exec_params(
      "SELECT w.name, m.channel FROM relay_mappings m JOIN workers w ON w.id = m.worker_id "
      "WHERE m.controller_id = $1 ORDER BY m.channel",
      controller);
  *count = static_cast<int>(rows.size());
  std::string out;
  for (std::size_t i = 0; i < rows.size() && i < 5; ++i) {
    out += (out.empty() ? "" : ", ") + rows[i][0].as<std::string>() + " (channel " +
           rows[i][1].as<std::string>() + ")";
  }
  if (rows.size() > 5) out += " and " + std::to_string(rows.size() - 5) + " more";
  return out;
}

// Refuses a name or (driver, topic) another controller has, naming the field.
void check_unique(pqxx::transaction_base& tx, std::int64_t self, const std::string& name,
                  const std::string& driver, const std::string& topic) {
  if (!tx.exec_params("SELECT 1 FROM relay_controllers WHERE name = $1 AND id <> $2", name, self)
           .empty()) {
    throw ApiError::conflict("a relay controller named '" + name + "' exists already", "name");
  }
  auto same = tx.exec_params(
      "SELECT name FROM relay_controllers WHERE driver = $1 AND topic = $2 AND id <> $3", driver,
      topic, self);
  if (!same.empty()) {
    throw ApiError::conflict("relay controller '" + same[0][0].as<std::string>() +
                                 "' already uses the " + driver + " topic '" + topic + "'",
                             "topic");
  }
}

json load_controller(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(kControllerSelect + "WHERE c.id = $1", id);
  if (rows.empty())
    throw ApiError::not_found("relay controller " + std::to_string(id) + " not found");
  return controller_json(rows[0]);
}

}  // namespace

json relay_mapping_of(pqxx::transaction_base& tx, std::int64_t worker_id) {
  auto rows = tx.exec_params(kMappingSelect + "WHERE m.worker_id = $1", worker_id);
  return rows.empty() ? json() : mapping_json(rows[0]);
}

void add_relay_routes(Router& router) {
  router.add({.method = "GET",
              .path = "/api/relay-controllers",
              .tag = "relays",
              .summary = "Relay controllers (Raspberry Pi boards, Tasmota devices) with their "
                         "availability and how many workers are mapped to them",
              .response_schema = page_schema(kController),
              .query_parameters = {query_param("limit", "integer", "1..1000 (default 100)"),
                                   query_param("after", "integer", "cursor (an id)")},
              .handler = [](Call& call) {
                const auto limit = call.query_int("limit", 100, 1, 1000);
                const auto after = call.query_int("after", 0, 0, INT64_MAX);
                json page;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  auto rows =
                      tx.exec_params(kControllerSelect + "WHERE c.id > $1 ORDER BY c.id LIMIT $2",
                                     after, limit + 1);
                  page = keyset_page(rows, limit, controller_json);
                });
                return Reply{.body = page};
              }});

  router.add({.method = "POST",
              .path = "/api/relay-controllers",
              .tag = "relays",
              .summary = "Add a relay controller (name, driver fleetward|tasmota, topic, channels "
                         "1..64, site, description)",
              .role = Role::kAdmin,
              .request_schema =
                  [] {
                    json s = kControllerBody;
                    s["required"] = {"name", "driver", "topic"};
                    return s;
                  }(),
              .response_schema = kController,
              .success_status = 201,
              .handler =
                  [](Call& call) {
                    JsonBody body = call.body();
                    body.only({"name", "driver", "topic", "channels", "site", "description"});
                    auto name = opt_segment(body, "name");
                    if (!name) throw ApiError::bad_request("'name' is required", "name");
                    auto driver = opt_driver(body);
                    if (!driver) throw ApiError::bad_request("'driver' is required", "driver");
                    auto topic = opt_segment(body, "topic");
                    if (!topic) throw ApiError::bad_request("'topic' is required", "topic");
                    const auto channels = body.opt_integer("channels", 1, 64).value_or(8);
                    auto site = body.opt_string("site", 200);
                    const auto description = body.opt_string("description", 500, true).value_or("");
                    call.audit_target("relay-controller:" + *name);
                    call.audit_detail("driver", *driver);
                    call.audit_detail("topic", *topic);
                    call.audit_detail("channels", channels);
                    json out;
                    call.db().transact([&](pqxx::transaction_base& tx) {
                      check_unique(tx, 0, *name, *driver, *topic);
                      const auto id =
                          tx.exec_params1(
                                "INSERT INTO relay_controllers (name, driver, topic, channels, "
                                "site, description) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                                *name, *driver, *topic, channels, site, description)[0]
                              .as<std::int64_t>();
                      out = load_controller(tx, id);
                    });
                    return Reply{.status = 201, .body = out};
                  }});

  router.add({.method = "GET",
              .path = "/api/relay-controllers/{id}",
              .tag = "relays",
              .summary = "One relay controller",
              .response_schema = kController,
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = load_controller(tx, call.id()); });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "PATCH",
       .path = "/api/relay-controllers/{id}",
       .tag = "relays",
       .summary = "Change a relay controller (only the fields sent; site null clears it). Fewer "
                  "channels than a mapped channel is refused.",
       .role = Role::kAdmin,
       .request_schema = kControllerBody,
       .response_schema = kController,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         JsonBody body = call.body();
         body.only({"name", "driver", "topic", "channels", "site", "description"});
         auto name = opt_segment(body, "name");
         auto driver = opt_driver(body);
         auto topic = opt_segment(body, "topic");
         auto channels = body.opt_integer("channels", 1, 64);
         const bool site_given = body.raw().contains("site");
         auto site = body.opt_string("site", 200);
         auto description = body.opt_string("description", 500, true);
         call.audit_target("relay-controller:" + std::to_string(id));
         call.audit_detail("changes", body.raw());
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto current = tx.exec_params(
               "SELECT name, driver, topic FROM relay_controllers WHERE id = $1 FOR UPDATE", id);
           if (current.empty())
             throw ApiError::not_found("relay controller " + std::to_string(id) + " not found");
           check_unique(tx, id, name.value_or(current[0][0].as<std::string>()),
                        driver.value_or(current[0][1].as<std::string>()),
                        topic.value_or(current[0][2].as<std::string>()));
           if (channels) {
             auto beyond = tx.exec_params(
                 "SELECT w.name, m.channel FROM relay_mappings m JOIN workers w ON w.id = "
                 "m.worker_id WHERE m.controller_id = $1 AND m.channel > $2 ORDER BY m.channel "
                 "DESC LIMIT 1",
                 id, *channels);
             if (!beyond.empty()) {
               throw ApiError::conflict("channels: worker " + beyond[0][0].as<std::string>() +
                                            " is mapped to channel " +
                                            beyond[0][1].as<std::string>() + "; unmap it first",
                                        "channels");
             }
           }
           tx.exec_params(
               "UPDATE relay_controllers SET name = coalesce($2, name), driver = coalesce($3, "
               "driver), topic = coalesce($4, topic), channels = coalesce($5, channels), "
               "site = CASE WHEN $6 THEN $7 ELSE site END, description = coalesce($8, "
               "description) WHERE id = $1",
               id, name, driver, topic, channels, site_given, site, description);
           out = load_controller(tx, id);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "DELETE",
       .path = "/api/relay-controllers/{id}",
       .tag = "relays",
       .summary = "Remove a relay controller; refused (409, naming them) while workers are "
                  "mapped to it",
       .role = Role::kAdmin,
       .response_schema = {{"type", "object"},
                           {"properties", {{"deleted", {{"type", "integer"}}}}}},
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("relay-controller:" + std::to_string(id));
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto c =
               tx.exec_params("SELECT name FROM relay_controllers WHERE id = $1 FOR UPDATE", id);
           if (c.empty())
             throw ApiError::not_found("relay controller " + std::to_string(id) + " not found");
           int count = 0;
           const std::string names = mapped_names(tx, id, &count);
           if (count > 0) {
             throw ApiError::conflict("relay controller " + c[0][0].as<std::string>() +
                                      " still has " + std::to_string(count) +
                                      (count == 1 ? " worker" : " workers") + " mapped: " + names +
                                      "; unmap them first");
           }
           tx.exec_params("DELETE FROM relay_controllers WHERE id = $1", id);
         });
         return Reply{.body = {{"deleted", id}}};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/relay-controllers/{id}/mappings",
       .tag = "relays",
       .summary = "The workers mapped to a relay controller, by channel",
       .response_schema = {{"type", "object"},
                           {"properties", {{"items", {{"type", "array"}, {"items", kMapping}}}}}},
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           items = json::array();
           load_controller(tx, id);
           for (const auto& r : tx.exec_params(
                    kMappingSelect + "WHERE m.controller_id = $1 ORDER BY m.channel", id))
             items.push_back(mapping_json(r));
         });
         return Reply{.body = {{"items", items}}};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/relay-mappings",
       .tag = "relays",
       .summary = "Every worker's relay mapping, by controller and channel",
       .response_schema = {{"type", "object"},
                           {"properties", {{"items", {{"type", "array"}, {"items", kMapping}}}}}},
       .query_parameters = {query_param("controller_id", "integer", "only this one")},
       .handler = [](Call& call) {
         auto controller = call.query_opt_int("controller_id", 1, INT64_MAX);
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           items = json::array();
           for (const auto& r : tx.exec_params(
                    kMappingSelect + "WHERE ($1::bigint IS NULL OR m.controller_id = $1) "
                                     "ORDER BY c.name, m.channel",
                    controller))
             items.push_back(mapping_json(r));
         });
         return Reply{.body = {{"items", items}}};
       }});

  router.add({.method = "GET",
              .path = "/api/workers/{id}/relay",
              .tag = "relays",
              .summary = "A worker's relay mapping (404 when it has none)",
              .response_schema = kMapping,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  if (tx.exec_params("SELECT 1 FROM workers WHERE id = $1", id).empty())
                    throw ApiError::not_found("worker " + std::to_string(id) + " not found");
                  out = relay_mapping_of(tx, id);
                });
                if (out.is_null())
                  throw ApiError::not_found("worker " + std::to_string(id) +
                                            " has no relay mapping");
                return Reply{.body = out};
              }});

  router.add(
      {.method = "PUT",
       .path = "/api/workers/{id}/relay",
       .tag = "relays",
       .summary = "Map a worker to a relay controller channel (controller_id or controller name, "
                  "channel, wiring power_button|mains, pulse_ms, hold_ms, off_ms); replaces its "
                  "mapping. One worker per channel; devices have none.",
       .role = Role::kOperator,
       .request_schema = kMappingBody,
       .response_schema = kMapping,
       .handler = [](Call& call) {
         const std::int64_t worker = call.id();
         JsonBody body = call.body();
         body.only(
             {"controller_id", "controller", "channel", "wiring", "pulse_ms", "hold_ms", "off_ms"});
         auto controller_id = body.opt_integer("controller_id", 1, INT64_MAX);
         auto controller_name = body.opt_string("controller", 64);
         if (controller_id && controller_name) {
           throw ApiError::bad_request("send 'controller_id' or 'controller', not both",
                                       "controller");
         }
         if (!controller_id && !controller_name) {
           throw ApiError::bad_request(
               "'controller_id' (or 'controller', the controller's name) is required",
               "controller_id");
         }
         const auto channel = body.integer("channel", 1, 64);
         const std::string wiring = body.string("wiring", 32);
         if (wiring != "power_button" && wiring != "mains")
           throw ApiError::bad_request("'wiring' must be power_button or mains", "wiring");
         const auto pulse = body.opt_integer("pulse_ms", 50, 10'000).value_or(500);
         const auto hold = body.opt_integer("hold_ms", 1'000, 60'000).value_or(6'000);
         const auto off = body.opt_integer("off_ms", 1'000, 300'000).value_or(10'000);
         call.audit_target("worker:" + std::to_string(worker));
         call.audit_detail("relay", body.raw());
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto w =
               tx.exec_params("SELECT kind, name FROM workers WHERE id = $1 FOR UPDATE", worker);
           if (w.empty())
             throw ApiError::not_found("worker " + std::to_string(worker) + " not found");
           if (w[0][0].as<std::string>() == "device") {
             throw ApiError::unprocessable(
                 "worker " + w[0][1].as<std::string>() +
                     " is a device: only asics, rigs and nodes can be mapped to a relay",
                 "worker");
           }
           // Locked: two mappings to one channel are decided one after the other.
           auto c = controller_id
                        ? tx.exec_params(
                              "SELECT id, name, channels FROM relay_controllers WHERE id = $1 "
                              "FOR UPDATE",
                              *controller_id)
                        : tx.exec_params(
                              "SELECT id, name, channels FROM relay_controllers WHERE name = $1 "
                              "FOR UPDATE",
                              *controller_name);
           const char* field = controller_id ? "controller_id" : "controller";
           if (c.empty()) {
             throw ApiError::unprocessable(
                 std::string(field) + ": no relay controller " +
                     (controller_id ? std::to_string(*controller_id)
                                    : "named '" + sanitize_utf8(*controller_name) + "'"),
                 field);
           }
           const auto cid = c[0][0].as<std::int64_t>();
           const auto channels = c[0][2].as<int>();
           if (channel > channels) {
             throw ApiError::bad_request("'channel' " + std::to_string(channel) +
                                             " is beyond the " + std::to_string(channels) +
                                             " channels of relay controller " +
                                             c[0][1].as<std::string>(),
                                         "channel");
           }
           auto taken = tx.exec_params(
               "SELECT w.name FROM relay_mappings m JOIN workers w ON w.id = m.worker_id "
               "WHERE m.controller_id = $1 AND m.channel = $2 AND m.worker_id <> $3",
               cid, channel, worker);
           if (!taken.empty()) {
             throw ApiError::conflict("channel " + std::to_string(channel) + " of " +
                                          c[0][1].as<std::string>() + " is used by worker " +
                                          taken[0][0].as<std::string>(),
                                      "channel");
           }
           tx.exec_params(
               "INSERT INTO relay_mappings (worker_id, controller_id, channel, wiring, pulse_ms, "
               "hold_ms, off_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (worker_id) DO "
               "UPDATE SET controller_id = EXCLUDED.controller_id, channel = EXCLUDED.channel, "
               "wiring = EXCLUDED.wiring, pulse_ms = EXCLUDED.pulse_ms, hold_ms = "
               "EXCLUDED.hold_ms, off_ms = EXCLUDED.off_ms",
               worker, cid, channel, wiring, pulse, hold, off);
           out = relay_mapping_of(tx, worker);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "DELETE",
       .path = "/api/workers/{id}/relay",
       .tag = "relays",
       .summary = "Remove a worker's relay mapping (its power actions are refused after)",
       .role = Role::kOperator,
       .response_schema = {{"type", "object"},
                           {"properties", {{"deleted", {{"type", "integer"}}}}}},
       .handler = [](Call& call) {
         const std::int64_t worker = call.id();
         call.audit_target("worker:" + std::to_string(worker));
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (tx.exec_params("DELETE FROM relay_mappings WHERE worker_id = $1 RETURNING 1", worker)
                   .empty()) {
             throw ApiError::not_found("worker " + std::to_string(worker) +
                                       " has no relay mapping");
           }
         });
         return Reply{.body = {{"deleted", worker}}};
       }});
}

}  // namespace fleet::gateway
