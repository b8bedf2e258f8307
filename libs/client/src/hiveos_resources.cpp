// HiveOS accounts (issue 11).
#include <algorithm>

#include "client/client.h"
#include "record_reader.h"
#include "session.h"

namespace fleet::client {
namespace {

using json = nlohmann::json;
using record::dump;
using record::items_of;
using record::Reader;

HiveosAccount account_of(const json& j) {
  Reader r(j, "HiveOS account");
  HiveosAccount a;
  a.id = r.i64("id");
  a.name = r.str("name");
  a.base_url = r.str("base_url");
  a.token_hint = r.opt_str("token_hint").value_or("");
  a.enabled = r.boolean("enabled");
  a.exec_enabled = r.boolean("exec_enabled");
  a.requests_per_minute = r.num("requests_per_minute");
  a.burst = r.i64("burst");
  a.state = r.str("state");
  a.state_reason = r.opt_str("state_reason").value_or("");
  a.last_sync_at = r.opt_str("last_sync_at");
  a.farms = r.opt_i64("farms").value_or(0);
  a.workers = r.opt_i64("workers").value_or(0);
  a.raw = dump(j);
  return a;
}

json draft_json(const HiveosAccountDraft& d) {
  json j = json::object();
  if (d.name) j["name"] = *d.name;
  if (d.base_url) j["base_url"] = *d.base_url;
  if (d.token) j["token"] = *d.token;
  if (d.requests_per_minute) j["requests_per_minute"] = *d.requests_per_minute;
  if (d.burst) j["burst"] = *d.burst;
  if (d.enabled) j["enabled"] = *d.enabled;
  if (d.exec_enabled) j["exec_enabled"] = *d.exec_enabled;
  return j;
}

std::string account_path(std::int64_t id) {
  return "/api/hiveos/accounts/" + std::to_string(id);
}

}  // namespace

std::vector<HiveosAccount> HiveosApi::accounts() {
  std::vector<HiveosAccount> out;
  for (const auto& item : items_of(s_.call("GET", "/api/hiveos/accounts")))
    out.push_back(account_of(item));
  return out;
}

HiveosAccount HiveosApi::account(std::int64_t id) {
  return account_of(s_.call("GET", account_path(id)));
}

HiveosAccount HiveosApi::find_account(const std::string& name_or_id) {
  const bool digits = !name_or_id.empty() && name_or_id.size() < 19 &&
                      std::all_of(name_or_id.begin(), name_or_id.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
  auto all = accounts();
  if (digits) {
    const std::int64_t id = std::stoll(name_or_id);
    for (const auto& a : all) {
      if (a.id == id) return a;
    }
  }
  for (const auto& a : all) {
    if (a.name == name_or_id) return a;
  }
  throw NotFoundError(404, "not_found", "no HiveOS account named or numbered '" + name_or_id + "'",
                      "account");
}

HiveosAccount HiveosApi::add(const HiveosAccountDraft& draft) {
  json body = draft_json(draft);
  return account_of(s_.call("POST", "/api/hiveos/accounts", &body));
}

HiveosAccount HiveosApi::update(std::int64_t id, const HiveosAccountDraft& change) {
  json body = draft_json(change);
  return account_of(s_.call("PATCH", account_path(id), &body));
}

std::int64_t HiveosApi::remove(std::int64_t id) {
  json answer = s_.call("DELETE", account_path(id));
  return answer.is_object() && answer.contains("workers_removed") &&
                 answer["workers_removed"].is_number_integer()
             ? answer["workers_removed"].get<std::int64_t>()
             : 0;
}

}  // namespace fleet::client
