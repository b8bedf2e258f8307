// A real Podman serving the Docker Engine API for tests: one PodmanService is one container host
// ("node"), with its own storage (--root/--runroot in a temporary directory) and its own unix
// socket, run with runc (crun refuses this kernel's hybrid cgroups; containers.md). A tiny image
// `localhost/bb:1` (a static busybox) is imported once per service, no registry needed.
//
// Fails loudly (std::runtime_error) when podman, runc or busybox-static is missing or the service
// does not answer /version.
#pragma once

#include <memory>
#include <string>

#include "process.h"

namespace fleet::test {

class PodmanService {
 public:
  // Makes the storage, imports localhost/bb:1 and starts `podman system service`; returns once
  // GET /version answers on socket().
  static std::unique_ptr<PodmanService> start();
  ~PodmanService();  // stop(), then every container and the storage are removed
  PodmanService(const PodmanService&) = delete;
  PodmanService& operator=(const PodmanService&) = delete;

  // Stops the API service (SIGTERM); its containers keep running, as with a Docker daemon
  // restart under live-restore.
  void stop();
  // Starts the service again on the same socket and storage.
  void restart();
  bool running();

  std::string socket() const { return dir_ + "/node.sock"; }
  std::string dir() const { return dir_; }
  static constexpr const char* kImage = "localhost/bb:1";

  // GET `path` (e.g. "/v1.41/version") on the socket: the status (0 = no answer) and body.
  HttpAnswer get(const std::string& path) const;
  // Runs `podman <args>` against this service's storage; returns the result.
  RunResult podman(const std::vector<std::string>& args) const;

 private:
  PodmanService() = default;
  void launch();

  std::string dir_;
  std::unique_ptr<Process> process_;
};

}  // namespace fleet::test
