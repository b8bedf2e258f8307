// Rules, the metric catalogue, alerts and silences (issue 3's engine, seed 000 §3's rule form).
// Rules are validated by the same code the evaluator compiles them with; a refused rule answers
// 400 with every problem, each pointing into the condition text where it can.
#include <ctime>
#include <regex>

#include <semaphore>

#include <pqxx/pqxx>

#include "alerting/condition_probe.h"
#include "alerting/rule_store.h"
#include "alerting/snapshot.h"
#include "core/duration.h"
#include "core/strings.h"
#include "routes.h"
#include "rows.h"
#include "rules/checker.h"

namespace fleet::gateway {
namespace {

using json = nlohmann::json;
using auth::Role;

// The API calls the clear condition "clear_condition"; the rule library's JSON form calls it
// "clear".
std::string api_field(std::string field) {
  if (field == "clear" || field.rfind("clear.", 0) == 0) return "clear_condition" + field.substr(5);
  return field;
}

// "for: must be a duration" -> field "for"; "steps[2].action: ..." -> "steps[2].action". The
// prefix is a dotted path of lower-case names, each with an optional [index]; anything else (or a
// path longer than any of ours: the client's own text) names no field. Scanned by hand: a
// std::regex over a message holding a client's 100,000-character key recursed once per character
// and overflowed the stack (issue 15.1).
std::string field_of(std::string_view message) {
  constexpr std::size_t kMaxField = 128;
  auto lower = [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0;
  for (;;) {
    const std::size_t name = i;
    while (i < message.size() && i <= kMaxField && lower(message[i]))
      ++i;
    if (i == name) return "";
    if (i < message.size() && message[i] == '[') {
      const std::size_t index = ++i;
      while (i < message.size() && i <= kMaxField && digit(message[i]))
        ++i;
      if (i == index || i >= message.size() || message[i] != ']') return "";
      ++i;
    }
    if (i > kMaxField) return "";
    if (i < message.size() && message[i] == '.') {
      ++i;
      continue;
    }
    break;
  }
  if (message.substr(i, 2) != ": ") return "";
  return api_field(std::string(message.substr(0, i)));
}

json problem_json(const rules::RuleProblem& p) {
  json j = {{"field", api_field(p.field)}, {"message", sanitize_utf8(p.message)}};
  if (p.where) {
    j["position"] = p.where->position;
    j["length"] = p.where->length;
    j["column"] = p.where->column;
  }
  return j;
}

ApiError refused(const std::vector<rules::RuleProblem>& problems) {
  std::string message;
  json details = json::array();
  for (const auto& p : problems) {
    if (!message.empty()) message += "; ";
    message += api_field(p.field) + ": " + p.message;
    details.push_back(problem_json(p));
  }
  const bool taken = problems.front().field == "name" && problems.size() == 1 &&
                     problems.front().message.find("exists already") != std::string::npos;
  ApiError error = taken ? ApiError::conflict(message, "name")
                         : ApiError::bad_request(message, api_field(problems.front().field));
  error.with_details({{"problems", details}});
  return error;
}

json rule_json(const alerting::StoredRule& r) {
  json j = json::parse(rules::rule_to_json(r.spec));
  j["clear_condition"] = j.contains("clear") ? j["clear"] : json();
  j.erase("clear");
  j["id"] = r.id;
  j["created_by"] = r.created_by;
  j["created_at"] = r.created_at;
  j["updated_at"] = r.updated_at;
  j["open"] = {{"pending", r.pending}, {"firing", r.firing}};
  return j;
}

// A rule from the API's JSON form (on top of `base` for PATCH). Strict: unknown fields, wrong
// types and bad durations are 400s naming the field.
rules::RuleSpec parse_rule(const JsonBody& body, json base = json::object()) {
  body.only({"name", "description", "enabled", "condition", "clear_condition", "metric", "operator",
             "threshold", "scope", "for", "keep_firing_for", "stale_after", "severity", "no_data",
             "notify", "actions"});
  json j = std::move(base);
  for (const auto& [key, value] : body.raw().items()) {
    if (key == "clear_condition") {
      j.erase("clear");
      if (!value.is_null()) j["clear"] = value;
    } else if (key == "metric" || key == "operator" || key == "threshold") {
      j.erase("condition");  // seed 001's form replaces the condition
      j[key] = value;
    } else {
      j[key] = value;
    }
  }
  auto spec = rules::rule_from_json(j.dump());
  if (!spec) throw ApiError::bad_request(spec.error().message(), field_of(spec.error().message()));
  return std::move(spec).value();
}

alerting::StoredRule load_rule(pqxx::transaction_base& tx, std::int64_t id) {
  auto found = alerting::find_rule(tx, std::to_string(id));
  if (!found) throw ApiError::not_found("rule " + std::to_string(id) + " not found");
  return std::move(found).value();
}

json metric_json(const rules::MetricInfo& m) {
  json j = {{"name", m.name},
            {"unit", m.unit},
            {"description", m.description},
            {"kinds", m.kinds},
            {"value_type", m.type == rules::ValueType::kNumber ? "number" : "state"}};
  if (m.type == rules::ValueType::kState) j["states"] = m.states;
  return j;
}

const json kRule = {{"type", "object"},
                    {"properties",
                     {{"id", {{"type", "integer"}}},
                      {"name", {{"type", "string"}}},
                      {"condition", {{"type", "string"}}},
                      {"clear_condition", {{"type", "string"}, {"nullable", true}}},
                      {"scope", {{"type", "object"}}},
                      {"for", {{"type", "string"}}},
                      {"severity", {{"type", "string"}, {"enum", {"info", "warning", "critical"}}}},
                      {"actions", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};

const json kAlert = {{"type", "object"},
                     {"properties",
                      {{"id", {{"type", "integer"}}},
                       {"rule_id", {{"type", "integer"}}},
                       {"worker_id", {{"type", "integer"}}},
                       {"state", {{"type", "string"}, {"enum", {"pending", "firing", "resolved"}}}},
                       {"severity", {{"type", "string"}}},
                       {"started_at", {{"type", "string"}}}}}};

const json kSilence = {{"type", "object"},
                       {"properties",
                        {{"id", {{"type", "integer"}}},
                         {"starts_at", {{"type", "string"}}},
                         {"ends_at", {{"type", "string"}}},
                         {"state", {{"type", "string"}}},
                         {"reason", {{"type", "string"}}}}}};

const std::string kAlertSelect =
    "SELECT a.id, a.rule_id, r.name, a.worker_id, w.name, w.kind, a.kind, a.state, "
    "a.severity, " +
    iso_sql("a.started_at") + ", " + iso_sql("a.fired_at") + ", " + iso_sql("a.resolved_at") +
    ", a.resolution, a.value, a.suppressed_by, " + iso_sql("a.acknowledged_at") +
    ", a.acknowledged_by, a.next_step, a.observed::text"
    "  FROM alerts a JOIN rules r ON r.id = a.rule_id JOIN workers w ON w.id = a.worker_id ";

json alert_json(const pqxx::row& r) {
  json observed;
  if (!r[18].is_null()) observed = json::parse(r[18].as<std::string>(), nullptr, false);
  return {{"id", r[0].as<std::int64_t>()},
          {"rule_id", r[1].as<std::int64_t>()},
          {"rule_name", r[2].as<std::string>()},
          {"worker_id", r[3].as<std::int64_t>()},
          {"worker_name", r[4].as<std::string>()},
          {"worker_kind", r[5].as<std::string>()},
          {"kind", r[6].as<std::string>()},
          {"state", r[7].as<std::string>()},
          {"severity", r[8].as<std::string>()},
          {"started_at", r[9].as<std::string>()},
          {"fired_at", opt_text(r[10])},
          {"resolved_at", opt_text(r[11])},
          {"resolution", opt_text(r[12])},
          {"value", opt_double(r[13])},
          {"suppressed_by", opt_text(r[14])},
          {"acknowledged_at", opt_text(r[15])},
          {"acknowledged_by", opt_text(r[16])},
          {"next_step", r[17].as<int>()},
          {"observed", observed.is_discarded() ? json() : observed}};
}

const std::string kSilenceSelect =
    "SELECT s.id, s.worker_id, w.name, s.farm_id, s.labels::text, s.rule_id, r.name, " +
    iso_sql("s.starts_at") + ", " + iso_sql("s.ends_at") +
    ", CASE WHEN s.ends_at <= now() THEN 'ended' WHEN s.starts_at > now() "
    "THEN 'scheduled' ELSE 'active' END, s.reason, s.created_by, s.ended_by"
    "  FROM silences s LEFT JOIN workers w ON w.id = s.worker_id"
    "  LEFT JOIN rules r ON r.id = s.rule_id ";

json silence_json(const pqxx::row& r) {
  json labels;
  if (!r[4].is_null()) labels = json::parse(r[4].as<std::string>(), nullptr, false);
  return {{"id", r[0].as<std::int64_t>()},
          {"worker_id", opt_int(r[1])},
          {"worker_name", opt_text(r[2])},
          {"farm_id", opt_int(r[3])},
          {"labels", labels.is_discarded() ? json() : labels},
          {"rule_id", opt_int(r[5])},
          {"rule_name", opt_text(r[6])},
          {"starts_at", r[7].as<std::string>()},
          {"ends_at", r[8].as<std::string>()},
          {"state", r[9].as<std::string>()},
          {"reason", r[10].as<std::string>()},
          {"created_by", r[11].as<std::string>()},
          {"ended_by", opt_text(r[12])}};
}

std::chrono::milliseconds duration_field(const JsonBody& body, const char* field) {
  const json& v = body.raw()[field];
  std::string text;
  if (v.is_number_integer()) {
    text = std::to_string(v.get<std::int64_t>());
  } else if (v.is_string()) {
    text = v.get<std::string>();
  } else {
    throw ApiError::bad_request(std::string(field) + ": must be a duration like \"2h\" or seconds",
                                field);
  }
  auto d = parse_duration(text);
  if (!d || d->count() <= 0 || *d > std::chrono::hours(24 * 366)) {
    throw ApiError::bad_request(
        std::string(field) + ": must be a positive duration of at most a year, like \"2h\"", field);
  }
  return *d;
}

// Milliseconds from now until an ISO 8601 time given by the client (negative when it is past).
std::int64_t millis_until(const std::string& when, const char* field) {
  static const std::regex kIsoTime(
      R"(^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|([+-])(\d{2}):?(\d{2}))$)");
  std::smatch m;
  const ApiError bad = ApiError::bad_request(
      std::string(field) + ": must be an ISO 8601 time with a zone, like 2026-01-31T18:00:00Z",
      field);
  if (when.size() > 40 || !std::regex_match(when, m, kIsoTime)) throw bad;  // bounded input
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = m[6].matched ? std::stoi(m[6]) : 0;
  const std::tm asked = tm;
  const std::time_t t = timegm(&tm);
  // timegm normalises 2026-02-30 to March 2nd: a changed field means the date does not exist.
  if (t == -1 || tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon ||
      tm.tm_hour != asked.tm_hour || tm.tm_min != asked.tm_min || tm.tm_sec != asked.tm_sec) {
    throw bad;
  }
  std::int64_t offset = 0;
  if (m[8].matched) {
    const int hours = std::stoi(m[9]), minutes = std::stoi(m[10]);
    if (hours > 14 || minutes > 59) throw bad;
    offset = (hours * 3600 + minutes * 60) * (m[8] == "-" ? -1 : 1);
  }
  const std::int64_t at_ms = (static_cast<std::int64_t>(t) - offset) * 1000;
  const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  return at_ms - now_ms;
}

void require_row(pqxx::transaction_base& tx, const char* table, std::int64_t id,
                 const char* field) {
  if (tx.exec_params(std::string("SELECT 1 FROM ") + table + " WHERE id = $1", id).empty()) {
    throw ApiError::unprocessable(
        std::string(field) + ": no such record (" + std::to_string(id) + ")", field);
  }
}

}  // namespace

namespace {

// A rule test evaluates a condition against every worker's latest metrics, and a viewer may ask
// for it: at most kRuleTestsAtOnce run at once in this process (more get a 429 at once) and each
// is cut off by a statement timeout, so tests cannot keep the database busy (issue 16.8).
constexpr std::ptrdiff_t kRuleTestsAtOnce = 2;
constexpr const char* kRuleTestTimeout = "SET LOCAL statement_timeout = '5s'";

std::counting_semaphore<kRuleTestsAtOnce>& rule_test_slots() {
  static std::counting_semaphore<kRuleTestsAtOnce> slots(kRuleTestsAtOnce);
  return slots;
}

class RuleTestSlot {
 public:
  RuleTestSlot() {
    if (!rule_test_slots().try_acquire()) {
      throw ApiError(429, "resource_exhausted",
                     "too many rule tests are running; try again in a moment")
          .with_retry_after(1);
    }
  }
  ~RuleTestSlot() { rule_test_slots().release(); }
  RuleTestSlot(const RuleTestSlot&) = delete;
  RuleTestSlot& operator=(const RuleTestSlot&) = delete;
};

}  // namespace

void add_rule_routes(Router& router) {
  router.add(
      {.method = "GET",
       .path = "/api/metrics",
       .tag = "rules",
       .summary = "The metric catalogue: what a rule condition may name, with units and kinds",
       .response_schema = {{"type", "object"}, {"properties", {{"items", {{"type", "array"}}}}}},
       .cache_ttl = std::chrono::milliseconds(5000),
       .handler = [](Call& call) {
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           const rules::MetricCatalogue catalogue = alerting::load_catalogue(tx);
           for (const auto& m : catalogue.metrics())
             items.push_back(metric_json(m));
         });
         return Reply{.body = {{"items", items}}};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/rules",
       .tag = "rules",
       .summary = "Every rule, with its open episodes (pending, firing)",
       .response_schema = {{"type", "object"},
                           {"properties", {{"items", {{"type", "array"}, {"items", kRule}}}}}},
       .handler = [](Call& call) {
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           for (const auto& r : alerting::list_rules(tx))
             items.push_back(rule_json(r));
         });
         return Reply{.body = {{"items", items}}};
       }});

  router.add({.method = "GET",
              .path = "/api/rules/{id}",
              .tag = "rules",
              .summary = "One rule",
              .response_schema = kRule,
              .handler = [](Call& call) {
                json out;
                call.db().transact(
                    [&](pqxx::transaction_base& tx) { out = rule_json(load_rule(tx, call.id())); });
                return Reply{.body = out};
              }});

  router.add({.method = "POST",
              .path = "/api/rules",
              .tag = "rules",
              .summary =
                  "Create a rule. Refused rules answer 400 with every problem (details.problems, "
                  "each with field, message and, in a condition, position/length/column)",
              .role = Role::kOperator,
              .request_schema = kRule,
              .response_schema = kRule,
              .success_status = 201,
              .handler = [](Call& call) {
                rules::RuleSpec spec = parse_rule(call.body());
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  auto saved = alerting::add_rule(tx, spec, call.who().name);
                  if (!saved.id) throw refused(saved.problems);
                  out = rule_json(load_rule(tx, *saved.id));
                });
                call.audit_target("rule:" + std::to_string(out["id"].get<std::int64_t>()));
                call.audit_detail("name", spec.name);
                return Reply{.body = out};
              }});

