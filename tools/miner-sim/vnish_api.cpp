#include "vnish_api.h"

#include <nlohmann/json.hpp>

#include "body_faults.h"
#include "json_writer.h"
#include "payloads.h"

namespace fleet::minersim {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

enum class Auth { kNone, kBearer, kKey, kEither };

struct Route {
  Endpoint endpoint;
  bool get;
  bool post;
  Auth get_auth;
  Auth post_auth;
};

constexpr Route kRoutes[] = {
    {Endpoint::kRoot, true, false, Auth::kNone, Auth::kNone},
    {Endpoint::kInfo, true, false, Auth::kNone, Auth::kNone},
    {Endpoint::kModel, true, false, Auth::kNone, Auth::kNone},
    {Endpoint::kUnlock, false, true, Auth::kNone, Auth::kNone},
    {Endpoint::kLock, false, true, Auth::kNone, Auth::kBearer},
    {Endpoint::kLockOthers, false, true, Auth::kNone, Auth::kBearer},
    {Endpoint::kAuthCheck, true, false, Auth::kEither, Auth::kNone},
    {Endpoint::kApiKeys, true, true, Auth::kBearer, Auth::kBearer},
    {Endpoint::kApiKeysDelete, false, true, Auth::kNone, Auth::kBearer},
    {Endpoint::kStatus, true, false, Auth::kNone, Auth::kNone},
    {Endpoint::kSummary, true, false, Auth::kEither, Auth::kNone},
    {Endpoint::kPerfSummary, true, false, Auth::kNone, Auth::kNone},
    {Endpoint::kChains, true, false, Auth::kNone, Auth::kNone},
    {Endpoint::kChainsFactoryInfo, true, false, Auth::kNone, Auth::kNone},
    {Endpoint::kChips, true, false, Auth::kNone, Auth::kNone},
    {Endpoint::kAutotunePresets, true, false, Auth::kEither, Auth::kNone},
    {Endpoint::kSettings, true, true, Auth::kKey, Auth::kEither},
    {Endpoint::kMiningStart, false, true, Auth::kNone, Auth::kEither},
    {Endpoint::kMiningStop, false, true, Auth::kNone, Auth::kEither},
    {Endpoint::kMiningPause, false, true, Auth::kNone, Auth::kEither},
    {Endpoint::kMiningResume, false, true, Auth::kNone, Auth::kEither},
    {Endpoint::kMiningRestart, false, true, Auth::kNone, Auth::kEither},
    {Endpoint::kMiningSwitchPool, false, true, Auth::kNone, Auth::kEither},
    {Endpoint::kSystemReboot, false, true, Auth::kNone, Auth::kEither},
    {Endpoint::kFindMiner, false, true, Auth::kNone, Auth::kNone},
    {Endpoint::kLogs, true, false, Auth::kNone, Auth::kNone},
};

const Route* find_route(Endpoint e) {
  for (const auto& r : kRoutes) {
    if (r.endpoint == e) return &r;
  }
  return nullptr;
}

void plain(http::Response& out, int status, std::string text) {
  out.status = status;
  out.content_type = "text/plain; charset=utf-8";
  out.set_body(std::move(text));
}

void json_body(http::Response& out, std::string text) {
  out.status = 200;
  out.content_type = "application/json; charset=utf-8";
  out.set_body(std::move(text));
}

void empty_ok(http::Response& out) {
  out.status = 200;
  out.content_type = "text/plain; charset=utf-8";
  out.body.clear();
}

void err500(http::Response& out, std::string_view message) {
  std::string body;
  JsonWriter(body).begin_object().field("err", message).end_object();
  out.status = 500;
  out.content_type = "application/json; charset=utf-8";
  out.set_body(std::move(body));
}

// Parses a JSON request body into an object; on failure answers 400 the way the firmware's
// framework does and returns nullopt.
std::optional<json> body_object(const http::Request& req, std::string_view schema,
                                http::Response& out, bool allow_empty = false) {
  if (req.body.empty() && allow_empty) return json::object();
  json doc = json::parse(req.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    plain(out, 400,
          "parse request payload error: failed to parse \"" + std::string(schema) +
              "\": expected a JSON object");
    return std::nullopt;
  }
  return doc;
}

// A required string field; answers 400 naming it when missing or of the wrong type.
const std::string* string_field(const json& doc, std::string_view field, std::string_view schema,
                                http::Response& out) {
  auto it = doc.find(std::string(field));
  if (it == doc.end() || !it->is_string()) {
    plain(out, 400,
          "parse request payload error: failed to parse \"" + std::string(schema) +
              "\": " + (it == doc.end() ? "missing field `" : "invalid type for field `") +
              std::string(field) + "`");
    return nullptr;
  }
  return &it->get_ref<const std::string&>();
}

void answer_command(http::Response& out, const CommandError& error) {
  if (error) {
    err500(out, *error);
  } else {
    empty_ok(out);
  }
}

void handle_apikeys_post(Miner& m, const http::Request& req, http::Response& out) {
  auto doc = body_object(req, "ApiKeysJsonItem", out);
  if (!doc) return;
  const std::string* key = string_field(*doc, "key", "ApiKeysJsonItem", out);
  if (!key) return;
  const std::string* description = string_field(*doc, "description", "ApiKeysJsonItem", out);
  if (!description) return;
  const char* status = nullptr;
  switch (m.add_key(*key, *description)) {
    case AddKeyStatus::kBadFormat:
      plain(out, 422, "Wrong apikey format");
      return;
    case AddKeyStatus::kStoreFull:
      err500(out, "Too many api keys");
      return;
    case AddKeyStatus::kInserted:
      status = "inserted";
      break;
    case AddKeyStatus::kUpdated:
      status = "updated";
      break;
    case AddKeyStatus::kNoChanges:
      status = "nochanges";
      break;
  }
  std::string body;
  JsonWriter(body).begin_object().field("status", status).end_object();
  json_body(out, std::move(body));
}

void handle_settings_post(Miner& m, const http::Request& req, Now now, http::Response& out) {
  auto doc = body_object(req, "InputConfig", out);
  if (!doc) return;
  if (auto pw = doc->find("password"); pw != doc->end() && pw->is_object()) {
    const auto cur = pw->find("current");
    const auto next = pw->find("pw");
    if (cur == pw->end() || next == pw->end() || !cur->is_string() || !next->is_string()) {
      plain(out, 400, "parse request payload error: failed to parse \"PasswordChange\"");
      return;
    }
    if (!m.change_password(cur->get<std::string>(), next->get<std::string>())) {
      err500(out, "Current password is incorrect");
      return;
    }
  }
  if (auto miner = doc->find("miner"); miner != doc->end() && miner->is_object()) {
    if (auto oc = miner->find("overclock"); oc != miner->end() && oc->is_object()) {
      if (auto preset = oc->find("preset"); preset != oc->end() && preset->is_string()) {
        // An unknown preset is silently ignored: the firmware answers the same "nothing
        // required" either way (pyasic verifies by re-reading GET /settings).
        (void)m.set_preset(preset->get<std::string>(), now);
      }
    }
    if (auto misc = miner->find("misc"); misc != miner->end() && misc->is_object()) {
      if (auto q = misc->find("quiet_mode"); q != misc->end() && q->is_boolean()) {
        m.quiet_mode = q->get<bool>();
      }
    }
  }
  json_body(out, R"({"restart_required":false,"reboot_required":false})");
}

}  // namespace

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kBearer = "bearer ";
  if (authorization.size() > kBearer.size()) {
    bool match = true;
    for (size_t i = 0; i < kBearer.size(); ++i) {
      char c = authorization[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c != kBearer[i]) match = false;
    }
    if (match) authorization.remove_prefix(kBearer.size());
  }
  while (!authorization.empty() && authorization.front() == ' ')
    authorization.remove_prefix(1);
  return authorization;
}

