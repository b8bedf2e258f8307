#include "nodeagent/gateway.h"

#include <nlohmann/json.hpp>

#include "core/json_depth.h"
#include "core/strings.h"
#include "nodeagent/http_call.h"

namespace fleet::nodeagent {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxReply = 4 << 20;
constexpr int kMaxDepth = 32;

struct Answer {
  int status = 0;
  json body;
};

// The gateway's error message, if it sent one ({"error": "..."} or {"error": {"message": ...}}).
std::string error_text(const json& body) {
  if (!body.is_object() || !body.contains("error")) return "";
  const json& e = body["error"];
  if (e.is_string()) return sanitize_utf8(e.get<std::string>());
  if (e.is_object() && e.contains("message") && e["message"].is_string()) {
    return sanitize_utf8(e["message"].get<std::string>());
  }
  return "";
}

Error status_error(const std::string& what, const Answer& a) {
  std::string text = what + ": HTTP " + std::to_string(a.status);
  if (auto m = error_text(a.body); !m.empty()) text += " (" + m + ")";
  if (a.status == 401) return Error(ErrorKind::kUnauthenticated, text);
  if (a.status == 403) return Error(ErrorKind::kPermissionDenied, text);
  if (a.status == 409) return Error(ErrorKind::kFailedPrecondition, text);
  if (a.status == 429) return Error(ErrorKind::kResourceExhausted, text);
  if (a.status >= 400 && a.status < 500) return Error::invalid(text);
  return Error::unavailable(text);
}

Result<Answer> exchange(const GatewayOptions& o, const std::string& method, const std::string& path,
                        const std::string& credential, const std::string& body) {
  HttpCall c;
  c.method = method;
  std::string base = o.url;
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  c.url = base + path;
  c.connect_timeout = o.connect_timeout;
  c.timeout = o.timeout;
  c.max_reply_bytes = kMaxReply;
  c.ca_file = o.ca_file;
  c.headers.push_back("Accept: application/json");
  if (!body.empty()) c.headers.push_back("Content-Type: application/json");
  if (!credential.empty()) c.headers.push_back("Authorization: Bearer " + credential);
  c.body = body;
  auto reply = perform(c);
  if (!reply.ok()) {
    return Error(reply.error().kind(), method + " " + path + ": " + reply.error().message());
  }
  Answer a;
  a.status = reply->status;
  if (!reply->body.empty() && json_nesting_depth(reply->body, kMaxDepth) <= kMaxDepth) {
    a.body = json::parse(reply->body, nullptr, false);
    if (a.body.is_discarded()) a.body = json();
  }
  return a;
}

std::int64_t int_or(const json& o, const char* key, std::int64_t fallback) {
  if (!o.is_object()) return fallback;
  auto it = o.find(key);
  return it != o.end() && it->is_number_integer() ? it->get<std::int64_t>() : fallback;
}

std::string node_path(std::int64_t node_id) {
  return "/api/nodes/" + std::to_string(node_id);
}

}  // namespace

namespace {

json facts_json(const HostFacts& f, const EngineFacts& engine) {
  return {{"hostname", f.hostname},
          {"addresses", f.addresses},
          {"capacity",
           {{"cpu_cores", f.cpu_cores}, {"memory_mb", f.memory_mb}, {"disk_gb", f.disk_gb}}},
          {"os", f.os},
          {"kernel", f.kernel},
          {"engine", engine.engine},
          {"engine_version", engine.engine_version},
          {"agent_version", engine.agent_version}};
}

}  // namespace

