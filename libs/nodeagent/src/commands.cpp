#include "nodeagent/commands.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/json_depth.h"

namespace fleet::nodeagent {
namespace {

using nlohmann::json;

Result<json> parse_params(const std::string& text) {
  if (json_nesting_depth(text, 16) > 16) return Error::invalid("params: nested too deeply");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error::invalid("params: not valid JSON");
  if (j.is_null()) j = json::object();
  if (!j.is_object()) return Error::invalid("params: must be an object");
  return j;
}

Result<std::string> required_name(const json& p) {
  auto it = p.find("name");
  if (it == p.end() || !it->is_string()) return Error::invalid("name: required string");
  auto name = it->get<std::string>();
  if (!valid_container_name(name)) {
    return Error::invalid("name: must match [a-zA-Z0-9][a-zA-Z0-9_.-]* (at most 128)");
  }
  return name;
}

// An integer field in [lo, hi]; `fallback` when absent.
Result<std::int64_t> int_field(const json& p, const std::string& key, std::int64_t lo,
                               std::int64_t hi, std::optional<std::int64_t> fallback,
                               const std::string& where = "") {
  const std::string label = where + key;
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) {
    if (fallback) return *fallback;
    return Error::invalid(label + ": required");
  }
  if (!it->is_number_integer()) return Error::invalid(label + ": must be an integer");
  auto v = it->get<std::int64_t>();
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
    v = hi + 1;
  }
  if (v < lo || v > hi) {
    return Error::invalid(label + ": must be " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v;
}

Result<StringPairs> string_map(const json& p, const std::string& key) {
  StringPairs out;
  auto it = p.find(key);
  if (it == p.end() || it->is_null()) return out;
  if (!it->is_object()) return Error::invalid(key + ": must be an object of strings");
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) return Error::invalid(key + "." + k + ": must be a string");
    if (k.empty() || k.find('=') != std::string::npos) {
      return Error::invalid(key + ": bad key '" + k + "'");
    }
    out.emplace_back(k, v.get<std::string>());
  }
  return out;
}

std::string outcome_error(const Error& e) {
  return e.message();
}

CommandOutcome failed(std::string error) {
  return CommandOutcome{.ok = false, .result_json = "{}", .error = std::move(error)};
}

CommandOutcome succeeded(const json& result) {
  return CommandOutcome{.ok = true,
                        .result_json = result.dump(-1, ' ', false, json::error_handler_t::replace)};
}

