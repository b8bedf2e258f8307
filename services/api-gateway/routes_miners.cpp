// Seed 003's API: /api/miners, /api/models, /api/statuses, chip telemetry and anomalies.
#include <regex>

#include <pqxx/pqxx>

#include "core/strings.h"
#include "json_writer.h"
#include "miner_list_model.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

constexpr const char* kIso = kIsoFormat;

// One row per miner with its latest status, from the narrow miner_list row the triggers of
// sql/0048 keep (issue 15.9): a page is one index range scan.
const std::string kMinerSelect = std::string(R"sql(
SELECT l.worker_id, l.name, l.mac, host(l.ip), l.ip IS NOT NULL, l.status, l.managed, l.model_alias,
       l.model_name, l.fw_version, to_char(l.last_seen_at AT TIME ZONE 'UTC', )sql") +
                                 kIso + R"sql(),
       l.api_key_state, l.last_poll_error, l.unlock_password_set,
       l.status_id, to_char(l.observed_at AT TIME ZONE 'UTC', )sql" +
                                 kIso + R"sql(), l.miner_state, l.hashrate_ths,
       l.hashrate_ratio, l.power_w, l.efficiency_jth, l.chip_temp_max, l.pcb_temp_max, l.fan_rpm_min,
       l.chips_red, l.chips_orange
  FROM miner_list l
)sql";

json miner_json(const pqxx::row& r) {
  json m = {
      {"id", r[0].as<std::int64_t>()},
      {"name", r[1].as<std::string>()},
      {"mac", r[2].as<std::string>()},
      {"ip", opt_text(r[3])},
      {"online", r[4].as<bool>()},
      {"status", r[5].as<std::string>()},
      {"managed", r[6].as<bool>()},
      {"model_alias", opt_text(r[7])},
      {"model_name", opt_text(r[8])},
      {"fw_version", opt_text(r[9])},
      {"last_seen_at", opt_text(r[10])},
      {"api_key_state", r[11].as<std::string>()},
      {"last_poll_error", r[12].is_null() ? json() : json(redact_secrets(r[12].as<std::string>()))},
      {"unlock_password_set", r[13].as<bool>()}};
  if (r[14].is_null()) {
    m["latest"] = nullptr;
  } else {
    m["latest"] = {
        {"status_id", r[14].as<std::int64_t>()}, {"observed_at", r[15].as<std::string>()},
        {"miner_state", opt_text(r[16])},        {"hashrate_ths", opt_double(r[17])},
        {"hashrate_ratio", opt_double(r[18])},   {"power_w", opt_double(r[19])},
        {"efficiency_jth", opt_double(r[20])},   {"chip_temp_max", opt_double(r[21])},
        {"pcb_temp_max", opt_double(r[22])},     {"fan_rpm_min", opt_int(r[23])},
        {"chips_red", opt_int(r[24])},           {"chips_orange", opt_int(r[25])}};
  }
  return m;
}

json one_miner(pqxx::transaction_base& tx, std::int64_t id) {
  auto rows = tx.exec_params(kMinerSelect + " WHERE l.worker_id = $1", id);
  if (rows.empty()) throw ApiError::not_found("miner " + std::to_string(id) + " not found");
  return miner_json(rows[0]);
}

// A viewer sees which pool a miner mines on, not the account it mines for: the pool user (often
// "account.worker") is dropped and any user:password@ in the pool URL removed.
void redact_pool_credentials(json& status) {
  if (status.contains("pool_user") && !status["pool_user"].is_null()) status["pool_user"] = "***";
  if (status.contains("pool_url") && status["pool_url"].is_string()) {
    std::string url = status["pool_url"];
    const auto scheme = url.find("://");
    const auto start = scheme == std::string::npos ? 0 : scheme + 3;
    const auto at = url.find('@', start);
    const auto slash = url.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash))
      url.erase(start, at + 1 - start);
    status["pool_url"] = url;
  }
}

const json kMiner = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"mac", {{"type", "string"}}},
      {"ip", {{"type", "string"}, {"nullable", true}}},
      {"online", {{"type", "boolean"}}},
      {"managed", {{"type", "boolean"}}},
      {"model_alias", {{"type", "string"}, {"nullable", true}}},
      {"latest", {{"type", "object"}, {"nullable", true}}},
      {"relay",
       {{"type", "object"}, {"nullable", true}, {"description", "relay mapping (detail only)"}}}}}};

}  // namespace

