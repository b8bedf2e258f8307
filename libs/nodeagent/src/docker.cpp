#include "nodeagent/docker.h"

#include <nlohmann/json.hpp>

#include "core/json_depth.h"
#include "core/strings.h"
#include "nodeagent/http_call.h"

namespace fleet::nodeagent {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 32;

std::string url_escape_name(const std::string& name) {
  // Names are validated (valid_container_name) or ids (hex): nothing to escape; refuse the rest.
  return name;
}

struct Exchange {
  int status = 0;
  json body;
};

Result<Exchange> call(const DockerOptions& o, const std::string& method, const std::string& path,
                      const std::string& body = "",
                      std::chrono::milliseconds extra_time = std::chrono::milliseconds(0)) {
  HttpCall c;
  c.method = method;
  c.url = "http://docker/" + o.api_version + path;
  c.unix_socket = o.socket;
  c.connect_timeout = o.connect_timeout;
  c.timeout = o.timeout + extra_time;
  c.max_reply_bytes = o.max_reply_bytes;
  if (!body.empty()) c.headers.push_back("Content-Type: application/json");
  c.body = body;
  auto reply = perform(c);
  if (!reply.ok()) {
    return Error(reply.error().kind(),
                 "docker " + method + " " + path + ": " + reply.error().message());
  }
  Exchange ex;
  ex.status = reply->status;
  if (!reply->body.empty()) {
    if (json_nesting_depth(reply->body, kMaxDepth) > kMaxDepth) {
      return Error(ErrorKind::kDataLoss, "docker " + path + ": reply nested too deeply");
    }
    ex.body = json::parse(reply->body, nullptr, false);
    if (ex.body.is_discarded()) ex.body = json();
  }
  return ex;
}

// The engine's own message for a failed call.
Error failure(const std::string& what, const Exchange& ex) {
  std::string message;
  if (ex.body.is_object() && ex.body.contains("message") && ex.body["message"].is_string()) {
    message = ex.body["message"].get<std::string>();
  }
  const std::string text = what + ": HTTP " + std::to_string(ex.status) +
                           (message.empty() ? "" : " " + sanitize_utf8(message));
  // Podman answers a name conflict with 500 "... is already in use" where Docker sends 409.
  if (ex.status == 409 || message.find("already in use") != std::string::npos) {
    return Error(ErrorKind::kAlreadyExists, text);
  }
  switch (ex.status) {
    case 404:
      return Error::not_found(text);
    case 400:
      return Error::invalid(text);
    default:
      return ex.status >= 500 ? Error(ErrorKind::kFailedPrecondition, text) : Error::invalid(text);
  }
}

std::string str(const json& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

bool valid_container_name(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) return false;
  for (char c : name)
    if (!alnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

std::string container_create_body(const ContainerSpec& spec) {
  json body;
  body["Image"] = spec.image;
  if (!spec.cmd.empty()) body["Cmd"] = spec.cmd;
  if (!spec.env.empty()) {
    json env = json::array();
    for (const auto& [k, v] : spec.env)
      env.push_back(k + "=" + v);
    body["Env"] = env;
  }
  json labels = json::object();
  for (const auto& [k, v] : spec.labels)
    labels[k] = v;
  body["Labels"] = labels;
  json host;
  host["Ulimits"] = json::array({
      {{"Name", "nofile"}, {"Soft", spec.ulimits.nofile}, {"Hard", spec.ulimits.nofile}},
      {{"Name", "nproc"}, {"Soft", spec.ulimits.nproc}, {"Hard", spec.ulimits.nproc}},
  });
  if (!spec.ports.empty()) {
    json exposed = json::object();
    json bindings = json::object();
    for (const auto& p : spec.ports) {
      const std::string key = std::to_string(p.container_port) + "/" + p.protocol;
      exposed[key] = json::object();
      bindings[key].push_back({{"HostIp", p.host_ip}, {"HostPort", std::to_string(p.host_port)}});
    }
    body["ExposedPorts"] = exposed;
    host["PortBindings"] = bindings;
  }
  if (spec.memory_mb) host["Memory"] = *spec.memory_mb * 1024 * 1024;
  if (spec.cpus) host["NanoCpus"] = static_cast<std::int64_t>(*spec.cpus * 1e9);
  body["HostConfig"] = host;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<EngineVersion> DockerClient::version() const {
  auto ex = call(options_, "GET", "/version");
  if (!ex.ok()) return ex.error();
  if (ex->status != 200) return failure("docker version", *ex);
  EngineVersion v;
  v.version = sanitize_utf8(str(ex->body, "Version"));
  v.engine = "docker";
  if (ex->body.contains("Components") && ex->body["Components"].is_array()) {
    for (const auto& c : ex->body["Components"]) {
      if (to_lower(str(c, "Name")).find("podman") != std::string::npos) v.engine = "podman";
    }
  }
  if (v.version.empty()) return Error(ErrorKind::kDataLoss, "docker version: no Version in reply");
  return v;
}

Result<std::vector<ContainerSummary>> DockerClient::list_all() const {
  auto ex = call(options_, "GET", "/containers/json?all=true");
  if (!ex.ok()) return ex.error();
  if (ex->status != 200) return failure("docker list", *ex);
  if (!ex->body.is_array()) return Error(ErrorKind::kDataLoss, "docker list: not an array");
  std::vector<ContainerSummary> out;
  for (const auto& c : ex->body) {
    ContainerSummary s;
    s.id = sanitize_utf8(str(c, "Id"));
    if (c.contains("Names") && c["Names"].is_array() && !c["Names"].empty() &&
        c["Names"][0].is_string()) {
      s.name = c["Names"][0].get<std::string>();
      if (!s.name.empty() && s.name[0] == '/') s.name.erase(0, 1);
      s.name = sanitize_utf8(s.name);
    }
    s.image = sanitize_utf8(str(c, "Image"));
    s.state = sanitize_utf8(str(c, "State"));
    s.status = sanitize_utf8(str(c, "Status"));
    if (c.contains("Labels") && c["Labels"].is_object()) {
      for (const auto& [k, v] : c["Labels"].items()) {
        if (v.is_string())
          s.labels.emplace_back(sanitize_utf8(k), sanitize_utf8(v.get<std::string>()));
      }
    }
    // [{IP, PrivatePort, PublicPort, Type}]; Podman lists one entry per address family.
    if (c.contains("Ports") && c["Ports"].is_array()) {
      for (const auto& p : c["Ports"]) {
        if (!p.is_object() || !p.contains("PrivatePort") || !p["PrivatePort"].is_number_integer())
          continue;
        PortBinding b;
        b.container_port = p["PrivatePort"].get<int>();
        if (p.contains("PublicPort") && p["PublicPort"].is_number_integer())
          b.host_port = p["PublicPort"].get<int>();
        b.host_ip = sanitize_utf8(str(p, "IP"));
        b.protocol = sanitize_utf8(str(p, "Type"));
        if (b.protocol.empty()) b.protocol = "tcp";
        if (b.container_port < 1 || b.container_port > 65535 || b.host_port < 0 ||
            b.host_port > 65535 || b.host_ip.size() > 64 ||
            (b.protocol != "tcp" && b.protocol != "udp" && b.protocol != "sctp"))
          continue;
        if (s.ports.size() < 100) s.ports.push_back(std::move(b));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::string> DockerClient::create(const ContainerSpec& spec) const {
  if (!valid_container_name(spec.name)) return Error::invalid("invalid container name");
  auto ex = call(options_, "POST", "/containers/create?name=" + url_escape_name(spec.name),
                 container_create_body(spec));
  if (!ex.ok()) return ex.error();
  if (ex->status != 201 && ex->status != 200) return failure("docker create", *ex);
  auto id = str(ex->body, "Id");
  if (id.empty()) return Error(ErrorKind::kDataLoss, "docker create: no Id in reply");
  return id;
}

Status DockerClient::start(const std::string& name) const {
  if (!valid_container_name(name)) return Error::invalid("invalid container name");
  auto ex = call(options_, "POST", "/containers/" + name + "/start");
  if (!ex.ok()) return ex.error();
  if (ex->status == 204 || ex->status == 304) return Status::success();
  return failure("docker start", *ex);
}

Status DockerClient::stop(const std::string& name, int timeout_s) const {
  if (!valid_container_name(name)) return Error::invalid("invalid container name");
  auto ex = call(options_, "POST", "/containers/" + name + "/stop?t=" + std::to_string(timeout_s),
                 "", std::chrono::seconds(timeout_s));
  if (!ex.ok()) return ex.error();
  if (ex->status == 204 || ex->status == 304) return Status::success();
  return failure("docker stop", *ex);
}

Status DockerClient::remove(const std::string& name, bool force) const {
  if (!valid_container_name(name)) return Error::invalid("invalid container name");
  auto ex =
      call(options_, "DELETE", "/containers/" + name + (force ? "?force=true" : "?force=false"), "",
           std::chrono::seconds(10));
  if (!ex.ok()) return ex.error();
  if (ex->status == 204 || ex->status == 200) return Status::success();
  return failure("docker remove", *ex);
}

Result<ContainerState> DockerClient::inspect(const std::string& name) const {
  if (!valid_container_name(name)) return Error::invalid("invalid container name");
  auto ex = call(options_, "GET", "/containers/" + name + "/json");
  if (!ex.ok()) return ex.error();
  if (ex->status != 200) return failure("docker inspect", *ex);
  ContainerState s;
  s.id = str(ex->body, "Id");
  if (!ex->body.contains("State") || !ex->body["State"].is_object()) {
    return Error(ErrorKind::kDataLoss, "docker inspect: no State");
  }
  const json& st = ex->body["State"];
  s.state = sanitize_utf8(str(st, "Status"));
  s.running = st.contains("Running") && st["Running"].is_boolean() && st["Running"].get<bool>();
  if (st.contains("ExitCode") && st["ExitCode"].is_number_integer()) {
    s.exit_code = static_cast<int>(st["ExitCode"].get<std::int64_t>());
  }
  s.started_at = sanitize_utf8(str(st, "StartedAt"));
  return s;
}

}  // namespace fleet::nodeagent
