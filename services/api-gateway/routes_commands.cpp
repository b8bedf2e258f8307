// Manual actions (seed 000 §3): the gateway validates a request and writes one `commands` row;
// the action dispatcher carries it out. Actions that stop mining (reboot, shutdown) or switch
// power through a relay (power_cycle, power_off, power_on, power_button) need an explicit
// "confirm": true; the relay ones also need the worker's relay mapping (routes_relays.cpp). An
// Idempotency-Key header makes a retried request return the command it queued the first time
// instead of queueing a second one.
#include <array>
#include <optional>
#include <string_view>

#include <pqxx/pqxx>

#include "core/strings.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

constexpr const char* kIso = kIsoFormat;

struct ActionInfo {
  std::string_view name;
  bool needs_confirm;
  bool asic_only;  // carried out through the miner firmware only
  bool relay;      // carried out by a relay controller: needs the worker's relay mapping
};

constexpr std::array<ActionInfo, 14> kActions{{{"restart_mining", false, false, false},
                                               {"reboot", true, false, false},
                                               {"shutdown", true, false, false},
                                               {"power_cycle", true, false, true},
                                               {"power_off", true, false, true},
                                               {"power_on", true, false, true},
                                               {"power_button", true, false, true},
                                               {"set_preset", false, true, false},
                                               {"find_miner", false, true, false},
                                               {"start_mining", false, true, false},
                                               {"stop_mining", false, true, false},
                                               {"pause_mining", false, true, false},
                                               {"resume_mining", false, true, false},
                                               // A shell command on a HiveOS rig: only for
                                               // accounts an admin enabled exec for.
                                               {"exec", true, false, false}}};

const ActionInfo* find_action(std::string_view name) {
  for (const auto& a : kActions) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string action_names() {
  std::string out;
  for (const auto& a : kActions)
    out += (out.empty() ? "" : ", ") + std::string(a.name);
  return out;
}

// What HiveOS can do to a worker (dispatch/hiveos_command.h).
bool is_hiveos_action(std::string_view name) {
  return name == "reboot" || name == "shutdown" || name == "restart_mining" ||
         name == "stop_mining" || name == "start_mining" || name == "exec";
}

// How an action reaches a worker of a kind (DESIGN §6), nullopt when it cannot. A HiveOS worker
// (a rigs row, whatever its kind; every rig) is commanded through HiveOS, its power through its
// relay.
std::optional<std::string> channel_of(const ActionInfo& action, std::string_view kind,
                                      bool hiveos_worker) {
  if (action.relay) return kind == "device" ? std::nullopt : std::optional<std::string>("relay");
  if (hiveos_worker || kind == "rig") {
    return is_hiveos_action(action.name) ? std::optional<std::string>("hiveos") : std::nullopt;
  }
  if (action.name == "exec") return std::nullopt;
  if (action.asic_only)
    return kind == "asic" ? std::optional<std::string>("firmware") : std::nullopt;
  if (kind == "asic") return "firmware";
  if (kind == "node" && action.name != "restart_mining") return "agent";
  return std::nullopt;
}

const std::string kCommandSelect =
    std::string(
        "SELECT c.id, c.worker_id, w.name, c.action, c.params::text, c.channel, c.origin, "
        "c.rule_id, "
        "c.alert_id, c.step, c.state, c.skip_reason, c.attempts, c.max_attempts, c.requested_by, "
        "to_char(c.created_at AT TIME ZONE 'UTC', ") +
    kIso + "), to_char(c.updated_at AT TIME ZONE 'UTC', " + kIso +
    "), to_char(c.expires_at AT TIME ZONE 'UTC', " + kIso +
    "), to_char(c.finished_at AT TIME ZONE 'UTC', " + kIso +
    "), c.result::text, c.last_error, c.held_reason, to_char(c.sent_at AT TIME ZONE 'UTC', " +
    kIso + "), to_char(c.not_before AT TIME ZONE 'UTC', " + kIso +
    ") FROM commands c JOIN workers w ON w.id = c.worker_id ";

json parsed(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  json j = json::parse(f.as<std::string>(), nullptr, false);
  return j.is_discarded() ? json() : j;
}

json command_json(const pqxx::row& r) {
  return {{"id", r[0].as<std::int64_t>()},
          {"worker_id", r[1].as<std::int64_t>()},
          {"worker_name", r[2].as<std::string>()},
          {"action", r[3].as<std::string>()},
          {"params", parsed(r[4])},
          {"channel", opt_text(r[5])},
          {"origin", r[6].as<std::string>()},
          {"rule_id", opt_int(r[7])},
          {"alert_id", opt_int(r[8])},
          {"step", opt_int(r[9])},
          {"state", r[10].as<std::string>()},
          {"skip_reason", opt_text(r[11])},
          {"attempts", r[12].as<int>()},
          {"max_attempts", r[13].as<int>()},
          {"requested_by", r[14].as<std::string>()},
          {"created_at", r[15].as<std::string>()},
          {"updated_at", r[16].as<std::string>()},
          {"expires_at", r[17].as<std::string>()},
          {"finished_at", opt_text(r[18])},
          {"result", parsed(r[19])},
          {"last_error", r[20].is_null() ? json() : json(redact_secrets(r[20].as<std::string>()))},
          {"held_reason", opt_text(r[21])},
          {"sent_at", opt_text(r[22])},
          {"not_before", opt_text(r[23])}};
}

const json kCommand = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"worker_id", {{"type", "integer"}}},
      {"action", {{"type", "string"}}},
      {"params", {{"type", "object"}}},
      {"state",
       {{"type", "string"},
        {"enum", {"queued", "claimed", "sent", "succeeded", "failed", "expired", "skipped"}}}},
      {"channel", {{"type", "string"}, {"nullable", true}}},
      {"attempts", {{"type", "integer"}}},
      {"max_attempts", {{"type", "integer"}}},
      {"skip_reason",
       {{"type", "string"}, {"nullable", true}, {"description", "why it was skipped"}}},
      {"held_reason",
       {{"type", "string"},
        {"nullable", true},
        {"description",
         "why a due command waits (partition hold, minimum interval, rate limit); cleared when "
         "sent"}}},
      {"last_error", {{"type", "string"}, {"nullable", true}}},
      {"result", {{"type", "object"}, {"nullable", true}}},
      {"created_at", {{"type", "string"}}},
      {"sent_at", {{"type", "string"}, {"nullable", true}}},
      {"not_before", {{"type", "string"}, {"nullable", true}}},
      {"finished_at", {{"type", "string"}, {"nullable", true}}},
      {"requested_by", {{"type", "string"}}}}}};

