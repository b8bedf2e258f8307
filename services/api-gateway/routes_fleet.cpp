// /api/workers, /api/summary, /api/services, /api/readings, /api/audit.
#include <cmath>
#include <regex>

#include <pqxx/pqxx>

#include "core/duration.h"
#include "core/strings.h"
#include "routes.h"
#include "rows.h"
#include "runtime/instance_listing.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

constexpr const char* kWorkerColumns = R"sql(
w.id, w.kind, w.name, w.farm_id, w.farm_name, w.site, host(w.ip), w.status, w.status_since,
w.last_seen_at, w.managed, w.labels::text
)sql";

// status_since and last_seen_at come as timestamptz text and are written as RFC 3339 here
// (JsonWriter::utc_timestamp): to_char for each of them was a third of the page's database time.
std::string rfc3339(const pqxx::field& f) {
  JsonWriter w(32);
  w.utc_timestamp(std::string_view(f.c_str(), f.size()));
  std::string quoted = w.take();
  return quoted.substr(1, quoted.size() - 2);
}

json worker_json(const pqxx::row& r) {
  auto opt = [&](int i) { return r[i].is_null() ? json() : json(r[i].as<std::string>()); };
  return {{"id", r[0].as<std::int64_t>()},
          {"kind", r[1].as<std::string>()},
          {"name", r[2].as<std::string>()},
          {"farm_id", r[3].is_null() ? json() : json(r[3].as<std::int64_t>())},
          {"farm", opt(4)},
          {"site", opt(5)},
          {"ip", opt(6)},
          {"status", r[7].as<std::string>()},
          {"status_since", rfc3339(r[8])},
          {"last_seen_at", r[9].is_null() ? json() : json(rfc3339(r[9]))},
          {"managed", r[10].as<bool>()},
          {"labels", json::parse(r[11].as<std::string>())}};
}

// The same object as worker_json, written straight to text (GET /api/workers). The columns are
// read in order through one field iterator: every r[i] makes a field holding its own counted
// reference to the result, and twelve of them per row were a measurable part of a page.
void write_worker(JsonWriter& w, const pqxx::row& r) {
  pqxx::const_row_iterator f = r.begin();
  enum class As { kString, kNumber, kTime };
  // The next column under `key`, or null.
  auto next = [&w, &f](const char* key, As as) {
    w.key(key);
    const std::string_view value(f->c_str(), f->size());
    if (f->is_null()) {
      w.null();
    } else if (as == As::kString) {
      w.string(value);
    } else if (as == As::kNumber) {
      w.raw(value);
    } else {
      w.utc_timestamp(value);
    }
    ++f;
  };
  w.begin_object();
  next("id", As::kNumber);
  next("kind", As::kString);
  next("name", As::kString);
  next("farm_id", As::kNumber);
  next("farm", As::kString);
  next("site", As::kString);
  next("ip", As::kString);
  next("status", As::kString);
  next("status_since", As::kTime);
  next("last_seen_at", As::kTime);
  w.key("managed").boolean(f->c_str()[0] == 't');
  ++f;
  w.key("labels").raw(f->c_str());  // jsonb's text is JSON
  w.end_object();
}

const json kWorker = {{"type", "object"},
                      {"properties",
                       {{"id", {{"type", "integer"}}},
                        {"kind", {{"type", "string"}, {"enum", {"asic", "rig", "node", "device"}}}},
                        {"name", {{"type", "string"}}},
                        {"ip", {{"type", "string"}, {"nullable", true}}},
                        {"status", {{"type", "string"}}},
                        {"managed", {{"type", "boolean"}}},
                        {"labels", {{"type", "object"}}}}}};

// "key:value" -> {"key": "value"} for a jsonb containment filter.
std::optional<std::string> label_filter(const Call& call) {
  auto label = call.query("label", 200);
  if (!label) return std::nullopt;
  auto colon = label->find(':');
  if (colon == std::string::npos || colon == 0) {
    throw ApiError::bad_request("query parameter 'label' must be key:value", "label");
  }
  return json{{label->substr(0, colon), label->substr(colon + 1)}}.dump();
}

// A time given as an ISO 8601 timestamp or as a duration back from now ("1h"): exactly one of
// the two is set.
struct TimeParam {
  std::optional<std::string> iso;
  std::optional<long long> ago_ms;
};

constexpr int kMaxHistoryDays = 92;