  router.add({.method = "PATCH",
              .path = "/api/rules/{id}",
              .tag = "rules",
              .summary = "Change some fields of a rule (validated like a new one); clear_condition "
                         "null removes it",
              .role = Role::kOperator,
              .request_schema = kRule,
              .response_schema = kRule,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                JsonBody body = call.body();
                json out;
                call.audit_target("rule:" + std::to_string(id));
                json changed = json::array();
                for (const auto& [key, value] : body.raw().items())
                  changed.push_back(key);
                call.audit_detail("fields", changed);
                call.db().transact([&](pqxx::transaction_base& tx) {
                  json lib = json::parse(rules::rule_to_json(load_rule(tx, id).spec));
                  rules::RuleSpec spec = parse_rule(body, lib);
                  auto saved = alerting::update_rule(tx, id, spec);
                  if (!saved)
                    throw ApiError::not_found("rule " + std::to_string(id) + " not found");
                  if (!saved->id) throw refused(saved->problems);
                  out = rule_json(load_rule(tx, id));
                });
                return Reply{.body = out};
              }});

  router.add({.method = "DELETE",
              .path = "/api/rules/{id}",
              .tag = "rules",
              .summary = "Delete a rule with its episodes (commands it queued keep their rows)",
              .role = Role::kOperator,
              .response_schema = {{"type", "object"},
                                  {"properties", {{"deleted", {{"type", "integer"}}}}}},
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                call.audit_target("rule:" + std::to_string(id));
                call.db().transact([&](pqxx::transaction_base& tx) {
                  if (!alerting::delete_rule(tx, id).ok()) {
                    throw ApiError::not_found("rule " + std::to_string(id) + " not found");
                  }
                });
                return Reply{.body = {{"deleted", id}}};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/rules/validate",
       .tag = "rules",
       .summary =
           "Check a condition (and clear condition) against the metric catalogue as it is typed",
       .request_schema = {{"type", "object"},
                          {"properties",
                           {{"condition", {{"type", "string"}}},
                            {"clear_condition", {{"type", "string"}, {"nullable", true}}},
                            {"kind", {{"type", "string"}, {"nullable", true}}}}}},
       .response_schema = {{"type", "object"},
                           {"properties",
                            {{"valid", {{"type", "boolean"}}}, {"errors", {{"type", "array"}}}}}},
       .handler =
           [](Call& call) {
             JsonBody body = call.body();
             body.only({"condition", "clear_condition", "kind"});
             const std::string condition = body.string("condition", 4096);
             auto clear = body.opt_string("clear_condition", 4096);
             rules::CheckOptions options;
             if (auto kind = body.opt_string("kind", 16)) {
               const auto& kinds = rules::worker_kinds();
               if (std::find(kinds.begin(), kinds.end(), *kind) == kinds.end()) {
                 throw ApiError::bad_request("kind: must be asic, rig, node or device", "kind");
               }
               options.kind = *kind;
             }
             rules::MetricCatalogue catalogue;
             call.db().transact(
                 [&](pqxx::transaction_base& tx) { catalogue = alerting::load_catalogue(tx); });
             json errors = json::array();
             json metrics = json::array();
             auto check = [&](const std::string& text, const char* field) {
               auto result = rules::compile_condition(text, catalogue, options);
               if (const auto* e = std::get_if<rules::ConditionError>(&result)) {
                 errors.push_back({{"field", field},
                                   {"position", e->position},
                                   {"length", e->length},
                                   {"column", e->column},
                                   {"message", sanitize_utf8(e->message)}});
               } else if (std::string_view(field) == "condition") {
                 metrics = std::get<rules::CheckedCondition>(result).metrics;
               }
             };
             check(condition, "condition");
             if (clear) check(*clear, "clear_condition");
             return Reply{
                 .body = {{"valid", errors.empty()}, {"errors", errors}, {"metrics", metrics}}};
           },
       .read_only = true});

  router.add({.method = "POST",
              .path = "/api/rules/test",
              .tag = "rules",
              .summary = "Which workers a condition matches right now, with the value of every "
                         "term (writes nothing)",
              .request_schema = kRule,
              .response_schema = {{"type", "object"},
                                  {"properties",
                                   {{"matches", {{"type", "array"}}},
                                    {"evaluated", {{"type", "integer"}}},
                                    {"no_data", {{"type", "integer"}}}}}},
              .handler =
                  [](Call& call) {
                    JsonBody body = call.body();
                    json base = {{"name", "test"}};
                    rules::RuleSpec spec = parse_rule(body, base);
                    RuleTestSlot slot;
                    json matches = json::array();
                    json out;
                    try {
                      call.db().transact([&](pqxx::transaction_base& tx) {
                        tx.exec(kRuleTestTimeout);
                        auto problems = rules::validate_rule(spec, alerting::load_catalogue(tx));
                        if (!problems.empty()) throw refused(problems);
                        auto probe = alerting::probe_rule(tx, spec);
                        if (!probe)
                          throw ApiError::bad_request(probe.error().message(), "condition");
                        for (const auto& row : probe->rows) {
                          if (row.result != rules::Truth::kTrue) continue;
                          json values = json::object();
                          for (const auto& t : row.terms) {
                            if (t.number)
                              values[t.expression] = *t.number;
                            else if (t.state)
                              values[t.expression] = *t.state;
                            else
                              values[t.expression] = nullptr;
                          }
                          matches.push_back({{"worker_id", row.worker.id},
                                             {"name", row.worker.name},
                                             {"kind", row.worker.kind},
                                             {"values", values}});
                          if (matches.size() >= 1000) break;
                        }
                        out = {{"matches", matches},
                               {"matched", probe->matched},
                               {"evaluated", static_cast<std::int64_t>(probe->rows.size())},
                               {"no_data", probe->no_data}};
                      });
                    } catch (const pqxx::sql_error& e) {
                      if (e.sqlstate() != "57014") throw;
                      throw ApiError::unprocessable(
                          "the test took longer than 5 s: narrow its scope", "scope");
                    }
                    return Reply{.body = out};
                  },
              .read_only = true});
}

