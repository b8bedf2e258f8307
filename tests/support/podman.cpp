#include "podman.h"

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace fleet::test {
namespace {

constexpr const char* kPodman = "/usr/bin/podman";
constexpr const char* kRunc = "/usr/sbin/runc";
constexpr const char* kBusybox = "/bin/busybox";

// Mount points under `dir`, deepest first.
std::vector<std::string> mounts_under(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mounts");
  std::string dev, point, rest;
  while (in >> dev >> point) {
    std::getline(in, rest);
    if (point.rfind(dir, 0) == 0) out.push_back(point);
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

}  // namespace

HttpAnswer PodmanService::get(const std::string& path) const {
  HttpAnswer answer;
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return answer;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string s = socket();
  std::strncpy(addr.sun_path, s.c_str(), sizeof addr.sun_path - 1);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return answer;
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: d\r\n\r\n";
  if (::write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return answer;
  }
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12) return answer;
  answer.status = std::stoi(reply.substr(9, 3));
  auto end = reply.find("\r\n\r\n");
  if (end != std::string::npos) answer.body = reply.substr(end + 4);
  return answer;
}

RunResult PodmanService::podman(const std::vector<std::string>& args) const {
  // --tmpdir: podman's default (/run/libpod) is shared by every instance on the host.
  std::vector<std::string> all = {"--runtime",    kRunc,        "--root",
                                  dir_ + "/root", "--runroot",  dir_ + "/runroot",
                                  "--tmpdir",     dir_ + "/tmp"};
  all.insert(all.end(), args.begin(), args.end());
  return run(kPodman, all, {}, std::chrono::seconds(60));
}

std::unique_ptr<PodmanService> PodmanService::start() {
  for (const char* tool : {kPodman, kRunc, kBusybox}) {
    if (access(tool, X_OK) != 0) {
      throw std::runtime_error(std::string(tool) +
                               " is missing: install the Debian packages podman, runc and "
                               "busybox-static (scripts/install-deps.sh lists them)");
    }
  }
  std::unique_ptr<PodmanService> p(new PodmanService());
  p->dir_ = make_temp_dir("fleet-podman");
  // The image: a tarball holding only a static busybox.
  std::filesystem::create_directories(p->dir_ + "/img/bin");
  std::filesystem::copy_file(kBusybox, p->dir_ + "/img/bin/busybox");
  auto tar = run("/bin/tar", {"-C", p->dir_ + "/img", "-cf", p->dir_ + "/bb.tar", "."});
  if (tar.code != 0) throw std::runtime_error("tar of the busybox image failed: " + tar.err);
  auto imported = p->podman({"import", p->dir_ + "/bb.tar", kImage});
  if (imported.code != 0) throw std::runtime_error("podman import failed: " + imported.err);
  p->launch();
  return p;
}

void PodmanService::launch() {
  ::unlink(socket().c_str());
  process_ = std::make_unique<Process>(
      kPodman, std::vector<std::string>{"--runtime", kRunc, "--root", dir_ + "/root", "--runroot",
                                        dir_ + "/runroot", "--tmpdir", dir_ + "/tmp", "system",
                                        "service", "--time=0", "unix://" + socket()});
  const bool up =
      eventually([&] { return get("/v1.41/version").status == 200; }, std::chrono::seconds(30));
  if (!up) {
    throw std::runtime_error("podman system service did not answer /version: " + process_->err());
  }
}

void PodmanService::stop() {
  if (process_ && process_->running()) {
    process_->signal(SIGTERM);
    if (!process_->wait(std::chrono::seconds(10))) {
      process_->signal(SIGKILL);
      (void)process_->wait(std::chrono::seconds(5));
    }
  }
}

void PodmanService::restart() {
  stop();
  launch();
}

bool PodmanService::running() {
  return process_ && process_->running();
}

PodmanService::~PodmanService() {
  try {
    stop();
    auto removed = podman({"rm", "-af", "-t", "0"});
    if (removed.code != 0) fprintf(stderr, "podman rm -af: %s\n", removed.err.c_str());
    for (const auto& m : mounts_under(dir_))
      ::umount2(m.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  } catch (...) {
  }
}

}  // namespace fleet::test
