// HiveOS workers, the reading side (issue 11, sql/0046): the list of rigs (GPU rigs and
// HiveOS-managed ASICs) with what a fleet table needs about each — status, farm, account, GPUs,
// the latest hashrate / temperature / power and HiveOS's problems — and totals for the cards
// above it. The detail of one rig is in GET /api/workers/{id} ("rig"); accounts are in
// routes_hiveos.cpp.
#include <pqxx/pqxx>

#include "core/strings.h"
#include "routes.h"
#include "rows.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;

// The latest values of these metrics ride along with each row (one index lookup per metric).
constexpr const char* kRigMetrics =
    "'hashrate', 'power', 'temperature', 'gpu_temp_max', 'gpus_online', 'gpus_offline', "
    "'fan_percent_max', 'problems', 'stats_age'";

const std::string kRigColumns =
    "w.id, w.name, w.kind, w.status, w.status_reason, " + iso_sql("w.status_since") +
    ", w.site, w.farm_id, w.farm_name, r.account_id, a.name, a.state, r.platform, "
    "r.hiveos_worker_id, "
    "r.hiveos_farm_id, jsonb_array_length(r.gpus), jsonb_array_length(r.boards), "
    "array_to_json(r.problems)::text, r.online, " +
    iso_sql("r.stats_time") + ", r.stale, " + iso_sql("w.last_seen_at") + ", " +
    iso_sql("r.removed_at") + ", host(w.ip), " +
    "(SELECT coalesce(jsonb_object_agg(m.metric, m.value), '{}'::jsonb) FROM metrics_latest m "
    "  WHERE m.worker_id = w.id AND m.metric IN (" +
    kRigMetrics + "))::text";

const std::string kRigFrom =
    " FROM rigs r JOIN workers w ON w.id = r.worker_id"
    " JOIN hiveos_accounts a ON a.id = r.account_id ";  // the farm's name is w.farm_name

json rig_json(const pqxx::row& r) {
  return {
      {"id", r[0].as<std::int64_t>()},
      {"name", r[1].as<std::string>()},
      {"kind", r[2].as<std::string>()},
      {"status", r[3].as<std::string>()},
      {"status_reason", opt_text(r[4])},
      {"status_since", opt_text(r[5])},
      {"site", opt_text(r[6])},
      {"farm",
       r[7].is_null() ? json() : json{{"id", r[7].as<std::int64_t>()}, {"name", opt_text(r[8])}}},
      {"account",
       {{"id", r[9].as<std::int64_t>()},
        {"name", r[10].as<std::string>()},
        {"state", r[11].as<std::string>()}}},
      {"platform", r[12].as<int>()},
      {"hiveos_worker_id", r[13].as<std::int64_t>()},
      {"hiveos_farm_id", r[14].as<std::int64_t>()},
      {"gpus", r[15].as<std::int64_t>()},
      {"boards", r[16].as<std::int64_t>()},
      {"problems", json::parse(r[17].as<std::string>())},
      {"online", r[18].is_null() ? json() : json(r[18].as<bool>())},
      {"stats_time", opt_text(r[19])},
      {"stale", r[20].as<bool>()},
      {"last_seen_at", opt_text(r[21])},
      {"removed_at", opt_text(r[22])},
      {"ip", opt_text(r[23])},
      {"metrics", json::parse(r[24].as<std::string>())}};
}

const json kRig = {
    {"type", "object"},
    {"description",
     "A HiveOS worker: status, farm, account (with its sync state), GPU and board counts, "
     "HiveOS problems, stats_time and whether the values are stale (the account's last sync "
     "failed), with the latest metrics (hashrate in TH/s, power W, temperatures °C)"}};

}  // namespace