CommandOutcome do_start(const AgentCommand& c, const DockerClient& docker,
                        const CommandPolicy& policy) {
  auto spec = container_start_spec(c.params_json, policy.ulimits);
  if (!spec.ok()) return failed(spec.error().message());
  restrict_published_ports(*spec, policy.publish_address);
  auto created = docker.create(*spec);
  if (!created.ok() && created.error().kind() != ErrorKind::kAlreadyExists) {
    return failed(outcome_error(created.error()));
  }
  if (Status s = docker.start(spec->name); !s.ok()) return failed(outcome_error(s.error()));
  const auto deadline = std::chrono::steady_clock::now() + policy.start_wait;
  while (true) {
    auto st = docker.inspect(spec->name);
    if (!st.ok()) return failed(outcome_error(st.error()));
    if (st->running) return succeeded({{"container_id", st->id}, {"state", st->state}});
    if (st->state == "exited" || st->state == "dead" ||
        std::chrono::steady_clock::now() >= deadline) {
      return failed("container " + spec->name + " is " + st->state + " (exit code " +
                    std::to_string(st->exit_code) + "), not running");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

Result<ContainerSpec> container_start_spec(const std::string& params_json, const Ulimits& ulimits) {
  auto parsed = parse_params(params_json);
  if (!parsed.ok()) return parsed.error();
  const json& p = *parsed;
  ContainerSpec spec;
  spec.ulimits = ulimits;
  auto name = required_name(p);
  if (!name.ok()) return name.error();
  spec.name = *name;
  auto image = p.find("image");
  if (image == p.end() || !image->is_string() || image->get<std::string>().empty()) {
    return Error::invalid("image: required string");
  }
  spec.image = image->get<std::string>();
  if (auto cmd = p.find("cmd"); cmd != p.end() && !cmd->is_null()) {
    if (!cmd->is_array()) return Error::invalid("cmd: must be an array of strings");
    for (std::size_t i = 0; i < cmd->size(); ++i) {
      if (!(*cmd)[i].is_string()) {
        return Error::invalid("cmd[" + std::to_string(i) + "]: must be a string");
      }
      spec.cmd.push_back((*cmd)[i].get<std::string>());
    }
  }
  auto env = string_map(p, "env");
  if (!env.ok()) return env.error();
  spec.env = *env;
  if (auto ports = p.find("ports"); ports != p.end() && !ports->is_null()) {
    if (!ports->is_array()) return Error::invalid("ports: must be an array");
    for (std::size_t i = 0; i < ports->size(); ++i) {
      const std::string where = "ports[" + std::to_string(i) + "].";
      const json& e = (*ports)[i];
      if (!e.is_object())
        return Error::invalid("ports[" + std::to_string(i) + "]: must be an object");
      PortBinding b;
      auto cport = int_field(e, "container_port", 1, 65535, std::nullopt, where);
      if (!cport.ok()) return cport.error();
      auto hport = int_field(e, "host_port", 1, 65535, std::nullopt, where);
      if (!hport.ok()) return hport.error();
      b.container_port = static_cast<int>(*cport);
      b.host_port = static_cast<int>(*hport);
      if (auto ip = e.find("host_ip"); ip != e.end() && !ip->is_null()) {
        if (!ip->is_string() || ip->get<std::string>().empty()) {
          return Error::invalid(where + "host_ip: must be an address");
        }
        b.host_ip = ip->get<std::string>();
      }
      if (auto proto = e.find("protocol"); proto != e.end() && !proto->is_null()) {
        if (!proto->is_string() || (*proto != "tcp" && *proto != "udp")) {
          return Error::invalid(where + "protocol: must be tcp or udp");
        }
        b.protocol = proto->get<std::string>();
      }
      spec.ports.push_back(b);
    }
  }
  if (p.contains("memory_mb") && !p["memory_mb"].is_null()) {
    auto mem = int_field(p, "memory_mb", 6, 1 << 24, std::nullopt);
    if (!mem.ok()) return mem.error();
    spec.memory_mb = *mem;
  }
  if (auto cpus = p.find("cpus"); cpus != p.end() && !cpus->is_null()) {
    if (!cpus->is_number()) return Error::invalid("cpus: must be a number");
    const double v = cpus->get<double>();
    if (!std::isfinite(v) || v <= 0 || v > 1024) return Error::invalid("cpus: must be 0..1024");
    spec.cpus = v;
  }
  auto labels = string_map(p, "labels");
  if (!labels.ok()) return labels.error();
  for (auto& [k, v] : *labels) {
    if (k.rfind("fleetward.", 0) == 0) return Error::invalid("labels." + k + ": reserved");
    spec.labels.emplace_back(k, v);
  }
  spec.labels.emplace_back("fleetward.managed", "true");
  if (auto dep = p.find("deployment_id"); dep != p.end() && !dep->is_null()) {
    if (dep->is_number_integer()) {
      spec.labels.emplace_back("fleetward.deployment", std::to_string(dep->get<std::int64_t>()));
    } else if (dep->is_string() && !dep->get<std::string>().empty()) {
      spec.labels.emplace_back("fleetward.deployment", dep->get<std::string>());
    } else {
      return Error::invalid("deployment_id: must be an integer or a string");
    }
  }
  // The planner tells its copies apart by placement: a container whose placement is not current
  // on this node is a stale copy it removes (PLANNER-CONTRACT step 6).
  if (p.contains("placement_id") && !p["placement_id"].is_null()) {
    auto placement = int_field(p, "placement_id", 1, INT64_MAX, std::nullopt);
    if (!placement.ok()) return placement.error();
    spec.labels.emplace_back("fleetward.placement", std::to_string(*placement));
  }
  return spec;
}

void restrict_published_ports(ContainerSpec& spec, const std::string& address) {
  if (address.empty()) return;
  for (auto& p : spec.ports) {
    if (p.host_ip == "0.0.0.0" || p.host_ip == "::") p.host_ip = address;
  }
}

Result<StopParams> container_stop_params(const std::string& params_json) {
  auto p = parse_params(params_json);
  if (!p.ok()) return p.error();
  auto name = required_name(*p);
  if (!name.ok()) return name.error();
  auto t = int_field(*p, "timeout_s", 0, 600, 10);
  if (!t.ok()) return t.error();
  return StopParams{.name = *name, .timeout_s = static_cast<int>(*t)};
}

Result<RemoveParams> container_remove_params(const std::string& params_json) {
  auto p = parse_params(params_json);
  if (!p.ok()) return p.error();
  auto name = required_name(*p);
  if (!name.ok()) return name.error();
  bool force = true;
  if (auto f = p->find("force"); f != p->end() && !f->is_null()) {
    if (!f->is_boolean()) return Error::invalid("force: must be a boolean");
    force = f->get<bool>();
  }
  return RemoveParams{.name = *name, .force = force};
}

Result<std::string> container_name_param(const std::string& params_json) {
  auto p = parse_params(params_json);
  if (!p.ok()) return p.error();
  return required_name(*p);
}

CommandOutcome execute_command(const AgentCommand& c, const DockerClient& docker,
                               const CommandPolicy& policy) {
  try {
    if (c.action == "container_start") return do_start(c, docker, policy);
    if (c.action == "container_stop") {
      auto p = container_stop_params(c.params_json);
      if (!p.ok()) return failed(p.error().message());
      if (Status s = docker.stop(p->name, p->timeout_s); !s.ok()) {
        return failed(outcome_error(s.error()));
      }
      auto st = docker.inspect(p->name);
      if (!st.ok()) return failed(outcome_error(st.error()));
      return succeeded({{"state", st->state}, {"running", st->running}});
    }
    if (c.action == "container_remove") {
      auto p = container_remove_params(c.params_json);
      if (!p.ok()) return failed(p.error().message());
      Status s = docker.remove(p->name, p->force);
      if (!s.ok() && s.error().kind() == ErrorKind::kNotFound) {
        return succeeded({{"removed", false}, {"missing", true}});
      }
      if (!s.ok()) return failed(outcome_error(s.error()));
      return succeeded({{"removed", true}});
    }
    if (c.action == "container_inspect") {
      auto name = container_name_param(c.params_json);
      if (!name.ok()) return failed(name.error().message());
      auto st = docker.inspect(*name);
      if (!st.ok()) return failed(outcome_error(st.error()));
      return succeeded({{"state", st->state},
                        {"running", st->running},
                        {"exit_code", st->exit_code},
                        {"started_at", st->started_at}});
    }
    if (c.action == "reboot" || c.action == "shutdown") {
      if (policy.host_power != HostPower::kAllowed) {
        return failed(c.action + " refused: allow_host_power is false in the agent's config");
      }
      if (!policy.power) return failed(c.action + ": no power handler");
      if (Status s = policy.power(c.action); !s.ok()) return failed(s.error().message());
      return succeeded({{"accepted", true}});
    }
    return failed("unknown action '" + c.action +
                  "' (the agent carries out container_start, container_stop, container_remove, "
                  "container_inspect, reboot, shutdown)");
  } catch (const std::exception& e) {
    return failed(std::string("internal error: ") + e.what());
  }
}

Status run_systemctl_power(const std::string& action) {
  const char* verb = action == "reboot" ? "reboot" : "poweroff";
  pid_t pid = fork();
  if (pid < 0) return Error::unavailable("fork failed");
  if (pid == 0) {
    execl("/bin/systemctl", "systemctl", verb, static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::success();
  return Error::unavailable(std::string("systemctl ") + verb + " failed");
}

}  // namespace fleet::nodeagent
