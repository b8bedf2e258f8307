// What node agents call (issue 13): registration with a registration token (public: the token is
// the credential), then, with the node credential it returns (role "node", only its own id),
// heartbeats, credential rotation, and the agent command queue. Heartbeats are group-committed
// (heartbeat_batcher.h) and not audited (thousands a second); registration, rotation and command
// results are.
#include <arpa/inet.h>

#include <atomic>
#include <set>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "auth/node_credentials.h"
#include "auth/user_store.h"
#include "core/strings.h"
#include "routes.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

constexpr std::size_t kMaxAddresses = 64;
constexpr int kCommandsPerPoll = 20;
constexpr auto kCommandLease = "5 minutes";

// Spends one use of a valid token; the row's id, site, pool and labels.
constexpr const char* kSpendToken = R"sql(
UPDATE registration_tokens SET uses = uses + 1, last_used_at = now()
 WHERE token_hash = $1 AND uses < max_uses AND expires_at > now() AND revoked_at IS NULL
RETURNING id, site, pool, labels::text
)sql";

constexpr const char* kTokenState = R"sql(
SELECT revoked_at IS NOT NULL, expires_at <= now(), uses >= max_uses
  FROM registration_tokens WHERE token_hash = $1
)sql";

constexpr const char* kClaimCommands = R"sql(
WITH due AS (
  SELECT id FROM commands
   WHERE worker_id = $1 AND channel = 'agent' AND state = 'queued'
     AND not_before <= now() AND expires_at > now()
   ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED
)
UPDATE commands c
   SET state = 'sent', claimed_by = 'node-agent:' || $1, claimed_at = now(),
       attempts = c.attempts + 1, sent_at = now(), lease_expires_at = now() + $3::interval,
       held_reason = NULL, updated_at = now()
  FROM due WHERE c.id = due.id
RETURNING c.id, c.action, c.params::text, c.attempts
)sql";

constexpr const char* kFinishCommand = R"sql(
UPDATE commands
   SET state = CASE WHEN $3 THEN 'succeeded' ELSE 'failed' END, result = $4::jsonb,
       last_error = $5, finished_at = now(), updated_at = now()
 WHERE id = $2 AND worker_id = $1 AND channel = 'agent' AND state = 'sent'
RETURNING id
)sql";

// A node's facts again: which of them changed (in the order of the route's names), written only
// when one did; the worker's address follows the first address. No row: revoked (or gone).
constexpr const char* kNodeFacts = R"sql(
WITH old AS (
  SELECT n.worker_id, n.hostname, n.addresses, n.cpu_cores, n.memory_mb, n.disk_gb, n.os,
         n.kernel, n.engine, n.engine_version, n.agent_version
    FROM nodes n
   WHERE n.worker_id = $1 AND n.credential_revoked_at IS NULL
     FOR UPDATE
), diff AS (
  SELECT worker_id, hostname <> $2 AS hostname, addresses <> $3::inet[] AS addresses,
         cpu_cores <> $4 AS cpu_cores, memory_mb <> $5 AS memory_mb, disk_gb <> $6 AS disk_gb,
         os <> $7 AS os, kernel <> $8 AS kernel, engine <> $9 AS engine,
         engine_version <> $10 AS engine_version, agent_version <> $11 AS agent_version
    FROM old
), n AS (
  UPDATE nodes SET hostname = $2, addresses = $3::inet[], cpu_cores = $4, memory_mb = $5,
                   disk_gb = $6, os = $7, kernel = $8, engine = $9, engine_version = $10,
                   agent_version = $11
    FROM diff
   WHERE nodes.worker_id = diff.worker_id
     AND (diff.hostname OR diff.addresses OR diff.cpu_cores OR diff.memory_mb OR diff.disk_gb
          OR diff.os OR diff.kernel OR diff.engine OR diff.engine_version OR diff.agent_version)
), w AS (
  UPDATE workers SET ip = $12::inet
    FROM diff
   WHERE workers.id = diff.worker_id AND workers.ip IS DISTINCT FROM $12::inet
)
SELECT hostname, addresses, cpu_cores, memory_mb, disk_gb, os, kernel, engine, engine_version,
       agent_version
  FROM diff
)sql";

struct Registration {
  std::string token;
  std::string hostname;
  std::optional<std::string> machine_id;
  std::vector<std::string> addresses;
  std::int64_t cpu_cores = 0;
  std::int64_t memory_mb = 0;
  double disk_gb = 0;
  std::string os, kernel, engine, engine_version, agent_version;
};

