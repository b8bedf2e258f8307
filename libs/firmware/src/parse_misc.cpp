// Mappers for the small payloads: /status, /perf-summary, /apikeys, /unlock, /settings and the
// answers of control endpoints.
#include "json_fields.h"

namespace fleet::firmware {

using detail::FieldReader;
using detail::json;

namespace {

Result<json> object_document(std::string_view body, const PayloadLimits& limits,
                             std::string_view what) {
  auto doc = detail::parse_document(body, limits, what);
  if (!doc.ok()) return doc.error();
  if (!doc->is_object()) return detail::payload_error(what, "expected a JSON object");
  return doc;
}

}  // namespace

Result<StatusPane> parse_status(std::string_view body, const PayloadLimits& limits,
                                FieldIssues* issues) {
  auto doc = object_document(body, limits, "/status");
  if (!doc.ok()) return doc.error();
  FieldReader r(*doc, "", issues);
  StatusPane out;
  auto state = r.string("miner_state", 32);
  if (!state || state->empty()) return detail::payload_error("/status", "miner_state is missing");
  out.miner_state = *state;
  out.miner_state_time_s = r.integer("miner_state_time", 0);
  out.description = r.string("description", 256).value_or("");
  out.failure_code = r.int32("failure_code");
  out.find_miner = r.boolean("find_miner").value_or(false);
  out.unlocked = r.boolean("unlocked").value_or(false);
  out.restart_required = r.boolean("restart_required").value_or(false);
  out.reboot_required = r.boolean("reboot_required").value_or(false);
  return out;
}

Result<PerfSummary> parse_perf_summary(std::string_view body, const PayloadLimits& limits,
                                       FieldIssues* issues) {
  auto doc = object_document(body, limits, "/perf-summary");
  if (!doc.ok()) return doc.error();
  FieldReader r(*doc, "", issues);
  PerfSummary out;
  if (const json* current = r.object("current_preset")) {
    FieldReader c(*current, "current_preset", issues);
    Preset p;
    p.name = c.string("name", 64).value_or("");
    p.pretty = c.string("pretty", 128).value_or(p.name);
    p.tuned = c.string("status", 32).value_or("") == "tuned";
    p.modded_psu_required = c.boolean("modded_psu_required").value_or(false);
    if (!p.name.empty()) out.current_preset = std::move(p);
  }
  FieldReader sw = r.child("preset_switcher");
  out.switcher_enabled = sw.boolean("enabled").value_or(false);
  out.switcher_top_preset = sw.string("top_preset", 64).value_or("");
  out.switcher_min_preset = sw.string("min_preset", 64).value_or("");
  return out;
}

Result<std::vector<ApiKeyEntry>> parse_api_keys(std::string_view body,
                                                const PayloadLimits& limits) {
  auto doc = detail::parse_document(body, limits, "/apikeys");
  if (!doc.ok()) return doc.error();
  if (!doc->is_array()) return detail::payload_error("/apikeys", "expected an array");
  std::vector<ApiKeyEntry> out;
  for (size_t i = 0; i < doc->size() && i < 1024; ++i) {
    FieldReader r((*doc)[i], "", nullptr);
    auto key = r.string("key", 128);
    if (!key) continue;
    out.push_back({*key, r.string("description", 256).value_or("")});
  }
  return out;
}

Result<std::string> parse_unlock(std::string_view body, const PayloadLimits& limits) {
  auto doc = object_document(body, limits, "/unlock");
  if (!doc.ok()) return doc.error();
  auto token = FieldReader(*doc, "", nullptr).string("token", 4096);
  if (!token || token->empty()) return detail::payload_error("/unlock", "token is missing");
  return *token;
}

Result<std::string> parse_add_key_status(std::string_view body, const PayloadLimits& limits) {
  auto doc = object_document(body, limits, "/apikeys");
  if (!doc.ok()) return doc.error();
  auto status = FieldReader(*doc, "", nullptr).string("status", 32);
  if (!status || (*status != "inserted" && *status != "updated" && *status != "nochanges")) {
    return detail::payload_error("/apikeys", "status is not inserted, updated or nochanges");
  }
  return *status;
}

Result<SaveConfigResult> parse_save_config(std::string_view body, const PayloadLimits& limits) {
  auto doc = object_document(body, limits, "/settings");
  if (!doc.ok()) return doc.error();
  FieldReader r(*doc, "", nullptr);
  return SaveConfigResult{r.boolean("restart_required").value_or(false),
                          r.boolean("reboot_required").value_or(false)};
}

Result<SettingsView> parse_settings(std::string_view body, const PayloadLimits& limits) {
  auto doc = object_document(body, limits, "/settings");
  if (!doc.ok()) return doc.error();
  FieldReader overclock = FieldReader(*doc, "", nullptr).child("miner").child("overclock");
  return SettingsView{overclock.string("preset", 64).value_or("")};
}

Result<std::optional<bool>> parse_find_miner(std::string_view body, const PayloadLimits& limits) {
  auto doc = detail::parse_document(body, limits, "/find-miner");
  if (!doc.ok()) return doc.error();
  if (doc->is_null()) return std::optional<bool>();
  if (!doc->is_object()) return detail::payload_error("/find-miner", "expected a JSON object");
  return FieldReader(*doc, "", nullptr).boolean("on");
}

Result<std::optional<std::int64_t>> parse_reboot(std::string_view body,
                                                 const PayloadLimits& limits) {
  if (body.empty()) return std::optional<std::int64_t>();
  auto doc = object_document(body, limits, "/system/reboot");
  if (!doc.ok()) return doc.error();
  return FieldReader(*doc, "", nullptr).integer("after", 0, 86'400);
}

}  // namespace fleet::firmware