TimeParam time_param(const Call& call, const char* name, long long default_ago_ms) {
  auto text = call.query(name, 40);
  if (!text) return {std::nullopt, default_ago_ms};
  if (auto d = parse_duration(*text); d.ok()) return {std::nullopt, d->count()};
  static const std::regex iso(
      R"(^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$)");
  if (!std::regex_match(*text, iso)) {
    throw ApiError::bad_request(std::string("query parameter '") + name +
                                    "' must be an ISO 8601 time or a duration such as 1h",
                                name);
  }
  return {*text, std::nullopt};
}

constexpr const char* kHistoryRaw = R"sql(
SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), value
  FROM readings
 WHERE worker_id = $1 AND metric = $2
   AND ts >= coalesce($3::timestamptz, now() - $4 * interval '1 millisecond')
   AND ts <  coalesce($5::timestamptz, now() - $6 * interval '1 millisecond')
 ORDER BY ts LIMIT 5000
)sql";

constexpr const char* kHistoryStep = R"sql(
SELECT to_char(date_bin($7 * interval '1 millisecond', ts, 'epoch') AT TIME ZONE 'UTC',
               'YYYY-MM-DD"T"HH24:MI:SS"Z"'), avg(value)
  FROM readings
 WHERE worker_id = $1 AND metric = $2
   AND ts >= coalesce($3::timestamptz, now() - $4 * interval '1 millisecond')
   AND ts <  coalesce($5::timestamptz, now() - $6 * interval '1 millisecond')
 GROUP BY 1 ORDER BY 1 LIMIT 5000
)sql";

json reading_item_schema() {
  return {{"type", "object"},
          {"required", {"worker_id", "metric"}},
          {"properties",
           {{"worker_id", {{"type", "integer"}}},
            {"metric", {{"type", "string"}, {"pattern", "^[a-z][a-z0-9_.]{0,63}$"}}},
            {"value", {{"type", "number"}}},
            {"json_value", {}},
            {"metadata", {{"type", "object"}}},
            {"ts", {{"type", "string"}, {"format", "date-time"}}}}}};
}

struct Reading {
  std::int64_t worker_id;
  std::string metric;
  std::optional<double> value;
  std::optional<std::string> json_value;
  std::optional<std::string> metadata;
  std::optional<std::string> ts;
};

Reading parse_reading(const JsonBody& item) {
  static const std::regex metric_pattern("^[a-z][a-z0-9_.]{0,63}$");
  static const std::regex ts_pattern(
      R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$)");
  item.only({"worker_id", "metric", "value", "json_value", "metadata", "ts"});
  Reading r;
  r.worker_id = item.integer("worker_id", 1, INT64_MAX);
  r.metric = item.string("metric", 64);
  if (!std::regex_match(r.metric, metric_pattern)) {
    throw ApiError::bad_request("'" + item.name("metric") + "' must match ^[a-z][a-z0-9_.]{0,63}$",
                                item.name("metric"));
  }
  r.value = item.opt_number("value", -1e300, 1e300);
  if (item.raw().contains("json_value") && !item.raw()["json_value"].is_null()) {
    r.json_value = dump(item.raw()["json_value"]);
  }
  if (auto meta = item.opt_object("metadata")) r.metadata = dump(*meta);
  if (!r.value && !r.json_value) {
    throw ApiError::bad_request("a reading needs 'value' or 'json_value'", item.name("value"));
  }
  r.ts = item.opt_string("ts", 40);
  if (r.ts && !std::regex_match(*r.ts, ts_pattern)) {
    throw ApiError::bad_request(
        "'" + item.name("ts") + "' must be an RFC 3339 time such as 2026-11-23T12:00:00Z",
        item.name("ts"));
  }
  return r;
}

}  // namespace

json page_schema(const json& item) {
  return {{"type", "object"},
          {"properties",
           {{"items", {{"type", "array"}, {"items", item}}},
            {"next", {{"type", "string"}, {"nullable", true}}},
            {"limit", {{"type", "integer"}}}}}};
}

json query_param(const char* name, const char* type, const char* description) {
  return {{"name", name},
          {"in", "query"},
          {"required", false},
          {"description", description},
          {"schema", {{"type", type}}}};
}