bool valid_ip(const std::string& text) {
  unsigned char buf[16];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

// Registration's body, or with `registration` false the facts a registered node reports again
// (no token, no machine id: a node's identity does not change).
Registration parse_facts(const JsonBody& b, bool registration) {
  if (registration) {
    b.only({"token", "hostname", "machine_id", "addresses", "capacity", "os", "kernel", "engine",
            "engine_version", "agent_version"});
  } else {
    b.only({"hostname", "addresses", "capacity", "os", "kernel", "engine", "engine_version",
            "agent_version"});
  }
  Registration r;
  if (registration) r.token = b.string("token", 200);
  r.hostname = b.string("hostname", 253);
  for (char c : r.hostname) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_';
    if (!ok) {
      throw ApiError::bad_request("'hostname' may hold only letters, digits, '-', '.' and '_'",
                                  "hostname");
    }
  }
  if (registration) r.machine_id = b.opt_string("machine_id", 32);
  if (r.machine_id && (r.machine_id->size() != 32 ||
                       r.machine_id->find_first_not_of("0123456789abcdef") != std::string::npos)) {
    throw ApiError::bad_request("'machine_id' must be 32 lowercase hex digits (/etc/machine-id)",
                                "machine_id");
  }
  const json addresses = b.opt_array("addresses").value_or(json::array());
  if (addresses.size() > kMaxAddresses) {
    throw ApiError::bad_request(
        "'addresses' has more than " + std::to_string(kMaxAddresses) + " entries", "addresses");
  }
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    const std::string field = "addresses[" + std::to_string(i) + "]";
    if (!addresses[i].is_string() || addresses[i].get_ref<const std::string&>().size() > 45 ||
        !valid_ip(addresses[i].get<std::string>())) {
      throw ApiError::bad_request("'" + field + "' must be an IPv4 or IPv6 address", field);
    }
    r.addresses.push_back(addresses[i].get<std::string>());
  }
  const auto capacity = b.opt_object("capacity");
  if (!capacity) throw ApiError::bad_request("'capacity' is required", "capacity");
  JsonBody c(*capacity, "capacity.");
  c.only({"cpu_cores", "memory_mb", "disk_gb"});
  r.cpu_cores = c.integer("cpu_cores", 1, 100'000);
  r.memory_mb = c.integer("memory_mb", 1, 1'000'000'000);
  const auto disk = c.opt_number("disk_gb", 0, 1e9);
  if (!disk) throw ApiError::bad_request("'capacity.disk_gb' is required", "capacity.disk_gb");
  r.disk_gb = *disk;
  r.os = b.opt_string("os", 200, true).value_or("");
  r.kernel = b.opt_string("kernel", 200, true).value_or("");
  r.engine = b.opt_string("engine", 100, true).value_or("");
  r.engine_version = b.opt_string("engine_version", 100, true).value_or("");
  r.agent_version = b.opt_string("agent_version", 100, true).value_or("");
  return r;
}

std::string inet_array(const std::vector<std::string>& addresses) {
  std::string out = "{";
  for (const auto& a : addresses)
    out += (out.size() > 1 ? "," : "") + a;  // validated addresses: no quoting needed
  return out + "}";
}

// The worker's name: the hostname, or "<hostname>-2", "-3"... when taken.
std::string free_name(pqxx::transaction_base& tx, const std::string& hostname) {
  const std::string base = hostname.substr(0, 190);
  std::set<std::string> taken;
  for (const auto& row : tx.exec_params(
           "SELECT name FROM workers WHERE name = $1 OR left(name, length($1) + 1) = $1 || '-'",
           base)) {
    taken.insert(row[0].as<std::string>());
  }
  if (!taken.contains(base)) return base;
  for (int n = 2;; ++n) {
    std::string candidate = base + "-" + std::to_string(n);
    if (!taken.contains(candidate)) return candidate;
  }
}

std::string token_refusal(pqxx::transaction_base& tx, const std::string& hash) {
  const auto rows = tx.exec_params(kTokenState, hash);
  if (rows.empty()) return "unknown registration token";
  if (rows[0][0].as<bool>()) return "registration token revoked";
  if (rows[0][1].as<bool>()) return "registration token expired";
  if (rows[0][2].as<bool>()) return "registration token used up";
  return "registration token not accepted";
}

// At most one log line a second for refused heartbeats (thousands of nodes may send bad ones).
bool log_allowed() {
  static std::atomic<std::int64_t> last{0};
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count() +
                           1;  // never 0, so the first call logs
  std::int64_t prev = last.load();
  return prev != now && last.compare_exchange_strong(prev, now);
}

json facts_schema() {
  return {{"type", "object"},
          {"required", {"hostname", "capacity"}},
          {"properties",
           {{"hostname", {{"type", "string"}, {"maxLength", 253}}},
            {"addresses", {{"type", "array"}, {"maxItems", 64}, {"items", {{"type", "string"}}}}},
            {"capacity",
             {{"type", "object"},
              {"properties",
               {{"cpu_cores", {{"type", "integer"}}},
                {"memory_mb", {{"type", "integer"}}},
                {"disk_gb", {{"type", "number"}}}}}}},
            {"os", {{"type", "string"}}},
            {"kernel", {{"type", "string"}}},
            {"engine", {{"type", "string"}}},
            {"engine_version", {{"type", "string"}}},
            {"agent_version", {{"type", "string"}}}}}};
}

json registration_schema() {
  json schema = facts_schema();
  schema["required"] = {"token", "hostname", "capacity"};
  schema["properties"]["token"] = {{"type", "string"},
                                   {"description", "fwr_... registration token"}};
  schema["properties"]["machine_id"] = {{"type", "string"}, {"pattern", "^[0-9a-f]{32}$"}};
  return schema;
}

json heartbeat_schema() {
  const json percent = {{"type", "number"}, {"minimum", 0}, {"maximum", 100}};
  return {{"type", "object"},
          {"required",
           {"seq", "sent_at", "cpu_percent", "memory_percent", "disk_percent", "containers",
            "containers_running"}},
          {"properties",
           {{"seq", {{"type", "integer"}, {"minimum", 0}}},
            {"sent_at", {{"type", "string"}, {"format", "date-time"}}},
            {"cpu_percent", percent},
            {"memory_percent", percent},
            {"disk_percent", percent},
            {"containers", {{"type", "integer"}, {"minimum", 0}}},
            {"containers_running", {{"type", "integer"}, {"minimum", 0}}},
            {"container_list",
             {{"type", "array"},
              {"maxItems", 500},
              {"items",
               {{"type", "object"},
                {"properties",
                 {{"id", {{"type", "string"}}},
                  {"name", {{"type", "string"}}},
                  {"image", {{"type", "string"}}},
                  {"state", {{"type", "string"}}},
                  {"status", {{"type", "string"}}},
                  {"labels", {{"type", "object"}}}}}}}}}}}};
}

}  // namespace