std::string registration_body(const std::string& token, const HostFacts& f,
                              const EngineFacts& engine) {
  json body = facts_json(f, engine);
  body["token"] = token;
  if (!f.machine_id.empty()) body["machine_id"] = f.machine_id;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string facts_body(const HostFacts& f, const EngineFacts& engine) {
  return facts_json(f, engine).dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Registration> GatewayClient::register_node(const std::string& token, const HostFacts& facts,
                                                  const EngineFacts& engine) const {
  auto a = exchange(options_, "POST", "/api/nodes/register", "",
                    registration_body(token, facts, engine));
  if (!a.ok()) return a.error();
  if (a->status != 201 && a->status != 200) return status_error("register", *a);
  Registration r;
  r.node_id = int_or(a->body, "node_id", 0);
  if (r.node_id <= 0 || !a->body.contains("credential") || !a->body["credential"].is_string()) {
    return Error(ErrorKind::kDataLoss, "register: the reply has no node_id or credential");
  }
  r.credential = a->body["credential"].get<std::string>();
  if (a->body.contains("name") && a->body["name"].is_string()) {
    r.name = sanitize_utf8(a->body["name"].get<std::string>());
  }
  r.heartbeat_interval_s = static_cast<int>(int_or(a->body, "heartbeat_interval_s", 30));
  r.command_poll_s = static_cast<int>(int_or(a->body, "command_poll_s", 5));
  return r;
}

Result<HeartbeatReply> GatewayClient::heartbeat(std::int64_t node_id, const std::string& credential,
                                                const std::string& body) const {
  auto a = exchange(options_, "POST", node_path(node_id) + "/heartbeat", credential, body);
  if (!a.ok()) return a.error();
  if (a->status != 200) return status_error("heartbeat", *a);
  HeartbeatReply r;
  r.heartbeat_interval_s = static_cast<int>(int_or(a->body, "heartbeat_interval_s", 0));
  r.commands_pending = int_or(a->body, "commands_pending", 0);
  return r;
}

std::vector<std::string> changed_facts(const HostFacts& a, const EngineFacts& ea,
                                       const HostFacts& b, const EngineFacts& eb) {
  std::vector<std::string> out;
  auto check = [&](const char* name, bool same) {
    if (!same) out.emplace_back(name);
  };
  check("hostname", a.hostname == b.hostname);
  check("addresses", a.addresses == b.addresses);
  check("cpu_cores", a.cpu_cores == b.cpu_cores);
  check("memory_mb", a.memory_mb == b.memory_mb);
  check("disk_gb", a.disk_gb == b.disk_gb);
  check("os", a.os == b.os);
  check("kernel", a.kernel == b.kernel);
  check("engine", ea.engine == eb.engine);
  check("engine_version", ea.engine_version == eb.engine_version);
  check("agent_version", ea.agent_version == eb.agent_version);
  return out;
}

Status GatewayClient::report_facts(std::int64_t node_id, const std::string& credential,
                                   const std::string& body) const {
  auto a = exchange(options_, "PUT", node_path(node_id) + "/facts", credential, body);
  if (!a.ok()) return a.error();
  if (a->status == 404 || a->status == 405) {
    return Error(ErrorKind::kNotFound, "facts: HTTP " + std::to_string(a->status) +
                                           " (the gateway does not take facts after registration)");
  }
  if (a->status != 200) return status_error("facts", *a);
  return Status::success();
}

Result<std::string> GatewayClient::rotate_credential(std::int64_t node_id,
                                                     const std::string& credential) const {
  auto a = exchange(options_, "POST", node_path(node_id) + "/credential/rotate", credential, "{}");
  if (!a.ok()) return a.error();
  if (a->status != 200) return status_error("credential rotation", *a);
  if (!a->body.is_object() || !a->body.contains("credential") ||
      !a->body["credential"].is_string()) {
    return Error(ErrorKind::kDataLoss, "credential rotation: the reply has no credential");
  }
  return a->body["credential"].get<std::string>();
}

Result<std::vector<AgentCommand>> GatewayClient::claim_commands(
    std::int64_t node_id, const std::string& credential) const {
  auto a = exchange(options_, "GET", node_path(node_id) + "/commands", credential, "");
  if (!a.ok()) return a.error();
  if (a->status != 200) return status_error("command poll", *a);
  if (!a->body.is_object() || !a->body.contains("commands") || !a->body["commands"].is_array()) {
    return Error(ErrorKind::kDataLoss, "command poll: the reply has no commands array");
  }
  std::vector<AgentCommand> out;
  for (const auto& c : a->body["commands"]) {
    AgentCommand cmd;
    cmd.id = int_or(c, "id", 0);
    if (cmd.id <= 0 || !c.contains("action") || !c["action"].is_string()) continue;
    cmd.action = sanitize_utf8(c["action"].get<std::string>());
    cmd.params_json = c.contains("params")
                          ? c["params"].dump(-1, ' ', false, json::error_handler_t::replace)
                          : "{}";
    cmd.attempts = static_cast<int>(int_or(c, "attempts", 0));
    out.push_back(std::move(cmd));
  }
  return out;
}

Status GatewayClient::post_result(std::int64_t node_id, const std::string& credential,
                                  std::int64_t command_id, const CommandOutcome& outcome) const {
  json body = {{"ok", outcome.ok}};
  json result = json::parse(outcome.result_json, nullptr, false);
  body["result"] = result.is_object() ? result : json::object();
  if (!outcome.ok) body["error"] = outcome.error;
  auto a = exchange(options_, "POST",
                    node_path(node_id) + "/commands/" + std::to_string(command_id) + "/result",
                    credential, body.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!a.ok()) return a.error();
  if (a->status != 200) return status_error("command result", *a);
  return Status::success();
}

}  // namespace fleet::nodeagent