// Checks the params of `action`; returns them normalised.
json check_params(const ActionInfo& action, const JsonBody& body) {
  auto params = body.opt_object("params");
  if (!params) params = json::object();
  JsonBody p(*params, "params.");
  if (action.name == "set_preset") {
    p.only({"preset"});
    return {{"preset", p.string("preset", 64)}};
  }
  if (action.name == "find_miner") {
    // Without "on" the locate LED toggles (the firmware's own call); with it, it ends so.
    p.only({"on"});
    if (auto on = p.opt_bool("on")) return {{"on", *on}};
    return json::object();
  }
  if (action.name == "power_button") {
    p.only({"ms"});
    if (auto ms = p.opt_integer("ms", 50, 10'000)) return {{"ms", *ms}};
    return json::object();
  }
  if (action.name == "exec") {
    p.only({"cmd"});
    return {{"cmd", p.string("cmd", 1000)}};
  }
  p.only({});
  return json::object();
}

}  // namespace

void add_command_routes(Router& router) {
  json actions = json::array();
  for (const auto& a : kActions)
    actions.push_back(std::string(a.name));

  router.add(
      {.method = "POST",
       .path = "/api/workers/{id}/commands",
       .tag = "commands",
       .summary =
           "Queue an action on a worker (restart_mining, reboot, shutdown, power_cycle, "
           "power_off, power_on, power_button, set_preset, find_miner, start_mining, "
           "stop_mining, exec). reboot, shutdown, exec and the power actions need \"confirm\": "
           "true; HiveOS workers (a rigs row) go through channel hiveos, and exec "
           "(params {\"cmd\"}) only when their account's exec_enabled is on (else 403); "
           "the power actions (channel relay) need the worker's relay mapping (else 422). "
           "power_button takes params {\"ms\": 50..10000}. Send an Idempotency-Key header "
           "to make retries safe.",
       .role = Role::kOperator,
       .request_schema = {{"type", "object"},
                          {"required", {"action"}},
                          {"properties",
                           {{"action", {{"type", "string"}, {"enum", actions}}},
                            {"params", {{"type", "object"}}},
                            {"confirm", {{"type", "boolean"}}},
                            {"expires_in_seconds", {{"type", "integer"}}}}}},
       .response_schema = kCommand,
       .success_status = 201,
       .handler = [](Call& call) {
         const std::int64_t worker_id = call.id();
         JsonBody body = call.body();
         body.only({"action", "params", "confirm", "expires_in_seconds"});
         const std::string name = body.string("action", 64);
         const ActionInfo* action = find_action(name);
         if (!action) {
           throw ApiError::bad_request(
               "action: unknown action '" + sanitize_utf8(name) + "' (" + action_names() + ")",
               "action");
         }
         const bool confirmed = body.opt_bool("confirm").value_or(false);
         if (action->needs_confirm && !confirmed) {
           throw ApiError::bad_request(
               std::string(action->name) +
                   (action->relay            ? " switches the worker's power through its relay"
                    : action->name == "exec" ? " runs a shell command on the rig"
                                             : " interrupts mining") +
                   ": send \"confirm\": true to queue it",
               "confirm");
         }
         json params = check_params(*action, body);
         const std::int64_t expires_in =
             body.opt_integer("expires_in_seconds", 10, 86'400).value_or(1800);
         std::string key;
         if (call.request().has_header("Idempotency-Key")) {
           key = call.request().get_header_value("Idempotency-Key");
           if (key.empty() || key.size() > 100 ||
               !std::all_of(key.begin(), key.end(), [](char c) { return c > 32 && c < 127; })) {
             throw ApiError::bad_request(
                 "Idempotency-Key: 1..100 printable ASCII characters without spaces",
                 "Idempotency-Key");
           }
         }
         call.audit_target("worker:" + std::to_string(worker_id));
         call.audit_detail("action", name);
         json out;
         int status = 201;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto w = tx.exec_params(
               "SELECT w.kind, m.model_alias, mo.presets::text, w.name, r.worker_id IS NOT NULL, "
               "a.exec_enabled, a.name FROM workers w "
               "LEFT JOIN miners m ON m.worker_id = w.id "
               "LEFT JOIN models mo ON mo.alias = m.model_alias "
               "LEFT JOIN rigs r ON r.worker_id = w.id "
               "LEFT JOIN hiveos_accounts a ON a.id = r.account_id WHERE w.id = $1",
               worker_id);
           if (w.empty())
             throw ApiError::not_found("worker " + std::to_string(worker_id) + " not found");
           const std::string kind = w[0][0].as<std::string>();
           const bool hiveos_worker = w[0][4].as<bool>();
           auto channel = channel_of(*action, kind, hiveos_worker);
           if (!channel) {
             throw ApiError::unprocessable(
                 hiveos_worker ? "HiveOS cannot " + name +
                                     " (reboot, shutdown, restart_mining, stop_mining, "
                                     "start_mining, exec; power actions through a relay)"
                               : "a worker of kind '" + kind + "' cannot " + name,
                 "action");
           }
           if (action->name == "exec") {
             if (!hiveos_worker) {
               throw ApiError::unprocessable(
                   "worker " + w[0][3].as<std::string>() + " is not synced from a HiveOS account",
                   "action");
             }
             if (!w[0][5].as<bool>()) {
               throw ApiError::forbidden("exec is not enabled for HiveOS account " +
                                         w[0][6].as<std::string>() +
                                         " (an admin can turn exec_enabled on)");
             }
           }
           if (action->name == "set_preset" && !w[0][2].is_null()) {
             json presets = json::parse(w[0][2].as<std::string>(), nullptr, false);
             if (presets.is_array() && !presets.empty()) {
               bool known = false;
               std::string names;
               for (const auto& p : presets) {
                 if (!p.is_object() || !p.contains("name") || !p["name"].is_string()) continue;
                 known = known || p["name"] == params["preset"];
                 names += (names.empty() ? "" : ", ") + p["name"].get<std::string>();
               }
               if (!known) {
                 throw ApiError::unprocessable("params.preset: not a preset of model " +
                                                   w[0][1].as<std::string>("?") + " (" + names +
                                                   ")",
                                               "params.preset");
               }
             }
           }
           const std::string idempotency =
               key.empty() ? "user:" + auth::random_token(16)
                           : "user:" + std::to_string(call.who().user_id) + ":" + key;
           if (!key.empty()) {
             auto existing =
                 tx.exec_params(kCommandSelect + "WHERE c.idempotency_key = $1", idempotency);
             if (!existing.empty()) {
               out = command_json(existing[0]);
               if (out["worker_id"] != worker_id || out["action"] != name ||
                   out["params"] != params) {
                 throw ApiError::conflict("Idempotency-Key was used for a different command",
                                          "Idempotency-Key");
               }
               status = 200;
               return;
             }
           }
           if (action->relay &&
               tx.exec_params("SELECT 1 FROM relay_mappings WHERE worker_id = $1", worker_id)
                   .empty()) {
             throw ApiError::unprocessable(
                 "worker " + w[0][3].as<std::string>() +
                     " has no relay mapping: map it to a relay controller channel first",
                 "action");
           }
           auto id =
               tx.exec_params1(
                     "INSERT INTO commands (worker_id, action, params, channel, origin, "
                     "requested_by, "
                     "idempotency_key, expires_at) VALUES ($1, $2, $3::jsonb, $4, 'user', $5, $6, "
                     "now() + $7 * interval '1 second') RETURNING id",
                     worker_id, name, params.dump(), *channel, call.who().name, idempotency,
                     expires_in)[0]
                   .as<std::int64_t>();
           out = command_json(tx.exec_params(kCommandSelect + "WHERE c.id = $1", id)[0]);
         });
         return Reply{.status = status, .body = out};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/commands",
       .tag = "commands",
       .summary = "Commands, newest first, with their state",
       .response_schema = page_schema(kCommand),
       .query_parameters = {query_param("worker_id", "integer", "only this worker"),
                            query_param(
                                "state", "string",
                                "queued, claimed, sent, succeeded, failed, expired, skipped"),
                            query_param("origin", "string", "rule, user, planner or system"),
                            query_param("limit", "integer", "1..1000 (default 100)"),
                            query_param("after", "integer", "cursor from the previous page")},
       .cache_ttl = std::chrono::milliseconds(1000),
       .handler = [](Call& call) {
         auto worker = call.query_opt_int("worker_id", 1, INT64_MAX);
         auto state = call.query("state", 16);
         static const std::vector<std::string> kStates{"queued", "claimed", "sent",   "succeeded",
                                                       "failed", "expired", "skipped"};
         if (state && std::find(kStates.begin(), kStates.end(), *state) == kStates.end()) {
           throw ApiError::bad_request(
               "query parameter 'state' must be queued, claimed, sent, succeeded, failed, expired "
               "or skipped",
               "state");
         }
         auto origin = call.query("origin", 16);
         if (origin && *origin != "rule" && *origin != "user" && *origin != "planner" &&
             *origin != "system") {
           throw ApiError::bad_request(
               "query parameter 'origin' must be rule, user, planner or system", "origin");
         }
         const auto limit = call.query_int("limit", 100, 1, 1000);
         const auto after = call.query_opt_int("after", 1, INT64_MAX);
         json page;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto rows = tx.exec_params(kCommandSelect +
                                          "WHERE ($1::bigint IS NULL OR c.id < $1)"
                                          "  AND ($2::bigint IS NULL OR c.worker_id = $2)"
                                          "  AND ($3::text IS NULL OR c.state = $3)"
                                          "  AND ($4::text IS NULL OR c.origin = $4)"
                                          " ORDER BY c.id DESC LIMIT $5",
                                      after, worker, state, origin, limit + 1);
           page = keyset_page(rows, limit, command_json);
         });
         return Reply{.body = page};
       }});

  router.add({.method = "GET",
              .path = "/api/commands/{id}",
              .tag = "commands",
              .summary = "One command",
              .response_schema = kCommand,
              .handler = [](Call& call) {
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  auto rows = tx.exec_params(kCommandSelect + "WHERE c.id = $1", call.id());
                  if (rows.empty())
                    throw ApiError::not_found("command " + std::to_string(call.id()) +
                                              " not found");
                  out = command_json(rows[0]);
                });
                return Reply{.body = out};
              }});

  router.add({.method = "POST",
              .path = "/api/commands/{id}/cancel",
              .tag = "commands",
              .summary = "Cancel a command that has not been carried out yet (queued or claimed)",
              .role = Role::kOperator,
              .response_schema = kCommand,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                call.audit_target("command:" + std::to_string(id));
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  auto rows =
                      tx.exec_params("SELECT state FROM commands WHERE id = $1 FOR UPDATE", id);
                  if (rows.empty())
                    throw ApiError::not_found("command " + std::to_string(id) + " not found");
                  const std::string state = rows[0][0].as<std::string>();
                  if (state != "queued" && state != "claimed") {
                    throw ApiError::conflict("command " + std::to_string(id) + " is " + state +
                                             "; only queued or "
                                             "claimed commands can be cancelled");
                  }
                  tx.exec_params(
                      "UPDATE commands SET state = 'expired', finished_at = now(), "
                      "last_error = 'cancelled by ' || $2 WHERE id = $1",
                      id, call.who().name);
                  out = command_json(tx.exec_params(kCommandSelect + "WHERE c.id = $1", id)[0]);
                });
                return Reply{.body = out};
              }});
}

}  // namespace fleet::gateway
