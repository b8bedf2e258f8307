#include "parse.h"

namespace fleet::client::parse {
namespace {

using json = nlohmann::json;

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Reads fields of one record; errors name the record kind and the field.
class Fields {
 public:
  Fields(const json& j, const char* what) : j_(j), what_(what) {
    if (!j.is_object()) throw ProtocolError(std::string("a ") + what + " is not a JSON object");
  }
  [[noreturn]] void fail(const char* key, const char* expected) const {
    throw ProtocolError(std::string("the ") + what_ + "'s '" + key + "' is missing or not " +
                        expected);
  }
  const json* find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string str(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_string()) fail(key, "a string");
    return v->get<std::string>();
  }
  std::string str_or(const char* key, std::string fallback) const {
    const json* v = find(key);
    return v != nullptr && v->is_string() ? v->get<std::string>() : fallback;
  }
  std::optional<std::string> opt_str(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_string()) fail(key, "a string");
    return v->get<std::string>();
  }
  std::int64_t i64(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_number_integer()) fail(key, "an integer");
    return v->get<std::int64_t>();
  }
  std::int64_t i64_or(const char* key, std::int64_t fallback) const {
    const json* v = find(key);
    return v != nullptr && v->is_number_integer() ? v->get<std::int64_t>() : fallback;
  }
  std::optional<std::int64_t> opt_i64(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (v->is_number_integer()) return v->get<std::int64_t>();
    // Some counts are computed as floating point by PostgreSQL (max(value)).
    if (v->is_number_float()) return static_cast<std::int64_t>(v->get<double>());
    fail(key, "an integer");
  }
  double num(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_number()) fail(key, "a number");
    return v->get<double>();
  }
  std::optional<double> opt_num(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number()) fail(key, "a number");
    return v->get<double>();
  }
  bool boolean(const char* key) const {
    const json* v = find(key);
    if (v == nullptr || !v->is_boolean()) fail(key, "true or false");
    return v->get<bool>();
  }
  bool bool_or(const char* key, bool fallback) const {
    const json* v = find(key);
    return v != nullptr && v->is_boolean() ? v->get<bool>() : fallback;
  }
  std::optional<bool> opt_bool(const char* key) const {
    const json* v = find(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_boolean()) fail(key, "true or false");
    return v->get<bool>();
  }
  // JSON text of any value, "" when absent or null.
  std::string text(const char* key) const {
    const json* v = find(key);
    return v == nullptr ? std::string() : dump(*v);
  }
  Labels labels(const char* key) const {
    Labels out;
    const json* v = find(key);
    if (v == nullptr) return out;
    if (!v->is_object()) fail(key, "an object");
    for (const auto& [k, value] : v->items()) {
      if (value.is_string()) out[k] = value.get<std::string>();
    }
    return out;
  }
  const json& raw() const { return j_; }

 private:
  const json& j_;
  const char* what_;
};

}  // namespace

json labels_json(const Labels& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels)
    j[k] = v;
  return j;
}

json scope_json(const RuleScope& scope) {
  json j = json::object();
  if (scope.kind) j["kind"] = *scope.kind;
  if (scope.farm_id) j["farm_id"] = *scope.farm_id;
  if (scope.worker_id) j["worker_id"] = *scope.worker_id;
  if (!scope.labels.empty()) j["labels"] = labels_json(scope.labels);
  return j;
}

Worker worker(const json& j) {
  Fields f(j, "worker");
  return {.id = f.i64("id"),
          .kind = f.str("kind"),
          .name = f.str("name"),
          .farm_id = f.opt_i64("farm_id"),
          .farm = f.opt_str("farm"),
          .site = f.opt_str("site"),
          .ip = f.opt_str("ip"),
          .status = f.str("status"),
          .status_since = f.str_or("status_since", ""),
          .last_seen_at = f.opt_str("last_seen_at"),
          .managed = f.boolean("managed"),
          .labels = f.labels("labels"),
          .raw = dump(j)};
}

WorkerDetail worker_detail(const json& j) {
  WorkerDetail out{.worker = worker(j), .metrics = {}, .raw = dump(j)};
  Fields f(j, "worker");
  if (const json* metrics = f.find("metrics"); metrics != nullptr && metrics->is_object()) {
    for (const auto& [name, m] : metrics->items()) {
      Fields mf(m, "metric");
      out.metrics[name] = {.value = mf.opt_num("value"),
                           .json_value = mf.text("json_value"),
                           .observed_at = mf.str_or("observed_at", "")};
    }
  }
  return out;
}