ApiEffects handle_vnish(Miner& m, const http::Request& req, Endpoint e, Now now,
                        http::Response& out, Readings& scratch) {
  ApiEffects effects;
  out = http::Response{};
  const Route* route = find_route(e);
  if (!route) {
    plain(out, 404, "");
    return effects;
  }
  const bool is_get = req.method == "GET" || req.method == "HEAD";
  const bool is_post = req.method == "POST";
  if ((is_get && !route->get) || (is_post && !route->post) || (!is_get && !is_post)) {
    plain(out, 405, "");
    out.extra_headers = route->get && route->post ? "allow: GET, POST\r\n"
                        : route->get              ? "allow: GET\r\n"
                                                  : "allow: POST\r\n";
    return effects;
  }
  const std::string_view token = bearer_token(req.authorization);
  const bool bearer_ok = m.token_valid(token, now);
  const bool key_ok = m.key_valid(req.api_key);
  const Auth auth = is_get ? route->get_auth : route->post_auth;
  const bool authorized = auth == Auth::kNone || (auth == Auth::kBearer && bearer_ok) ||
                          (auth == Auth::kKey && key_ok) ||
                          (auth == Auth::kEither && (bearer_ok || key_ok));
  if (!authorized) {
    plain(out, 401, "");
    return effects;
  }

  std::string body;
  switch (e) {
    case Endpoint::kRoot:
      out.status = 200;
      out.content_type = "text/html; charset=utf-8";
      out.set_body(web_page(m));
      break;
    case Endpoint::kInfo:
      write_info(body, m, now);
      json_body(out, std::move(body));
      break;
    case Endpoint::kModel:
      write_model(body, m);
      json_body(out, std::move(body));
      break;
    case Endpoint::kUnlock: {
      auto doc = body_object(req, "UnlockScreenBody", out);
      if (!doc) break;
      const std::string* pw = string_field(*doc, "pw", "UnlockScreenBody", out);
      if (!pw) break;
      auto issued = m.unlock(*pw, now);
      if (!issued) {
        plain(out, 403, "Wrong password");
        break;
      }
      JsonWriter(body).begin_object().field("token", *issued).end_object();
      json_body(out, std::move(body));
      break;
    }
    case Endpoint::kLock:
      m.drop_token(token);
      empty_ok(out);
      break;
    case Endpoint::kLockOthers:
      m.drop_other_tokens(token);
      empty_ok(out);
      break;
    case Endpoint::kAuthCheck:
      empty_ok(out);
      break;
    case Endpoint::kApiKeys:
      if (is_get) {
        JsonWriter w(body);
        w.begin_array();
        for (const auto& k : m.keys()) {
          w.begin_object().field("key", k.key).field("description", k.description).end_object();
        }
        w.end_array();
        json_body(out, std::move(body));
      } else {
        handle_apikeys_post(m, req, out);
      }
      break;
    case Endpoint::kApiKeysDelete: {
      auto doc = body_object(req, "DeleteApikeyQuery", out);
      if (!doc) break;
      const std::string* key = string_field(*doc, "key", "DeleteApikeyQuery", out);
      if (!key) break;
      if (!valid_api_key_format(*key)) {
        plain(out, 422, "Wrong apikey format");
        break;
      }
      (void)m.delete_key(*key);  // deleting an unknown key is not an error
      empty_ok(out);
      break;
    }
    case Endpoint::kStatus:
      write_status(body, m, now, bearer_ok || key_ok);
      json_body(out, std::move(body));
      break;
    case Endpoint::kSummary:
      read_miner(m, now, scratch);
      body.reserve(8192);
      write_summary(body, m, scratch);
      json_body(out, std::move(body));
      break;
    case Endpoint::kPerfSummary:
      write_perf_summary(body, m);
      json_body(out, std::move(body));
      break;
    case Endpoint::kChains:
      read_miner(m, now, scratch);
      body.reserve(65536);
      write_chains(body, m, scratch);
      json_body(out, std::move(body));
      break;
    case Endpoint::kChainsFactoryInfo:
      write_factory_info(body, m);
      json_body(out, std::move(body));
      break;
    case Endpoint::kChips:
      read_miner(m, now, scratch);
      write_chips(body, m, scratch);
      json_body(out, std::move(body));
      break;
    case Endpoint::kAutotunePresets:
      write_presets(body, m);
      json_body(out, std::move(body));
      break;
    case Endpoint::kSettings:
      if (is_get) {
        write_settings(body, m);
        json_body(out, std::move(body));
      } else {
        handle_settings_post(m, req, now, out);
      }
      break;
    case Endpoint::kMiningStart:
      answer_command(out, m.mining_start(now));
      break;
    case Endpoint::kMiningStop:
      answer_command(out, m.mining_stop(now));
      break;
    case Endpoint::kMiningPause:
      answer_command(out, m.mining_pause(now));
      break;
    case Endpoint::kMiningResume:
      answer_command(out, m.mining_resume(now));
      break;
    case Endpoint::kMiningRestart:
      answer_command(out, m.mining_restart(now));
      break;
    case Endpoint::kMiningSwitchPool: {
      auto doc = body_object(req, "SwitchPoolQuery", out);
      if (!doc) break;
      auto id = doc->find("pool_id");
      if (id == doc->end() || !id->is_number_integer()) {
        plain(out, 400,
              "parse request payload error: failed to parse \"SwitchPoolQuery\": missing field "
              "`pool_id`");
        break;
      }
      answer_command(out, m.switch_pool(id->get<int64_t>())
                              ? CommandError{}
                              : CommandError{std::string("Could not find pool")});
      break;
    }
    case Endpoint::kSystemReboot: {
      auto doc = body_object(req, "RebootAfter", out, /*allow_empty=*/true);
      if (!doc) break;
      int64_t after = 3;  // "By default, is 3 seconds"
      if (auto a = doc->find("after"); a != doc->end()) {
        if (!a->is_number_integer() || a->get<int64_t>() < 0 || a->get<int64_t>() > 3600) {
          plain(out, 400,
                "parse request payload error: failed to parse \"RebootAfter\": `after` must be "
                "an integer between 0 and 3600");
          break;
        }
        after = a->get<int64_t>();
      }
      effects.reboot_after = milliseconds(after * 1000);
      JsonWriter(body).begin_object().field("after", after).end_object();
      json_body(out, std::move(body));
      break;
    }
    case Endpoint::kFindMiner: {
      const bool on = m.toggle_find_miner();
      JsonWriter(body).begin_object().field("on", on).end_object();
      json_body(out, std::move(body));
      break;
    }
    case Endpoint::kLogs: {
      const std::string_view type = req.path.substr(std::string_view("/api/v1/logs/").size());
      if (type != "status" && type != "miner" && type != "autotune" && type != "system" &&
          type != "messages" && type != "api") {
        plain(out, 404, "");
        break;
      }
      plain(out, 200, log_text(m, type, now));
      break;
    }
    case Endpoint::kUnknown:
    case Endpoint::kCount:
      plain(out, 404, "");
      break;
  }

  if (out.status == 200 && !m.faults().empty()) {
    for (const auto& f : m.faults()) {
      if (!is_body_fault(f.kind)) continue;
      if (!f.path.empty() && f.path != req.path) continue;
      std::string original;
      for (auto& seg : out.body)
        original += seg.text;
      apply_body_fault(f, std::move(original), out);
      break;
    }
  }
  if (req.method == "HEAD") {
    out.declared_length = out.body_size();
    out.body.clear();
  }
  return effects;
}

}  // namespace fleet::minersim