void add_fleet_routes(Router& router) {
  router.prepare("workers_page", std::string("SELECT ") + kWorkerColumns +
                                     " FROM workers w"
                                     " WHERE ($1::text IS NULL OR w.kind = $1)"
                                     " AND ($2::text IS NULL OR w.status = $2)"
                                     " AND ($3::bigint IS NULL OR w.farm_id = $3)"
                                     " AND ($4::jsonb IS NULL OR w.labels @> $4::jsonb)"
                                     " AND ($5::text IS NULL OR w.name ILIKE $5) AND w.id > $6"
                                     " ORDER BY w.id LIMIT $7");
  router.add(
      {.method = "GET",
       .path = "/api/workers",
       .tag = "workers",
       .summary = "List workers of every kind, filtered, in pages (keyset: pass 'next' as 'after')",
       .response_schema = page_schema(kWorker),
       .query_parameters = {query_param("kind", "string", "asic, rig, node or device"),
                            query_param("status", "string", "online, offline, ..."),
                            query_param("farm_id", "integer", "only this farm"),
                            query_param("label", "string", "key:value label selector"),
                            query_param("q", "string", "name contains"),
                            query_param("limit", "integer", "page size, 1..1000 (default 100)"),
                            query_param("after", "integer", "cursor from the previous page")},
       .cache_ttl = std::chrono::milliseconds(1000),
       .uncached_with = "after",
       .handler = [](Call& call) {
         auto kind = call.query("kind", 16);
         if (kind && *kind != "asic" && *kind != "rig" && *kind != "node" && *kind != "device") {
           throw ApiError::bad_request("query parameter 'kind' must be asic, rig, node or device",
                                       "kind");
         }
         auto status = call.query("status", 16);
         auto farm = call.query_opt_int("farm_id", 1, INT64_MAX);
         auto labels = label_filter(call);
         auto q = call.query("q", 100);
         const auto limit = call.query_int("limit", 100, 1, 1000);
         const auto after = call.query_int("after", 0, 0, INT64_MAX);
         std::string page;
         // One statement: no BEGIN/COMMIT round trips (Session::autocommit).
         call.db().autocommit([&](pqxx::transaction_base& tx) {
           auto rows = tx.exec_prepared(
               "workers_page", kind, status, farm, labels,
               q ? std::optional<std::string>(like_pattern(*q)) : std::nullopt, after, limit + 1);
           page = keyset_page_text(rows, limit, 480, write_worker);
         });
         return Reply{.raw = std::move(page)};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/workers/{id}",
       .tag = "workers",
       .summary =
           "One worker with its latest metrics, kind-specific detail, relay mapping (or null) and, "
           "for HiveOS workers, rig (HiveOS ids, platform, versions, gpus, boards, hashrates, "
           "problems, stats_time, stale, account; else null)",
       .response_schema = kWorker,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto rows = tx.exec_params(
               std::string("SELECT ") + kWorkerColumns + " FROM workers w WHERE w.id = $1", id);
           if (rows.empty())
             throw ApiError::not_found("worker " + std::to_string(id) + " not found");
           out = worker_json(rows[0]);
           json metrics = json::object();
           for (const auto& m : tx.exec_params(
                    "SELECT metric, value, json_value::text, "
                    "to_char(observed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
                    "FROM metrics_latest WHERE worker_id = $1 ORDER BY metric",
                    id)) {
             json v = {{"observed_at", m[3].as<std::string>()}};
             v["value"] = m[1].is_null() ? json() : json(m[1].as<double>());
             if (!m[2].is_null()) v["json_value"] = json::parse(m[2].as<std::string>());
             metrics[m[0].as<std::string>()] = v;
           }
           out["metrics"] = metrics;
           out["relay"] = relay_mapping_of(tx, id);
           out["rig"] = hiveos_rig_of(tx, id);
           auto device = tx.exec_params(
               "SELECT (to_jsonb(d) - 'worker_id')::text FROM devices d WHERE worker_id = $1", id);
           if (!device.empty()) {
             out["device"] = json::parse(device[0][0].as<std::string>());
             // A device's configuration may hold endpoints and credentials: operators only.
             if (!auth::allows(call.who().role, Role::kOperator)) out["device"].erase("config");
           }
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "PATCH",
       .path = "/api/workers/{id}",
       .tag = "workers",
       .summary = "Rename a worker, set its labels or whether it is managed",
       .role = Role::kOperator,
       .request_schema = {{"type", "object"},
                          {"properties",
                           {{"name", {{"type", "string"}}},
                            {"labels", {{"type", "object"}}},
                            {"managed", {{"type", "boolean"}}}}}},
       .response_schema = kWorker,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         JsonBody body = call.body();
         body.only({"name", "labels", "managed"});
         auto name = body.opt_string("name", 200);
         auto managed = body.opt_bool("managed");
         std::optional<std::string> labels;
         if (auto l = body.opt_object("labels")) {
           if (l->size() > 64) throw ApiError::bad_request("at most 64 labels", "labels");
           for (const auto& [k, v] : l->items()) {
             if (k.empty() || k.size() > 63 || !v.is_string() ||
                 v.get<std::string>().size() > 200) {
               throw ApiError::bad_request(
                   "labels must map names (1-63 characters) to strings (up to 200)", "labels." + k);
             }
           }
           labels = dump(*l);
         }
         call.audit_target("worker:" + std::to_string(id));
         call.audit_detail("changes", body.raw());
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto rows = tx.exec_params(
               "UPDATE workers SET name = coalesce($2, name), managed = coalesce($3, managed), "
               "labels = coalesce($4::jsonb, labels) WHERE id = $1 RETURNING id",
               id, name, managed, labels);
           if (rows.empty())
             throw ApiError::not_found("worker " + std::to_string(id) + " not found");
           out = worker_json(tx.exec_params1(
               std::string("SELECT ") + kWorkerColumns + " FROM workers w WHERE w.id = $1", id));
         });
         return Reply{.body = out};
       }});

  router.add({.method = "GET",
              .path = "/api/workers/{id}/metrics",
              .tag = "workers",
              .summary = "History of one metric of a worker, optionally averaged per step",
              .query_parameters =
                  {query_param("metric", "string", "metric name (required)"),
                   query_param("since", "string", "ISO time or duration back (default 1h)"),
                   query_param("until", "string", "ISO time or duration back (default now)"),
                   query_param("step", "string", "bucket size, e.g. 1m (default: raw points)")},
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                auto metric = call.query("metric", 64);
                if (!metric)
                  throw ApiError::bad_request("query parameter 'metric' is required", "metric");
                std::optional<std::chrono::milliseconds> step;
                if (auto s = call.query("step", 16)) {
                  auto d = parse_duration(*s);
                  if (!d.ok() || d->count() < 1000)
                    throw ApiError::bad_request(
                        "query parameter 'step' must be a duration of at least 1s", "step");
                  step = *d;
                }
                const TimeParam since = time_param(call, "since", 3'600'000);
                const TimeParam until = time_param(call, "until", 0);
                json points = json::array();
                call.db().transact([&](pqxx::transaction_base& tx) {
                  if (tx.exec_params("SELECT 1 FROM workers WHERE id = $1", id).empty()) {
                    throw ApiError::not_found("worker " + std::to_string(id) + " not found");
                  }
                  // One call reads at most kMaxHistoryDays of one metric, and a stepped one at
                  // most 5,000 buckets: a viewer cannot make the database scan years of readings.
                  auto span = tx.exec_params1(
                      "SELECT extract(epoch FROM coalesce($3::timestamptz, now() - $4 * interval "
                      "'1 millisecond') - coalesce($1::timestamptz, now() - $2 * interval "
                      "'1 millisecond'))::float8",
                      since.iso, since.ago_ms, until.iso, until.ago_ms);
                  const double seconds = span[0].as<double>();
                  if (seconds > kMaxHistoryDays * 86'400.0) {
                    throw ApiError::bad_request("since..until may span at most " +
                                                    std::to_string(kMaxHistoryDays) + " days",
                                                "since");
                  }
                  if (step && seconds / (static_cast<double>(step->count()) / 1000.0) > 5000) {
                    throw ApiError::bad_request(
                        "step is too small for this range (at most 5,000 points)", "step");
                  }
                  pqxx::result rows = step ? tx.exec_params(kHistoryStep, id, *metric, since.iso,
                                                            since.ago_ms, until.iso, until.ago_ms,
                                                            static_cast<long long>(step->count()))
                                           : tx.exec_params(kHistoryRaw, id, *metric, since.iso,
                                                            since.ago_ms, until.iso, until.ago_ms);
                  for (const auto& r : rows) {
                    points.push_back({r[0].as<std::string>(),
                                      r[1].is_null() ? json() : json(r[1].as<double>())});
                  }
                });
                return Reply{.body = {{"worker_id", id}, {"metric", *metric}, {"points", points}}};
              }});

  router.add(
      {.method = "GET",
       .path = "/api/summary",
       .tag = "fleet",
       .summary = "Fleet counts by kind and status, total hashrate and power",
       .cache_ttl = std::chrono::milliseconds(2000),
       .handler = [](Call& call) {
         json out = {{"workers", json::object()}};
         call.db().transact([&](pqxx::transaction_base& tx) {
           for (const auto& r :
                tx.exec("SELECT kind, status, count(*) FROM workers GROUP BY 1, 2 ORDER BY 1, 2")) {
             out["workers"][r[0].as<std::string>()][r[1].as<std::string>()] = r[2].as<long long>();
           }
           auto totals = tx.exec1(
               "SELECT coalesce(sum(value) FILTER (WHERE metric = 'hashrate'), 0), "
               "coalesce(sum(value) FILTER (WHERE metric = 'power'), 0) FROM metrics_latest m "
               "JOIN workers w ON w.id = m.worker_id WHERE w.status = 'online' "
               // only the two metrics summed, by their index: without it every metric of
               // every worker was read (1.3 s for 100,000 workers, issue 15.9)
               "AND m.metric IN ('hashrate', 'power') "
               "AND m.observed_at > now() - interval '5 minutes'");
           out["hashrate_ths"] = totals[0].as<double>();
           out["power_w"] = totals[1].as<double>();
           if (tx.exec1("SELECT to_regclass('alerts') IS NOT NULL")[0].as<bool>()) {
             out["alerts_firing"] =
                 tx.exec1("SELECT count(*) FROM alerts WHERE state = 'firing'")[0].as<long long>();
           }
         });
         return Reply{.body = out};
       }});

  router.add({.method = "GET",
              .path = "/api/services",
              .tag = "fleet",
              .summary =
                  "Every worker process (service_instances) with its state; stale ones marked "
                  "(the same objects as fleetctl status --json)",
              .query_parameters = {query_param("all", "boolean",
                                               "include processes that ended over an hour ago"),
                                   query_param("service", "string", "only this service")},
              .handler = [](Call& call) {
                runtime::InstanceQuery query{.all = call.query_bool("all").value_or(false),
                                             .service = call.query("service").value_or("")};
                json items = json::array();
                call.db().transact([&](pqxx::transaction_base& tx) {
                  for (const auto& v : runtime::list_instances(tx, query))
                    items.push_back(runtime::instance_json(v));
                });
                return Reply{.body = {{"items", items}}};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/readings",
       .tag = "readings",
       .summary =
           "Push device readings (seed 001): one reading, or {\"readings\": [...]} up to 1000. "
           "An API key with the ingest role may do this and nothing else, for the devices it "
           "names if it names any",
       .role = Role::kIngest,  // ingest keys, operators and admins
       .request_schema = {{"oneOf",
                           {reading_item_schema(),
                            {{"type", "object"},
                             {"required", {"readings"}},
                             {"properties",
                              {{"readings",
                                {{"type", "array"}, {"items", reading_item_schema()}}}}}}}}},
       .success_status = 202,
       .handler = [](Call& call) {
         JsonBody body = call.body();
         std::vector<Reading> readings;
         if (body.raw().contains("readings")) {
           body.only({"readings"});
           auto items = *body.opt_array("readings");
           if (items.empty() || items.size() > 1000) {
             throw ApiError::bad_request("'readings' must hold 1 to 1000 readings", "readings");
           }
           for (size_t i = 0; i < items.size(); ++i) {
             const std::string prefix = "readings[" + std::to_string(i) + "].";
             if (!items[i].is_object())
               throw ApiError::bad_request(
                   "'" + prefix.substr(0, prefix.size() - 1) + "' must be an object",
                   prefix.substr(0, prefix.size() - 1));
             readings.push_back(parse_reading(JsonBody(items[i], prefix)));
           }
         } else {
           readings.push_back(parse_reading(body));
         }
         long long inserted = 0;
         call.db().transact([&](pqxx::transaction_base& tx) {
           for (size_t i = 0; i < readings.size(); ++i) {
             const Reading& r = readings[i];
             const std::string field =
                 readings.size() > 1 ? "readings[" + std::to_string(i) + "]." : "";
             auto ts = tx.exec_params1(
                 "SELECT coalesce($1::timestamptz, now()), coalesce($1::timestamptz, now()) "
                 "BETWEEN now() - interval '7 days' AND now() + interval '5 minutes', "
                 "EXISTS (SELECT 1 FROM workers WHERE id = $2 AND status <> 'removed'), "
                 "(SELECT name FROM workers WHERE id = $2)",
                 r.ts, r.worker_id);
             if (!ts[2].as<bool>()) {
               throw ApiError::unprocessable(
                   "worker " + std::to_string(r.worker_id) + " does not exist",
                   field + "worker_id");
             }
             // An ingest key limited to some devices writes only theirs (issue 16.7).
             if (!auth::device_in_scope(call.who().devices, ts[3].as<std::string>())) {
               throw ApiError(403, "forbidden",
                              "this key may not push readings for device '" +
                                  ts[3].as<std::string>() + "' (worker " +
                                  std::to_string(r.worker_id) + ")",
                              field + "worker_id");
             }
             if (!ts[1].as<bool>()) {
               throw ApiError::unprocessable(
                   "'ts' must be within the last 7 days and not in the future", field + "ts");
             }
             inserted += static_cast<long long>(
                 tx.exec_params(
                       "INSERT INTO readings (worker_id, metric, ts, value, json_value, metadata) "
                       "VALUES ($1, $2, coalesce($3::timestamptz, now()), $4, $5::jsonb, "
                       "$6::jsonb) "
                       "ON CONFLICT DO NOTHING",
                       r.worker_id, r.metric, r.ts, r.value, r.json_value, r.metadata)
                     .affected_rows());
             tx.exec_params(
                 "INSERT INTO metrics_latest AS m (worker_id, metric, value, json_value, "
                 "observed_at) "
                 "VALUES ($1, $2, $3, $4::jsonb, coalesce($5::timestamptz, now())) "
                 "ON CONFLICT (worker_id, metric) DO UPDATE SET value = EXCLUDED.value, "
                 "json_value = EXCLUDED.json_value, observed_at = EXCLUDED.observed_at "
                 "WHERE m.observed_at <= EXCLUDED.observed_at",
                 r.worker_id, r.metric, r.value, r.json_value, r.ts);
           }
           tx.exec_params(
               "UPDATE workers SET last_seen_at = now() WHERE id = ANY(string_to_array($1, "
               "',')::bigint[])",
               [&] {
                 std::string ids;
                 for (const auto& r : readings)
                   ids += (ids.empty() ? "" : ",") + std::to_string(r.worker_id);
                 return ids;
               }());
         });
         call.audit_target("readings");
         call.audit_detail("count", readings.size());
         return Reply{.status = 202, .body = {{"accepted", readings.size()}, {"new", inserted}}};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/audit",
       .tag = "fleet",
       .summary = "The audit log of changes, newest first",
       .role = Role::kAdmin,
       .query_parameters = {query_param("actor", "string", "only this actor"),
                            query_param("limit", "integer", "1..1000 (default 100)"),
                            query_param("before", "integer", "cursor from the previous page")},
       .handler = [](Call& call) {
         auto actor = call.query("actor", 100);
         const auto limit = call.query_int("limit", 100, 1, 1000);
         const auto before = call.query_int("before", INT64_MAX, 1, INT64_MAX);
         json items = json::array();
         json next;
         call.db().transact([&](pqxx::transaction_base& tx) {
           for (const auto& r :
                tx.exec_params("SELECT id, to_char(at AT TIME ZONE 'UTC', "
                               "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), actor, action, "
                               "target, status, client, details::text FROM audit_log WHERE id < $1 "
                               "AND ($2::text IS NULL OR actor = $2) ORDER BY id DESC LIMIT $3",
                               before, actor, limit + 1)) {
             if (static_cast<std::int64_t>(items.size()) == limit) {
               next = std::to_string(items.back()["id"].get<std::int64_t>());
               break;
             }
             items.push_back({{"id", r[0].as<std::int64_t>()},
                              {"at", r[1].as<std::string>()},
                              {"actor", r[2].as<std::string>()},
                              {"action", r[3].as<std::string>()},
                              {"target", r[4].is_null() ? json() : json(r[4].as<std::string>())},
                              {"status", r[5].as<int>()},
                              {"client", r[6].is_null() ? json() : json(r[6].as<std::string>())},
                              {"details", json::parse(r[7].as<std::string>())}});
           }
         });
         return Reply{.body = {{"items", items}, {"next", next}, {"limit", limit}}};
       }});
}

// Shared by the route files (declared in routes.h).
std::string like_pattern(const std::string& text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

json offset_page_schema(const json& item) {
  return {{"type", "object"},
          {"properties",
           {{"items", {{"type", "array"}, {"items", item}}},
            {"total", {{"type", "integer"}}},
            {"limit", {{"type", "integer"}}},
            {"offset", {{"type", "integer"}}}}}};
}

bool is_worker_status(const std::string& s) {
  for (const char* known :
       {"pending", "online", "unhealthy", "draining", "offline", "unreachable", "removed"}) {
    if (s == known) return true;
  }
  return false;
}

}  // namespace fleet::gateway