void add_alert_routes(Router& router) {
  router.add(
      {.method = "GET",
       .path = "/api/alerts",
       .tag = "alerts",
       .summary = "Alert episodes, newest first: open (pending or firing) ones and history",
       .response_schema = page_schema(kAlert),
       .query_parameters = {query_param("state", "string", "open, pending, firing or resolved"),
                            query_param("worker_id", "integer", "only this worker"),
                            query_param("rule_id", "integer", "only this rule"),
                            query_param("severity", "string", "info, warning or critical"),
                            query_param("limit", "integer", "1..1000 (default 100)"),
                            query_param("after", "integer", "cursor from the previous page")},
       .cache_ttl = std::chrono::milliseconds(1000),
       .handler = [](Call& call) {
         auto state = call.query("state", 16);
         if (state && *state != "open" && *state != "pending" && *state != "firing" &&
             *state != "resolved") {
           throw ApiError::bad_request(
               "query parameter 'state' must be open, pending, firing or resolved", "state");
         }
         auto severity = call.query("severity", 16);
         if (severity && *severity != "info" && *severity != "warning" && *severity != "critical") {
           throw ApiError::bad_request(
               "query parameter 'severity' must be info, warning or critical", "severity");
         }
         auto worker = call.query_opt_int("worker_id", 1, INT64_MAX);
         auto rule = call.query_opt_int("rule_id", 1, INT64_MAX);
         const auto limit = call.query_int("limit", 100, 1, 1000);
         const auto after = call.query_opt_int("after", 1, INT64_MAX);
         json page;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto rows = tx.exec_params(kAlertSelect +
                                          "WHERE ($1::bigint IS NULL OR a.id < $1)"
                                          "  AND ($2::text IS NULL OR ($2 = 'open' AND a.state <> "
                                          "'resolved') OR a.state = $2)"
                                          "  AND ($3::bigint IS NULL OR a.worker_id = $3)"
                                          "  AND ($4::bigint IS NULL OR a.rule_id = $4)"
                                          "  AND ($5::text IS NULL OR a.severity = $5)"
                                          " ORDER BY a.id DESC LIMIT $6",
                                      after, state, worker, rule, severity, limit + 1);
           page = keyset_page(rows, limit, alert_json);
         });
         return Reply{.body = page};
       }});

  router.add({.method = "GET",
              .path = "/api/alerts/{id}",
              .tag = "alerts",
              .summary = "One alert episode with its triggered / resolved events",
              .response_schema = kAlert,
              .handler = [](Call& call) {
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  auto rows = tx.exec_params(kAlertSelect + "WHERE a.id = $1", call.id());
                  if (rows.empty())
                    throw ApiError::not_found("alert " + std::to_string(call.id()) + " not found");
                  out = alert_json(rows[0]);
                  json events = json::array();
                  for (const auto& e : tx.exec_params(
                           "SELECT id, event, " + iso_sql("at") +
                               ", condition, metric, operator, threshold_value, current_value, "
                               "resolution, "
                               "metadata::text FROM alert_events WHERE alert_id = $1 ORDER BY id",
                           call.id())) {
                    json metadata = json::parse(e[9].as<std::string>(), nullptr, false);
                    events.push_back(
                        {{"id", e[0].as<std::int64_t>()},
                         {"event", e[1].as<std::string>()},
                         {"at", e[2].as<std::string>()},
                         {"condition", e[3].as<std::string>()},
                         {"metric", opt_text(e[4])},
                         {"operator", opt_text(e[5])},
                         {"threshold_value", opt_double(e[6])},
                         {"current_value", opt_double(e[7])},
                         {"resolution", opt_text(e[8])},
                         {"metadata", metadata.is_discarded() ? json::object() : metadata}});
                  }
                  out["events"] = events;
                });
                return Reply{.body = out};
              }});

  router.add(
      {.method = "POST",
       .path = "/api/alerts/{id}/ack",
       .tag = "alerts",
       .summary =
           "Acknowledge an open alert (someone is on it); notifications and the ladder go on",
       .role = Role::kOperator,
       .response_schema = kAlert,
       .handler = [](Call& call) {
         const std::int64_t id = call.id();
         call.audit_target("alert:" + std::to_string(id));
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           auto rows = tx.exec_params(
               "SELECT state, acknowledged_at IS NOT NULL FROM alerts WHERE id = $1 "
               "FOR UPDATE",
               id);
           if (rows.empty())
             throw ApiError::not_found("alert " + std::to_string(id) + " not found");
           if (rows[0][0].as<std::string>() == "resolved") {
             throw ApiError::conflict("alert " + std::to_string(id) +
                                      " is resolved; only open alerts are acknowledged");
           }
           if (!rows[0][1].as<bool>()) {
             tx.exec_params(
                 "UPDATE alerts SET acknowledged_at = now(), acknowledged_by = $2 WHERE id = $1",
                 id, call.who().name);
           }
           out = alert_json(tx.exec_params(kAlertSelect + "WHERE a.id = $1", id)[0]);
         });
         return Reply{.body = out};
       }});

  router.add(
      {.method = "GET",
       .path = "/api/silences",
       .tag = "alerts",
       .summary = "Silences (maintenance windows): active and scheduled ones, or all with all=true",
       .response_schema = {{"type", "object"},
                           {"properties", {{"items", {{"type", "array"}, {"items", kSilence}}}}}},
       .query_parameters = {query_param("active", "boolean", "only silences in force now"),
                            query_param("all", "boolean", "ended ones too (the last 1000)")},
       .handler = [](Call& call) {
         const bool active = call.query_bool("active").value_or(false);
         const bool all = call.query_bool("all").value_or(false);
         json items = json::array();
         call.db().transact([&](pqxx::transaction_base& tx) {
           for (const auto& r :
                tx.exec_params(kSilenceSelect + "WHERE ($1 OR s.ends_at > now()) AND (NOT $2 OR "
                                                "(s.starts_at <= now() AND s.ends_at > now()))"
                                                " ORDER BY s.id DESC LIMIT 1000",
                               all, active)) {
             items.push_back(silence_json(r));
           }
         });
         return Reply{.body = {{"items", items}}};
       }});

  router.add(
      {.method = "POST",
       .path = "/api/silences",
       .tag = "alerts",
       .summary =
           "Silence matching alerts for a while: give worker_id, farm_id, labels and/or rule_id, "
           "a duration (\"2h\") or ends_at, and a reason",
       .role = Role::kOperator,
       .request_schema = {{"type", "object"},
                          {"required", {"reason"}},
                          {"properties",
                           {{"worker_id", {{"type", "integer"}}},
                            {"farm_id", {{"type", "integer"}}},
                            {"rule_id", {{"type", "integer"}}},
                            {"labels", {{"type", "object"}}},
                            {"starts_at", {{"type", "string"}}},
                            {"ends_at", {{"type", "string"}}},
                            {"duration", {{"type", "string"}}},
                            {"reason", {{"type", "string"}}}}}},
       .response_schema = kSilence,
       .success_status = 201,
       .handler = [](Call& call) {
         JsonBody body = call.body();
         body.only({"worker_id", "farm_id", "rule_id", "labels", "starts_at", "ends_at", "duration",
                    "reason"});
         alerting::SilenceRequest request;
         request.worker_id = body.opt_integer("worker_id", 1, INT64_MAX);
         request.farm_id = body.opt_integer("farm_id", 1, INT64_MAX);
         request.rule_id = body.opt_integer("rule_id", 1, INT64_MAX);
         if (auto labels = body.opt_object("labels")) {
           auto parsed = rules::labels_from_json(labels->dump(), "labels");
           if (!parsed) throw ApiError::bad_request(parsed.error().message(), "labels");
           request.labels = std::move(parsed).value();
         }
         request.reason = body.string("reason", 1000);
         if (trim(request.reason).empty()) throw ApiError::bad_request("reason: say why", "reason");
         request.created_by = call.who().name;
         if (!request.worker_id && !request.farm_id && !request.rule_id && request.labels.empty()) {
           throw ApiError::bad_request(
               "a silence needs at least one of worker_id, farm_id, labels or rule_id",
               "worker_id");
         }
         if (body.has("duration") == body.has("ends_at")) {
           throw ApiError::bad_request("give either duration or ends_at",
                                       body.has("duration") ? "ends_at" : "duration");
         }
         json out;
         call.db().transact([&](pqxx::transaction_base& tx) {
           if (request.worker_id) require_row(tx, "workers", *request.worker_id, "worker_id");
           if (request.farm_id) require_row(tx, "farms", *request.farm_id, "farm_id");
           if (request.rule_id) require_row(tx, "rules", *request.rule_id, "rule_id");
           std::int64_t starts_in = 0;
           if (auto starts = body.opt_string("starts_at", 40)) {
             starts_in = std::max<std::int64_t>(0, millis_until(*starts, "starts_at"));
           }
           if (body.has("duration")) {
             request.duration = duration_field(body, "duration");
           } else {
             const std::int64_t until = millis_until(body.string("ends_at", 40), "ends_at");
             if (until <= starts_in)
               throw ApiError::bad_request("ends_at: must be in the future and after starts_at",
                                           "ends_at");
             if (until > std::int64_t{366} * 24 * 3600 * 1000) {
               throw ApiError::bad_request("ends_at: at most a year from now", "ends_at");
             }
             request.duration = std::chrono::milliseconds(until - starts_in);
           }
           request.starts_in = std::chrono::milliseconds(starts_in);
           auto id = alerting::add_silence(tx, request);
           if (!id)
             throw ApiError::bad_request(id.error().message(), field_of(id.error().message()));
           out = silence_json(tx.exec_params(kSilenceSelect + "WHERE s.id = $1", *id)[0]);
         });
         call.audit_target("silence:" + std::to_string(out["id"].get<std::int64_t>()));
         call.audit_detail("reason", request.reason);
         return Reply{.body = out};
       }});

  router.add({.method = "DELETE",
              .path = "/api/silences/{id}",
              .tag = "alerts",
              .summary = "End an active silence now (or cancel a scheduled one)",
              .role = Role::kOperator,
              .response_schema = kSilence,
              .handler = [](Call& call) {
                const std::int64_t id = call.id();
                call.audit_target("silence:" + std::to_string(id));
                json out;
                call.db().transact([&](pqxx::transaction_base& tx) {
                  Status ended = alerting::end_silence(tx, id, call.who().name);
                  if (!ended.ok()) {
                    if (ended.error().kind() == ErrorKind::kNotFound) {
                      throw ApiError::not_found("silence " + std::to_string(id) + " not found");
                    }
                    throw ApiError::conflict(ended.error().message());
                  }
                  out = silence_json(tx.exec_params(kSilenceSelect + "WHERE s.id = $1", id)[0]);
                });
                return Reply{.body = out};
              }});
}

}  // namespace fleet::gateway