void add_rig_routes(Router& router) {
  router.add(
      {.method = "GET",
       .path = "/api/rigs",
       .tag = "hiveos",
       .summary = "HiveOS workers (rigs and HiveOS ASICs) with their latest metrics, filtered, in "
                  "pages (offset). Removed ones only with status=removed.",
       .response_schema = offset_page_schema(kRig),
       .query_parameters = {query_param("status", "string", "online, offline, ... or removed"),
                            query_param("account_id", "integer", "only this HiveOS account"),
                            query_param("farm_id", "integer", "only this farm (fleetward farm id)"),
                            query_param("problem", "string",
                                        "only rigs HiveOS reports this problem for"),
                            query_param("q", "string", "name or address contains"),
                            query_param("limit", "integer", "page size, 1..1000 (default 100)"),
                            query_param("offset", "integer", "items to skip (default 0)")},
       .cache_ttl = std::chrono::milliseconds(1000),
       .handler = [](Call& call) {
         auto status = call.query("status", 20);
         if (status && !is_worker_status(*status)) {
           throw ApiError::bad_request(
               "query parameter 'status' must be pending, online, unhealthy, draining, offline, "
               "unreachable or removed",
               "status");
         }
         auto account = call.query_opt_int("account_id", 1, INT64_MAX);
         auto farm = call.query_opt_int("farm_id", 1, INT64_MAX);
         auto problem = call.query("problem", 64);
         auto q = call.query("q", 200);
         std::optional<std::string> pattern;
         if (q && !q->empty()) pattern = like_pattern(*q);
         const auto limit = call.query_int("limit", 100, 1, 1000);
         const auto offset = call.query_int("offset", 0, 0, 1'000'000'000);
         const std::string where =
             "WHERE (CASE WHEN $1::text IS NULL THEN w.status <> 'removed' ELSE w.status = $1 END) "
             "AND ($2::bigint IS NULL OR r.account_id = $2) AND ($3::bigint IS NULL OR w.farm_id = "
             "$3) AND ($4::text IS NULL OR $4 = ANY (r.problems)) "
             "AND ($5::text IS NULL OR w.name ILIKE $5 OR host(w.ip) LIKE $5) ";
         json page;
         call.db().transact([&](pqxx::transaction_base& tx) {
           const auto total = tx.exec_params1("SELECT count(*)" + kRigFrom + where, status, account,
                                              farm, problem, pattern)[0]
                                  .as<std::int64_t>();
           json items = json::array();
           for (const auto& r : tx.exec_params(
                    "SELECT " + kRigColumns + kRigFrom + where + "ORDER BY w.id LIMIT $6 OFFSET $7",
                    status, account, farm, problem, pattern, limit, offset)) {
             items.push_back(rig_json(r));
           }
           page = {
               {"items", std::move(items)}, {"total", total}, {"limit", limit}, {"offset", offset}};
         });
         return Reply{.body = page};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/rigs/stats",
       .tag = "hiveos",
       .summary = "Totals over the HiveOS workers not removed: how many per status, GPUs, the "
                  "summed hashrate (TH/s) and power (W), rigs with problems, stale rigs, and the "
                  "accounts by sync state",
       .response_schema = {{"type", "object"}},
       .cache_ttl = std::chrono::milliseconds(1000),
       .handler = [](Call& call) {
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto t = tx.exec1(
               "SELECT count(*), coalesce(sum(jsonb_array_length(r.gpus)), 0),"
               " count(*) FILTER (WHERE cardinality(r.problems) > 0),"
               " count(*) FILTER (WHERE r.stale),"
               " (SELECT sum(value) FROM metrics_latest m JOIN rigs x ON x.worker_id = m.worker_id"
               "   JOIN workers y ON y.id = x.worker_id"
               "   WHERE m.metric = 'hashrate' AND y.status IN ('online', 'unhealthy')),"
               " (SELECT sum(value) FROM metrics_latest m JOIN rigs x ON x.worker_id = m.worker_id"
               "   JOIN workers y ON y.id = x.worker_id"
               "   WHERE m.metric = 'power' AND y.status IN ('online', 'unhealthy'))"
               " FROM rigs r JOIN workers w ON w.id = r.worker_id WHERE w.status <> 'removed'");
           json by_status = json::object();
           for (const auto& r :
                tx.exec("SELECT w.status, count(*) FROM rigs r JOIN workers w ON w.id = r.worker_id"
                        " WHERE w.status <> 'removed' GROUP BY 1 ORDER BY 1")) {
             by_status[r[0].as<std::string>()] = r[1].as<std::int64_t>();
           }
           json accounts = json::object();
           for (const auto& r : tx.exec("SELECT state, count(*) FROM hiveos_accounts"
                                        " WHERE enabled GROUP BY 1 ORDER BY 1")) {
             accounts[r[0].as<std::string>()] = r[1].as<std::int64_t>();
           }
           out = {{"total", t[0].as<std::int64_t>()}, {"by_status", std::move(by_status)},
                  {"gpus", t[1].as<std::int64_t>()},  {"with_problems", t[2].as<std::int64_t>()},
                  {"stale", t[3].as<std::int64_t>()}, {"hashrate_ths", opt_double(t[4])},
                  {"power_w", opt_double(t[5])},      {"accounts", std::move(accounts)}};
         });
         return Reply{.body = out};
       }});
}

}  // namespace fleet::gateway