void add_node_agent_routes(Router& router, Authenticator& authenticator, HeartbeatBatcher& batcher,
                           const NodeIngestOptions& options) {
  const long long heartbeat_s = options.heartbeat_interval.count();
  const long long poll_s = options.command_poll.count();

  router.add(
      {.method = "POST",
       .path = "/api/nodes/register",
       .tag = "nodes",
       .summary = "Register a container host node with a registration token; returns its "
                  "credential (shown once). The same machine_id again is the same node with a "
                  "new credential.",
       .role = std::nullopt,
       .request_schema = registration_schema(),
       .response_schema = {{"type", "object"},
                           {"properties",
                            {{"node_id", {{"type", "integer"}}},
                             {"name", {{"type", "string"}}},
                             {"credential", {{"type", "string"}}},
                             {"heartbeat_interval_s", {{"type", "integer"}}},
                             {"command_poll_s", {{"type", "integer"}}}}}},
       .success_status = 201,
       .handler = [&authenticator, heartbeat_s, poll_s](Call& call) -> Reply {
         const Registration r = parse_facts(call.body(), true);
         const auto token_id = auth::registration_token_id(r.token);
         if (!token_id) {
           spdlog::warn("node registration from {} refused: malformed registration token",
                        call.client());
           throw ApiError::unauthenticated("malformed registration token");
         }
         const std::string token_hash = auth::credential_hash(r.token);
         struct Done {
           std::int64_t node_id = 0;
           std::string name;
           std::string credential;
           bool again = false;
         };
         std::string refusal;
         const Done done = call.db().transact([&](pqxx::transaction_base& tx) -> Done {
           const auto spent = tx.exec_params(kSpendToken, token_hash);
           if (spent.empty()) {
             refusal = token_refusal(tx, token_hash);
             return {};
           }
           const std::int64_t token_row = spent[0][0].as<std::int64_t>();
           const std::optional<std::string> site =
               spent[0][1].is_null() ? std::nullopt : std::optional(spent[0][1].as<std::string>());
           const std::string pool = spent[0][2].as<std::string>();
           const std::string labels = spent[0][3].as<std::string>();
           const std::optional<std::string> ip =
               r.addresses.empty() ? std::nullopt : std::optional(r.addresses.front());
           Done d;
           if (r.machine_id) {
             const auto known = tx.exec_params(
                 "SELECT n.worker_id, w.name FROM nodes n JOIN workers w ON w.id = n.worker_id "
                 "WHERE n.machine_id = $1 FOR UPDATE OF n, w",
                 *r.machine_id);
             if (!known.empty()) {
               d.node_id = known[0][0].as<std::int64_t>();
               d.name = known[0][1].as<std::string>();
               d.again = true;
             }
           }
           if (!d.again) {
             d.name = free_name(tx, r.hostname);
             d.node_id = tx.exec_params1(
                               "INSERT INTO workers (kind, name, site, ip, status, status_reason, "
                               "labels, managed) VALUES ('node', $1, $2, $3::inet, 'pending', "
                               "'registered', $4::jsonb, true) RETURNING id",
                               d.name, site, ip, labels)[0]
                             .as<std::int64_t>();
           }
           const auto credential = auth::generate_node_credential(d.node_id);
           d.credential = credential.credential;
           if (d.again) {
             // The old credential stops working (the trigger tells every replica).
             tx.exec_params(
                 "UPDATE nodes SET hostname = $2, addresses = $3::inet[], cpu_cores = $4, "
                 "memory_mb = $5, disk_gb = $6, os = $7, kernel = $8, engine = $9, "
                 "engine_version = $10, agent_version = $11, credential_hash = $12, "
                 "previous_credential_hash = NULL, previous_valid_until = NULL, "
                 "credential_rotated_at = now(), credential_revoked_at = NULL, "
                 "registration_token_id = $13 WHERE worker_id = $1",
                 d.node_id, r.hostname, inet_array(r.addresses), r.cpu_cores, r.memory_mb,
                 r.disk_gb, r.os, r.kernel, r.engine, r.engine_version, r.agent_version,
                 credential.hash, token_row);
             tx.exec_params(
                 "UPDATE workers SET ip = $2::inet, status = CASE WHEN status = 'removed' THEN "
                 "'pending' ELSE status END, status_reason = CASE WHEN status = 'removed' THEN "
                 "'registered again' ELSE status_reason END WHERE id = $1",
                 d.node_id, ip);
           } else {
             tx.exec_params(
                 "INSERT INTO nodes (worker_id, hostname, machine_id, addresses, pool, cpu_cores, "
                 "memory_mb, disk_gb, os, kernel, engine, engine_version, agent_version, "
                 "credential_hash, registration_token_id) VALUES ($1, $2, $3, $4::inet[], $5, $6, "
                 "$7, $8, $9, $10, $11, $12, $13, $14, $15)",
                 d.node_id, r.hostname, r.machine_id, inet_array(r.addresses), pool, r.cpu_cores,
                 r.memory_mb, r.disk_gb, r.os, r.kernel, r.engine, r.engine_version,
                 r.agent_version, credential.hash, token_row);
           }
           auth::audit(tx, "node-registration (token " + *token_id + ")", std::nullopt,
                       std::nullopt, "POST /api/nodes/register",
                       "node:" + std::to_string(d.node_id), 201, call.client(),
                       json{{"hostname", sanitize_utf8(r.hostname)},
                            {"token_id", *token_id},
                            {"registered_again", d.again}}
                           .dump());
           return d;
         });
         if (!refusal.empty()) {
           spdlog::warn("node registration from {} refused: {} (token {})", call.client(), refusal,
                        *token_id);
           throw ApiError::unauthenticated(refusal);
         }
         authenticator.forget_node(done.node_id);
         spdlog::info("node {} ({}) {} with token {}", done.node_id, done.name,
                      done.again ? "registered again" : "registered", *token_id);
         return {.body = {{"node_id", done.node_id},
                          {"name", done.name},
                          {"credential", done.credential},
                          {"heartbeat_interval_s", heartbeat_s},
                          {"command_poll_s", poll_s}}};
       }});

  router.add(
      {.method = "POST",
       .path = "/api/nodes/{id}/heartbeat",
       .tag = "nodes",
       .summary = "A node's heartbeat: load, containers. Answered after it is stored. Not audited.",
       .role = Role::kNode,
       .request_schema = heartbeat_schema(),
       .response_schema = {{"type", "object"},
                           {"properties",
                            {{"received_at", {{"type", "string"}, {"format", "date-time"}}},
                             {"heartbeat_interval_s", {{"type", "integer"}}},
                             {"commands_pending", {{"type", "integer"}}}}}},
       // Answered once its batch commits, without a handler thread waiting for it.
       .deferred_handler =
           [&authenticator, &batcher, &options, heartbeat_s](Call& call, Later later) {
             const std::int64_t id = call.id();
             Heartbeat h;
             try {
               h = parse_heartbeat(call.request().body, id, Clock::real().wall_now(),
                                   options.max_clock_skew);
             } catch (const ApiError& e) {
               if (log_allowed())
                 spdlog::warn("node {}: heartbeat refused: {}", id, sanitize_utf8(e.what()));
               throw;
             }
             if (h.clock_ahead && log_allowed()) {
               spdlog::warn(
                   "node {}: heartbeat sent_at is more than {} s ahead of this gateway's clock; "
                   "stored "
                   "the gateway's time instead (is the node's clock wrong?)",
                   id, options.max_clock_skew.count());
             }
             batcher.submit(std::move(h), [&authenticator, heartbeat_s, id,
                                           later = std::move(later)](HeartbeatOutcome out) {
               later([&]() -> Reply {
                 switch (out.kind) {
                   case HeartbeatOutcome::Kind::kStored:
                     return {.body = {{"received_at", out.received_at},
                                      {"heartbeat_interval_s", heartbeat_s},
                                      {"commands_pending", out.commands_pending}}};
                   case HeartbeatOutcome::Kind::kRevoked:
                     authenticator.forget_node(id);
                     throw ApiError::unauthenticated("node credential revoked");
                   case HeartbeatOutcome::Kind::kBusy:
                     throw ApiError(503, "busy", "too many heartbeats waiting; retry shortly")
                         .with_retry_after(1);
                   case HeartbeatOutcome::Kind::kFailed:
                     break;
                 }
                 throw ApiError(503, "unavailable",
                                "the heartbeat could not be stored; retry shortly")
                     .with_retry_after(1);
               });
             });
           },
       .audited = false});

  router.add(
      {.method = "PUT",
       .path = "/api/nodes/{id}/facts",
       .tag = "nodes",
       .summary = "A registered node's host facts again (addresses, capacity, OS, kernel, "
                  "engine and agent versions): sent by the agent at start and when they change. "
                  "The worker's address follows the first address.",
       .role = Role::kNode,
       .request_schema = facts_schema(),
       .response_schema = {{"type", "object"},
                           {"properties",
                            {{"changed", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}},
       .handler = [](Call& call) -> Reply {
         const std::int64_t id = call.id();
         call.audit_target("node:" + std::to_string(id));
         const Registration r = parse_facts(call.body(), false);
         const std::optional<std::string> ip =
             r.addresses.empty() ? std::nullopt : std::optional(r.addresses.front());
         const auto changed = call.db().transact([&](pqxx::transaction_base& tx) {
           json names = json::array();
           const auto rows = tx.exec_params(kNodeFacts, id, r.hostname, inet_array(r.addresses),
                                            r.cpu_cores, r.memory_mb, r.disk_gb, r.os, r.kernel,
                                            r.engine, r.engine_version, r.agent_version, ip);
           if (rows.empty()) throw ApiError::unauthenticated("node credential revoked");
           static constexpr const char* kNames[] = {
               "hostname", "addresses", "cpu_cores", "memory_mb",      "disk_gb",
               "os",       "kernel",    "engine",    "engine_version", "agent_version"};
           for (std::size_t i = 0; i < std::size(kNames); ++i) {
             if (rows[0][static_cast<int>(i)].as<bool>()) names.push_back(kNames[i]);
           }
           return names;
         });
         call.audit_detail("changed", changed);
         if (!changed.empty()) {
           spdlog::info("node {}: host facts changed ({})", id, sanitize_utf8(changed.dump()));
         }
         return {.body = {{"changed", changed}}};
       }});

  router.add(
      {.method = "POST",
       .path = "/api/nodes/{id}/credential/rotate",
       .tag = "nodes",
       .summary = "A new credential for this node (shown once); the previous one stays valid for "
                  "5 more minutes.",
       .role = Role::kNode,
       .response_schema = {{"type", "object"},
                           {"properties", {{"credential", {{"type", "string"}}}}}},
       .handler = [&authenticator](Call& call) -> Reply {
         const std::int64_t id = call.id();
         call.audit_target("node:" + std::to_string(id));
         const auto fresh = auth::generate_node_credential(id);
         const bool rotated = call.db().transact([&](pqxx::transaction_base& tx) {
           return !tx.exec_params(
                         "UPDATE nodes SET previous_credential_hash = credential_hash, "
                         "previous_valid_until = now() + interval '5 minutes', "
                         "credential_hash = $2, credential_rotated_at = now() "
                         "WHERE worker_id = $1 AND credential_revoked_at IS NULL RETURNING 1",
                         id, fresh.hash)
                       .empty();
         });
         authenticator.forget_node(id);
         if (!rotated) throw ApiError::unauthenticated("node credential revoked");
         return {.body = {{"credential", fresh.credential}}};
       }});

  router.add({.method = "GET",
              .path = "/api/nodes/{id}/commands",
              .tag = "nodes",
              .summary = "Claims this node's due agent commands (queued -> sent, lease 5 min).",
              .role = Role::kNode,
              .response_schema = {{"type", "object"},
                                  {"properties",
                                   {{"commands",
                                     {{"type", "array"},
                                      {"items",
                                       {{"type", "object"},
                                        {"properties",
                                         {{"id", {{"type", "integer"}}},
                                          {"action", {{"type", "string"}}},
                                          {"params", {{"type", "object"}}},
                                          {"attempts", {{"type", "integer"}}}}}}}}}}}},
              .handler = [](Call& call) -> Reply {
                const std::int64_t id = call.id();
                json commands = json::array();
                call.db().transact([&](pqxx::transaction_base& tx) {
                  for (const auto& row : tx.exec_params(kClaimCommands, id, kCommandsPerPoll,
                                                        std::string(kCommandLease))) {
                    commands.push_back({{"id", row[0].as<std::int64_t>()},
                                        {"action", row[1].as<std::string>()},
                                        {"params", json::parse(row[2].as<std::string>())},
                                        {"attempts", row[3].as<std::int64_t>()}});
                  }
                });
                std::sort(commands.begin(), commands.end(),
                          [](const json& a, const json& b) { return a["id"] < b["id"]; });
                return {.body = {{"commands", commands}}};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/nodes/{id}/commands/{command_id}/result",
       .tag = "nodes",
       .summary = "The outcome of a command this node claimed: sent -> succeeded or failed.",
       .role = Role::kNode,
       .request_schema = {{"type", "object"},
                          {"required", {"ok"}},
                          {"properties",
                           {{"ok", {{"type", "boolean"}}},
                            {"result", {{"type", "object"}}},
                            {"error", {{"type", "string"}, {"maxLength", 2000}}}}}},
       .handler = [](Call& call) -> Reply {
         const std::int64_t id = call.id(0);
         const std::int64_t command = call.id(1);
         call.audit_target("command:" + std::to_string(command));
         const JsonBody b = call.body();
         b.only({"ok", "result", "error"});
         const auto ok = b.opt_bool("ok");
         if (!ok) throw ApiError::bad_request("'ok' is required", "ok");
         const json result = b.opt_object("result").value_or(json::object());
         const auto error = b.opt_string("error", 2000, true);
         call.audit_detail("ok", *ok);
         const std::optional<std::string> state =
             call.db().transact([&](pqxx::transaction_base& tx) -> std::optional<std::string> {
               if (!tx.exec_params(kFinishCommand, id, command, *ok, dump(result), error).empty())
                 return std::nullopt;
               const auto rows = tx.exec_params(
                   "SELECT state FROM commands WHERE id = $2 AND worker_id = $1 AND "
                   "channel = 'agent'",
                   id, command);
               return rows.empty() ? std::string() : rows[0][0].as<std::string>();
             });
         if (state && state->empty()) throw ApiError::not_found("no such command for this node");
         if (state) throw ApiError::conflict("the command is " + *state + ", not sent");
         return {.body = {{"id", command}, {"state", *ok ? "succeeded" : "failed"}}};
       }});
}

}  // namespace fleet::gateway
