#include "nodeagent/settings.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/json_depth.h"
#include "logging/logging.h"

namespace fleet::nodeagent {

Result<std::vector<std::string>> parse_address_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    const auto first = item.find_first_not_of(" \t");
    const auto last = item.find_last_not_of(" \t");
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    unsigned char buf[16];
    if (item.empty() || item.size() > 45 ||
        (inet_pton(AF_INET, item.c_str(), buf) != 1 &&
         inet_pton(AF_INET6, item.c_str(), buf) != 1)) {
      return Error::invalid("'" + item.substr(0, 64) + "' is not an IPv4 or IPv6 address");
    }
    if (out.size() == 16) return Error::invalid("at most 16 addresses");
    out.push_back(item);
    start = comma + 1;
  }
  return out;
}

void declare_config(config::Schema& s) {
  using config::Type;
  s.add({.name = "gateway_url",
         .type = Type::kString,
         .help = "the api-gateway, e.g. https://fleet.example.com (written by register)"});
  s.add({.name = "node_id",
         .type = Type::kInt,
         .help = "this node's id (written by register)",
         .min = 1});
  s.add({.name = "credential",
         .type = Type::kString,
         .help = "this node's credential fwn_... (written by register; never logged)",
         .secret = true});
  s.add({.name = "docker_socket",
         .type = Type::kString,
         .help = "the Docker Engine API socket (Docker, or podman system service)",
         .default_value = std::string("/var/run/docker.sock")});
  s.add({.name = "disk_path",
         .type = Type::kString,
         .help = "file system whose usage is reported",
         .default_value = std::string("/")});
  s.add({.name = "proc_root",
         .type = Type::kString,
         .help = "where /proc is (tests use fixture files)",
         .default_value = std::string("/proc")});
  s.add({.name = "hostname",
         .type = Type::kString,
         .help = "the name to register under; empty = the host's name (several agents on one "
                 "host need their own)",
         .default_value = std::string()});
  s.add({.name = "machine_id",
         .type = Type::kString,
         .help = "the identity a re-registration is recognised by (32 hex digits); empty = "
                 "/etc/machine-id, none = send none",
         .default_value = std::string()});
  s.add({.name = "addresses",
         .type = Type::kString,
         .help = "comma-separated IP addresses to register with instead of the host's (several "
                 "agents on one host, each on its own 127.x.y.z); the first is where the node's "
                 "containers are reached; empty = discovered",
         .default_value = std::string()});
  s.add({.name = "publish_address",
         .type = Type::kString,
         .help = "publish container ports asked for on every address (0.0.0.0) on this address "
                 "instead (several agents on one host); empty = as asked",
         .default_value = std::string()});
  s.add({.name = "include_loopback",
         .type = Type::kBool,
         .help = "report loopback addresses at registration",
         .default_value = false});
  s.add({.name = "heartbeat_interval_s",
         .type = Type::kInt,
         .help = "seconds between heartbeats (±10 % jitter)",
         .default_value = std::int64_t{30},
         .flag = "--interval,-i",
         .min = 1,
         .max = 3600});
  s.add({.name = "command_poll_s",
         .type = Type::kInt,
         .help = "seconds between command polls",
         .default_value = std::int64_t{5},
         .min = 1,
         .max = 3600});
  s.add({.name = "facts_interval_s",
         .type = Type::kInt,
         .help = "seconds between checks of the host's facts (addresses, capacity, versions); "
                 "a change is reported to the gateway, and they are reported once at start",
         .default_value = std::int64_t{300},
         .min = 1,
         .max = 86'400});
  s.add({.name = "unauthorized_retry_s",
         .type = Type::kInt,
         .help = "seconds between attempts while the gateway refuses the credential (401)",
         .default_value = std::int64_t{60},
         .min = 1,
         .max = 86'400});
  s.add({.name = "timeouts.connect_s",
         .type = Type::kInt,
         .help = "connect timeout for the gateway and the Docker socket",
         .default_value = std::int64_t{5},
         .min = 1,
         .max = 300});
  s.add({.name = "timeouts.request_s",
         .type = Type::kInt,
         .help = "whole-request timeout for the gateway",
         .default_value = std::int64_t{15},
         .min = 1,
         .max = 600});
  s.add({.name = "timeouts.docker_s",
         .type = Type::kInt,
         .help = "whole-request timeout for the Docker API (a stop adds its own timeout)",
         .default_value = std::int64_t{30},
         .min = 1,
         .max = 600});
  s.add({.name = "ulimits.nofile",
         .type = Type::kInt,
         .help = "RLIMIT_NOFILE of every container started",
         .default_value = std::int64_t{1024},
         .min = 16,
         .max = 1 << 20});
  s.add({.name = "ulimits.nproc",
         .type = Type::kInt,
         .help = "RLIMIT_NPROC of every container started",
         .default_value = std::int64_t{1000},
         .min = 16,
         .max = 1 << 22});
  s.add({.name = "allow_host_power",
         .type = Type::kBool,
         .help = "carry out reboot/shutdown commands (systemctl reboot/poweroff)",
         .default_value = false});
  s.add({.name = "tls.ca_file",
         .type = Type::kString,
         .help = "https gateway: CA bundle to trust instead of the system's (verification is on)"});
  s.add({.name = "health.port",
         .type = Type::kInt,
         .help = "port of the probe server (/health, /ready, /metrics); 0 = off",
         .default_value = std::int64_t{0},
         .flag = "--health-port",
         .min = 0,
         .max = 65535});
  s.add({.name = "health.address",
         .type = Type::kString,
         .help = "address the probe server listens on",
         .default_value = std::string("127.0.0.1")});
  logging::declare_config(s);
}

Status check_gateway_url(const std::string& url) {
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return Error::invalid("key 'gateway_url': must start with http:// or https://");
  }
  while (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  if (rest.empty()) return Error::invalid("key 'gateway_url': no host");
  if (rest.find_first_of("/?#@ ") != std::string_view::npos) {
    return Error::invalid("key 'gateway_url': must be scheme://host[:port] only");
  }
  return Status::success();
}

Result<AgentSettings> settings_from(const config::Config& c, Needs needs) {
  AgentSettings s;
  using std::chrono::seconds;
  if (c.has("gateway_url")) {
    s.gateway.url = c.str("gateway_url");
    if (Status st = check_gateway_url(s.gateway.url); !st.ok()) return st.error();
  }
  if (c.has("node_id")) s.node_id = c.integer("node_id");
  if (c.has("credential")) s.credential = c.str("credential");
  if (needs == Needs::kRegistration) {
    std::vector<std::string> missing;
    if (s.gateway.url.empty()) missing.push_back("gateway_url");
    if (s.node_id == 0) missing.push_back("node_id");
    if (s.credential.empty()) missing.push_back("credential");
    if (!missing.empty()) {
      std::string keys;
      for (const auto& k : missing)
        keys += (keys.empty() ? "'" : ", '") + k + "'";
      return Error::invalid("key " + keys +
                            ": not set (run `node-agent register --gateway URL --token T "
                            "--config PATH` first)");
    }
    if (s.credential.rfind("fwn_", 0) != 0) {
      return Error::invalid("key 'credential': not a node credential (fwn_...)");
    }
  }
  if (c.has("tls.ca_file")) s.gateway.ca_file = c.str("tls.ca_file");
  s.gateway.connect_timeout = seconds(c.integer("timeouts.connect_s"));
  s.gateway.timeout = seconds(c.integer("timeouts.request_s"));
  s.docker.socket = c.str("docker_socket");
  s.docker.connect_timeout = seconds(c.integer("timeouts.connect_s"));
  s.docker.timeout = seconds(c.integer("timeouts.docker_s"));
  s.paths.proc_root = c.str("proc_root");
  s.paths.disk_path = c.str("disk_path");
  s.paths.include_loopback = c.boolean("include_loopback");
  auto addresses = parse_address_list(c.str("addresses"));
  if (!addresses.ok()) return Error::invalid("key 'addresses': " + addresses.error().message());
  s.paths.addresses = *addresses;
  auto publish = parse_address_list(c.str("publish_address"));
  if (!publish.ok() || publish->size() > 1) {
    return Error::invalid("key 'publish_address': one IPv4 or IPv6 address, or empty");
  }
  if (!publish->empty()) s.publish_address = publish->front();
  s.paths.hostname = c.str("hostname");
  if (s.paths.hostname.size() > 253 ||
      s.paths.hostname.find_first_of(" /\t\n\r") != std::string::npos) {
    return Error::invalid("key 'hostname': at most 253 characters, no spaces or slashes");
  }
  s.paths.machine_id = c.str("machine_id");
  if (!s.paths.machine_id.empty() && s.paths.machine_id != "none" &&
      (s.paths.machine_id.size() != 32 ||
       s.paths.machine_id.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return Error::invalid("key 'machine_id': 32 lower-case hex digits, or none");
  }
  s.heartbeat_interval = seconds(c.integer("heartbeat_interval_s"));
  s.command_poll = seconds(c.integer("command_poll_s"));
  s.facts_interval = seconds(c.integer("facts_interval_s"));
  s.unauthorized_retry = seconds(c.integer("unauthorized_retry_s"));
  s.ulimits.nofile = c.integer("ulimits.nofile");
  s.ulimits.nproc = c.integer("ulimits.nproc");
  s.host_power = c.boolean("allow_host_power") ? HostPower::kAllowed : HostPower::kRefused;
  s.health_port = static_cast<int>(c.integer("health.port"));
  s.health_address = c.str("health.address");
  return s;
}

Status update_config_file(const std::string& path,
                          const std::vector<std::pair<std::string, std::string>>& values) {
  using nlohmann::json;
  json doc = json::object();
  if (auto existing = read_small_file(path); existing.ok() && !existing->empty()) {
    if (json_nesting_depth(*existing, 16) > 16) return Error::invalid(path + ": nested too deeply");
    doc = json::parse(*existing, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return Error::invalid(path + ": not a JSON object; not overwriting it");
    }
  }
  for (const auto& [key, value] : values) {
    json v = json::parse(value, nullptr, false);
    if (v.is_discarded()) return Error::internal("bad JSON value for " + key);
    doc[key] = v;
  }
  const std::string text = doc.dump(2) + "\n";
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::unavailable("cannot write " + tmp + ": " + std::strerror(errno));
  fchmod(fd, 0600);
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return Error::unavailable("cannot write " + tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return Error::unavailable("cannot sync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Error::unavailable("cannot replace " + path + ": " + std::strerror(errno));
  }
  return Status::success();
}

std::string stored_credential(const std::string& path) {
  using nlohmann::json;
  auto text = read_small_file(path);
  if (!text.ok() || json_nesting_depth(*text, 16) > 16) return "";
  json doc = json::parse(*text, nullptr, false);
  if (!doc.is_object() || !doc.contains("credential") || !doc["credential"].is_string()) return "";
  return doc["credential"].get<std::string>();
}

}  // namespace fleet::nodeagent
