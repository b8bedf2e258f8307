// A client of the Docker Engine API over a unix socket (Docker, or Podman's
// `podman system service`). Blocking; one request at a time per call. Every reply is size-capped
// and its JSON nesting checked before parsing.
//
// Thread-safety: a DockerClient holds only options; calls may run from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace fleet::nodeagent {

using StringPairs = std::vector<std::pair<std::string, std::string>>;

struct DockerOptions {
  std::string socket = "/var/run/docker.sock";
  std::string api_version = "v1.41";  // the API level both Docker 20.10+ and Podman 4 serve
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds timeout{30'000};  // stop waits up to its own timeout on top
  std::size_t max_reply_bytes = 8 << 20;
};

struct EngineVersion {
  std::string engine;   // "docker" or "podman"
  std::string version;  // "24.0.7", "4.3.1"
};

struct PortBinding {
  int container_port = 0;
  int host_port = 0;
  std::string host_ip = "0.0.0.0";
  std::string protocol = "tcp";
};

struct ContainerSummary {
  std::string id;
  std::string name;  // without the leading "/"
  std::string image;
  std::string state;   // "running", "exited", "created", ...
  std::string status;  // "Up 3 minutes"
  StringPairs labels;
  std::vector<PortBinding> ports;  // published (host_port 0: exposed only)
};

struct Ulimits {
  std::int64_t nofile = 1024;  // Podman refuses more than the caller's own limit (containers.md)
  std::int64_t nproc = 1000;
};

struct ContainerSpec {
  std::string name;
  std::string image;
  std::vector<std::string> cmd;  // empty: the image's
  StringPairs env;
  std::vector<PortBinding> ports;
  std::optional<std::int64_t> memory_mb;
  std::optional<double> cpus;
  StringPairs labels;
  Ulimits ulimits;
};

struct ContainerState {
  std::string id;
  std::string state;  // "running", "exited", ...
  bool running = false;
  int exit_code = 0;
  std::string started_at;
};

class DockerClient {
 public:
  explicit DockerClient(DockerOptions options) : options_(std::move(options)) {}

  Result<EngineVersion> version() const;
  // Every container, running or not.
  Result<std::vector<ContainerSummary>> list_all() const;
  // Creates a container; returns its id. kAlreadyExists when the name is taken.
  Result<std::string> create(const ContainerSpec& spec) const;
  // Starting a running container and stopping a stopped one succeed. kNotFound when missing.
  Status start(const std::string& name) const;
  Status stop(const std::string& name, int timeout_s) const;
  Status remove(const std::string& name, bool force) const;
  Result<ContainerState> inspect(const std::string& name) const;

  const DockerOptions& options() const { return options_; }

 private:
  DockerOptions options_;
};

// The create request body for a spec (Docker Engine API JSON). Pure; exposed for tests.
std::string container_create_body(const ContainerSpec& spec);

// A name Docker accepts: [a-zA-Z0-9][a-zA-Z0-9_.-]* up to 128 characters.
bool valid_container_name(std::string_view name);

}  // namespace fleet::nodeagent