void add_miner_routes(Router& router, const std::optional<secrets::SecretBox>& box,
                      const MinerListModel* in_memory) {
  // The dashboard's hot query, prepared once per connection.
  router.prepare("miners_page",
                 "SELECT worker_id, doc, last_poll_error FROM miner_list l"
                 " WHERE l.worker_id > $1 AND ($2::boolean IS NULL OR l.managed = $2)"
                 " AND ($3::boolean IS NULL OR (l.ip IS NOT NULL) = $3)"
                 " AND ($4::text IS NULL OR l.model_alias = $4)"
                 " AND ($5::text IS NULL OR l.name ILIKE $5 OR l.mac ILIKE $5"
                 " OR host(l.ip) ILIKE $5) ORDER BY l.worker_id LIMIT $6");
  router.add(
      {.method = "GET",
       .path = "/api/miners",
       .tag = "miners",
       .summary = "Miners with their latest status summary, managed flag, IP (null = offline) and "
                  "last seen",
       .response_schema = page_schema(kMiner),
       .query_parameters = {query_param("managed", "boolean",
                                        "only managed (true) or unmanaged (false)"),
                            query_param("online", "boolean",
                                        "only miners with (true) or without (false) an IP"),
                            query_param("model", "string", "model alias"),
                            query_param("q", "string", "MAC, IP or name contains"),
                            query_param("limit", "integer", "1..1000 (default 100)"),
                            query_param("after", "integer", "cursor from the previous page")},
       .cache_ttl = std::chrono::milliseconds(1000),
       .uncached_with = "after",
       .handler = [in_memory](Call& call) {
         auto managed = call.query_bool("managed");
         auto online = call.query_bool("online");
         auto model = call.query("model", 64);
         auto q = call.query("q", 100);
         const auto limit = call.query_int("limit", 100, 1, 1000);
         const auto after = call.query_int("after", 0, 0, INT64_MAX);
         // From the gateway's copy of miner_list when it is current (miner_list_model.h).
         if (in_memory != nullptr && !q) {
           auto page = in_memory->page(after, limit, {managed, online, model});
           if (page) return Reply{.raw = std::move(*page)};
         }
         std::string page;
         // One statement: no BEGIN/COMMIT round trips (Session::autocommit).
         call.db().autocommit([&](pqxx::transaction_base& tx) {
           auto rows = tx.exec_prepared(
               "miners_page", after, managed, online, model,
               q ? std::optional<std::string>(like_pattern(*q)) : std::nullopt, limit + 1);
           page = keyset_page_text(
               rows, limit, 64,
               [](JsonWriter& w, const pqxx::row& r) {
                 std::optional<std::string_view> error;
                 if (!r[2].is_null()) error = std::string_view(r[2].c_str(), r[2].size());
                 write_miner_item(w, std::string_view(r[1].c_str(), r[1].size()), error);
               },
               1);  // sized by the stored documents
         });
         return Reply{.raw = std::move(page)};
       }});

  router.add({.method = "GET",
              .path = "/api/miners/{id}",
              .tag = "miners",
              .summary = "One miner, with its relay mapping (null when it has none)",
              .response_schema = kMiner,
              .handler = [](Call& call) {
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  out = one_miner(tx, call.id());
                  out["relay"] = relay_mapping_of(tx, call.id());
                });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "PATCH",
       .path = "/api/miners/{id}",
       .tag = "miners",
       .summary = "Set whether a miner is managed, or its unlock password (null = the default)",
       .role = Role::kOperator,
       .request_schema = {{"type", "object"},
                          {"properties",
                           {{"managed", {{"type", "boolean"}}},
                            {"unlock_password", {{"type", "string"}, {"nullable", true}}}}}},
       .response_schema = kMiner,
       .handler = [&box](Call& call) {
         const std::int64_t id = call.id();
         JsonBody body = call.body();
         body.only({"managed", "unlock_password"});
         auto managed = body.opt_bool("managed");
         const bool password_given = body.raw().contains("unlock_password");
         std::optional<std::string> password;  // sealed below, bound to the miner's MAC
         if (password_given && !body.raw()["unlock_password"].is_null()) {
           password = body.string("unlock_password", 128);
           if (!box) {
             throw ApiError(503, "unavailable",
                            "the gateway has no secrets.key (FLEET_SECRET_KEY), so it cannot store "
                            "unlock passwords");
           }
         }
         const bool sealed = password.has_value();
         call.audit_target("miner:" + std::to_string(id));
         if (managed) call.audit_detail("managed", *managed);
         if (password_given) call.audit_detail("unlock_password", sealed ? "set" : "reset");
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto miner =
               tx.exec_params("SELECT mac::text FROM miners WHERE worker_id = $1 FOR UPDATE", id);
           if (miner.empty()) {
             throw ApiError::not_found("miner " + std::to_string(id) + " not found");
           }
           std::optional<std::string> sealed_password;
           if (password) {
             sealed_password = box->seal(
                 *password,
                 secrets::miner_secret_context(miner[0][0].as<std::string>(), "unlock_password"));
           }
           if (managed)
             tx.exec_params("UPDATE workers SET managed = $2 WHERE id = $1", id, *managed);
           if (password_given) {
             // A new password invalidates the key provisioning state: discovery retries at once.
             tx.exec_params(
                 "UPDATE miners SET unlock_pass_enc = $2, provision_after = NULL, "
                 "provision_failures = 0 WHERE worker_id = $1",
                 id, sealed_password);
           }
           out = one_miner(tx, id);
         });
         return Reply{.body = out};
       }});

  router.add({.method = "POST",
              .path = "/api/miners/{id}/rescan",
              .tag = "miners",
              .summary = "Ask discovery to look at this miner again at its next cycle",
              .role = Role::kOperator,
              .success_status = 202,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                call.audit_target("miner:" + std::to_string(id));
                std::int64_t request = 0;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  if (tx.exec_params("SELECT 1 FROM miners WHERE worker_id = $1", id).empty()) {
                    throw ApiError::not_found("miner " + std::to_string(id) + " not found");
                  }
                  request = tx.exec_params1(
                                  "INSERT INTO miner_rescan_requests (worker_id, requested_by) "
                                  "VALUES ($1, $2) RETURNING id",
                                  id, "api:" + call.who().name)[0]
                                .as<std::int64_t>();
                });
                return Reply{.status = 202, .body = {{"request_id", request}}};
              }});

  router.add(
      {.method = "GET",
       .path = "/api/miners/{id}/statuses",
       .tag = "miners",
       .summary = "A miner's recent status history, newest first",
       .query_parameters = {query_param("limit", "integer", "1..500 (default 50)")},
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         const auto limit = call.query_int("limit", 50, 1, 500);
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (tx.exec_params("SELECT 1 FROM miners WHERE worker_id = $1", id).empty()) {
             throw ApiError::not_found("miner " + std::to_string(id) + " not found");
           }
           for (const auto& r : tx.exec_params(
                    std::string("SELECT id, to_char(observed_at AT TIME ZONE 'UTC', ") + kIso +
                        "), miner_state, hashrate_ths, power_w, chip_temp_max, fan_rpm_min, "
                        "efficiency_jth "
                        "FROM statuses WHERE worker_id = $1 ORDER BY observed_at DESC LIMIT $2",
                    id, limit)) {
             items.push_back({{"id", r[0].as<std::int64_t>()},
                              {"observed_at", r[1].as<std::string>()},
                              {"miner_state", opt_text(r[2])},
                              {"hashrate_ths", opt_double(r[3])},
                              {"power_w", opt_double(r[4])},
                              {"chip_temp_max", opt_double(r[5])},
                              {"fan_rpm_min", opt_int(r[6])},
                              {"efficiency_jth", opt_double(r[7])}});
           }
         });
         return Reply{.body = {{"items", items}}};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/statuses/{id}",
       .tag = "miners",
       .summary = "One status with its fans and chains",
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto rows = tx.exec_params(
               "SELECT to_jsonb(s)::text FROM statuses s WHERE id = $1 ORDER BY observed_at DESC "
               "LIMIT 1",
               id);
           if (rows.empty())
             throw ApiError::not_found("status " + std::to_string(id) + " not found");
           out = json::parse(rows[0][0].as<std::string>());
           if (!auth::allows(call.who().role, Role::kOperator)) redact_pool_credentials(out);
           const std::string at = out["observed_at"];
           json fans = json::array();
           for (const auto& f : tx.exec_params(
                    "SELECT fan_id, rpm, max_rpm, status FROM status_fans WHERE status_id = $1 "
                    "AND observed_at = $2::timestamptz ORDER BY fan_id",
                    id, at)) {
             fans.push_back({{"fan_id", f[0].as<int>()},
                             {"rpm", opt_int(f[1])},
                             {"max_rpm", opt_int(f[2])},
                             {"status", opt_text(f[3])}});
           }
           json chains = json::array();
           for (const auto& c : tx.exec_params(
                    "SELECT (to_jsonb(c) - 'status_id' - 'worker_id' - 'observed_at')::text "
                    "FROM chain_snapshots c WHERE status_id = $1 AND observed_at = $2::timestamptz "
                    "ORDER BY chain_id",
                    id, at)) {
             chains.push_back(json::parse(c[0].as<std::string>()));
           }
           out["fans"] = fans;
           out["chains"] = chains;
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/miners/{id}/chips",
       .tag = "miners",
       .summary = "The latest chip telemetry of a miner, per chain and chip (for a heat map)",
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         json out = {{"miner_id", id}, {"observed_at", nullptr}, {"chains", json::array()}};
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (tx.exec_params("SELECT 1 FROM miners WHERE worker_id = $1", id).empty()) {
             throw ApiError::not_found("miner " + std::to_string(id) + " not found");
           }
           auto latest = tx.exec_params(
               std::string(
                   "SELECT max(observed_at), to_char(max(observed_at) AT TIME ZONE 'UTC', ") +
                   kIso +
                   ") FROM chip_telemetry WHERE worker_id = $1 AND observed_at > now() - interval "
                   "'1 day'",
               id);
           if (latest[0][0].is_null()) return;
           out["observed_at"] = latest[0][1].as<std::string>();
           const std::string at = latest[0][0].as<std::string>();
           std::map<int, json> chains;
           for (const auto& t :
                tx.exec_params("SELECT chain_id, state, failure_message FROM chip_telemetry "
                               "WHERE worker_id = $1 AND observed_at = $2::timestamptz",
                               id, at)) {
             chains[t[0].as<int>()] = {{"chain_id", t[0].as<int>()},
                                       {"state", opt_text(t[1])},
                                       {"failure_message", opt_text(t[2])},
                                       {"chips", json::array()}};
           }
           for (const auto& c : tx.exec_params(
                    "SELECT chain_id, chip_id, hr, temp_c, freq_mhz, volt_mv, errs, grade, "
                    "throttled "
                    "FROM chip_samples WHERE worker_id = $1 AND observed_at = $2::timestamptz "
                    "ORDER BY chain_id, position",
                    id, at)) {
             chains[c[0].as<int>()]["chips"].push_back({{"id", c[1].as<int>()},
                                                        {"hr", opt_double(c[2])},
                                                        {"temp", opt_double(c[3])},
                                                        {"freq", opt_int(c[4])},
                                                        {"volt", opt_int(c[5])},
                                                        {"errs", opt_int(c[6])},
                                                        {"grade", c[7].as<std::string>()},
                                                        {"throttled", c[8].as<bool>()}});
           }
           for (auto& [chain_id, chain] : chains)
             out["chains"].push_back(chain);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/telemetry/anomalies",
       .tag = "miners",
       .summary =
           "Miners whose chip telemetry shows red or orange chips, throttling or dead chains",
       .cache_ttl = std::chrono::milliseconds(5000),
       .handler = [](Call& call) {
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           for (const auto& r : tx.exec(
                    std::string("SELECT w.id, w.name, host(w.ip), "
                                "max(value) FILTER (WHERE metric = 'chips_red_telemetry'), "
                                "max(value) FILTER (WHERE metric = 'chips_orange_telemetry'), "
                                "max(value) FILTER (WHERE metric = 'chips_throttled'), "
                                "max(value) FILTER (WHERE metric = 'chains_dead'), "
                                "to_char(max(observed_at) AT TIME ZONE 'UTC', ") +
                    kIso +
                    ") "
                    "FROM metrics_latest ml JOIN workers w ON w.id = ml.worker_id "
                    "WHERE ml.metric IN ('chips_red_telemetry', 'chips_orange_telemetry', "
                    "'chips_throttled', "
                    "'chains_dead') AND ml.observed_at > now() - interval '15 minutes' "
                    "GROUP BY w.id, w.name, w.ip HAVING max(value) > 0 "
                    "ORDER BY max(value) FILTER (WHERE metric = 'chains_dead') DESC NULLS LAST, "
                    "max(value) FILTER (WHERE metric = 'chips_red_telemetry') DESC NULLS LAST, "
                    "w.id LIMIT 1000")) {
             items.push_back({{"miner_id", r[0].as<std::int64_t>()},
                              {"name", r[1].as<std::string>()},
                              {"ip", opt_text(r[2])},
                              {"chips_red", opt_double(r[3])},
                              {"chips_orange", opt_double(r[4])},
                              {"chips_throttled", opt_double(r[5])},
                              {"chains_dead", opt_double(r[6])},
                              {"observed_at", r[7].as<std::string>()}});
           }
         });
         return Reply{.body = {{"items", items}}};
       }});

  router.add({.method = "GET",
              .path = "/api/models",
              .tag = "models",
              .summary = "Miner models with their presets and the chosen max_preset",
              .handler = [](Call& call) {
                json items = json::array();
                call.db().transact([&](pqxx::transaction_base& tx) {
                  for (const auto& r :
                       tx.exec("SELECT mo.alias, mo.full_name, mo.presets::text, mo.max_preset, "
                               "(SELECT count(*) FROM miners m WHERE m.model_alias = mo.alias) "
                               "FROM models mo ORDER BY mo.alias")) {
                    json presets = json::array();
                    for (const auto& p : json::parse(r[2].as<std::string>())) {
                      if (!p.is_object() || !p.contains("name")) continue;
                      presets.push_back(
                          {{"name", p["name"]},
                           {"pretty", p.value("pretty", p["name"].get<std::string>())},
                           {"status", p.value("status", "")}});
                    }
                    items.push_back({{"alias", r[0].as<std::string>()},
                                     {"full_name", r[1].as<std::string>()},
                                     {"presets", presets},
                                     {"max_preset", opt_text(r[3])},
                                     {"miners", r[4].as<long long>()}});
                  }
                });
                return Reply{.body = {{"items", items}}};
              }});

  router.add({.method = "PATCH",
              .path = "/api/models/{alias}",
              .tag = "models",
              .summary = "Choose a model's max_preset (one of its presets), or clear it with null",
              .role = Role::kOperator,
              .request_schema = {{"type", "object"},
                                 {"required", {"max_preset"}},
                                 {"properties",
                                  {{"max_preset", {{"type", "string"}, {"nullable", true}}}}}},
              .handler = [](Call& call) {
                const std::string alias = call.param();
                JsonBody body = call.body();
                body.only({"max_preset"});
                if (!body.raw().contains("max_preset"))
                  throw ApiError::bad_request("'max_preset' is required", "max_preset");
                std::optional<std::string> preset = body.opt_string("max_preset", 64);
                call.audit_target("model:" + alias);
                call.audit_detail("max_preset", preset ? json(*preset) : json());
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  auto rows = tx.exec_params(
                      "SELECT presets::text FROM models WHERE alias = $1 FOR UPDATE", alias);
                  if (rows.empty()) throw ApiError::not_found("model '" + alias + "' not found");
                  if (preset) {
                    bool known = false;
                    for (const auto& p : json::parse(rows[0][0].as<std::string>())) {
                      known = known || (p.is_object() && p.value("name", "") == *preset);
                    }
                    if (!known) {
                      throw ApiError::bad_request("'" + *preset + "' is not a preset of " + alias,
                                                  "max_preset");
                    }
                  }
                  tx.exec_params("UPDATE models SET max_preset = $2 WHERE alias = $1", alias,
                                 preset);
                  out = {{"alias", alias}, {"max_preset", preset ? json(*preset) : json()}};
                });
                return Reply{.body = out};
              }});
}

}  // namespace fleet::gateway