Miner miner(const json& j) {
  Fields f(j, "miner");
  Miner m{.id = f.i64("id"),
          .name = f.str_or("name", ""),
          .mac = f.str("mac"),
          .ip = f.opt_str("ip"),
          .online = f.boolean("online"),
          .status = f.str_or("status", ""),
          .managed = f.boolean("managed"),
          .model_alias = f.opt_str("model_alias"),
          .model_name = f.opt_str("model_name"),
          .fw_version = f.opt_str("fw_version"),
          .last_seen_at = f.opt_str("last_seen_at"),
          .api_key_state = f.str_or("api_key_state", ""),
          .last_poll_error = f.opt_str("last_poll_error"),
          .unlock_password_set = f.bool_or("unlock_password_set", false),
          .latest = std::nullopt,
          .raw = dump(j)};
  if (const json* latest = f.find("latest")) {
    Fields l(*latest, "miner status");
    m.latest = MinerStatusSummary{.status_id = l.i64("status_id"),
                                  .observed_at = l.str("observed_at"),
                                  .miner_state = l.opt_str("miner_state"),
                                  .hashrate_ths = l.opt_num("hashrate_ths"),
                                  .hashrate_ratio = l.opt_num("hashrate_ratio"),
                                  .power_w = l.opt_num("power_w"),
                                  .efficiency_jth = l.opt_num("efficiency_jth"),
                                  .chip_temp_max = l.opt_num("chip_temp_max"),
                                  .pcb_temp_max = l.opt_num("pcb_temp_max"),
                                  .fan_rpm_min = l.opt_i64("fan_rpm_min"),
                                  .chips_red = l.opt_i64("chips_red"),
                                  .chips_orange = l.opt_i64("chips_orange")};
  }
  return m;
}

Model model(const json& j) {
  Fields f(j, "model");
  Model m{.alias = f.str("alias"),
          .full_name = f.str_or("full_name", ""),
          .presets = {},
          .max_preset = f.opt_str("max_preset"),
          .miners = f.i64_or("miners", 0),
          .raw = dump(j)};
  if (const json* presets = f.find("presets"); presets != nullptr && presets->is_array()) {
    for (const auto& p : *presets) {
      Fields pf(p, "preset");
      m.presets.push_back({pf.str("name"), pf.str_or("pretty", ""), pf.str_or("status", "")});
    }
  }
  return m;
}

ServiceInstance service(const json& j) {
  Fields f(j, "service instance");
  auto health_port = f.opt_i64("health_port");
  return {.instance_id = f.str("instance_id"),
          .service = f.str("service"),
          .host = f.str_or("host", ""),
          .pid = static_cast<int>(f.i64_or("pid", 0)),
          .version = f.str_or("version", ""),
          .mode = f.str_or("mode", ""),
          .state = f.str("state"),
          .heartbeat_age_seconds = f.opt_num("heartbeat_age_seconds").value_or(0),
          .cycles = f.i64_or("cycles", 0),
          .cycle_errors = f.i64_or("cycle_errors", 0),
          .items_processed = f.i64_or("items_processed", 0),
          .last_success_age_seconds = f.opt_num("last_success_age_seconds"),
          .last_error = f.opt_str("last_error"),
          .leader = f.opt_bool("leader"),
          .health_port =
              health_port ? std::optional<int>(static_cast<int>(*health_port)) : std::nullopt,
          .started_at = f.str_or("started_at", ""),
          .stats_json = f.text("stats"),
          .raw = dump(j)};
}

FleetSummary summary(const json& j) {
  Fields f(j, "summary");
  FleetSummary s{.workers = {},
                 .hashrate_ths = f.opt_num("hashrate_ths").value_or(0),
                 .power_w = f.opt_num("power_w").value_or(0),
                 .alerts_firing = f.opt_i64("alerts_firing"),
                 .raw = dump(j)};
  if (const json* workers = f.find("workers"); workers != nullptr && workers->is_object()) {
    for (const auto& [kind, by_status] : workers->items()) {
      if (!by_status.is_object()) continue;
      for (const auto& [status, n] : by_status.items()) {
        if (n.is_number_integer()) s.workers[kind][status] = n.get<std::int64_t>();
      }
    }
  }
  return s;
}

User user(const json& j) {
  Fields f(j, "user");
  return {.id = f.i64("id"),
          .username = f.str("username"),
          .role = f.str("role"),
          .disabled = f.bool_or("disabled", false),
          .created_at = f.str_or("created_at", ""),
          .last_login_at = f.opt_str("last_login_at"),
          .raw = dump(j)};
}

Identity identity(const json& j) {
  Fields f(j, "identity");
  return {
      .id = f.i64("id"), .name = f.str("name"), .role = f.str("role"), .via = f.str_or("via", "")};
}

ApiKey api_key(const json& j) {
  Fields f(j, "API key");
  return {.id = f.i64("id"),
          .user_id = f.i64_or("user_id", 0),
          .owner = f.str_or("owner", ""),
          .name = f.str("name"),
          .key_id = f.str("key_id"),
          .role = f.str("role"),
          .created_at = f.str_or("created_at", ""),
          .last_used_at = f.opt_str("last_used_at"),
          .expires_at = f.opt_str("expires_at"),
          .revoked_at = f.opt_str("revoked_at"),
          .key = f.str_or("key", ""),
          .raw = dump(j)};
}

}  // namespace fleet::client::parse
