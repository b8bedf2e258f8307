#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "commands.h"
#include "config/config.h"
#include "supervisor.h"

extern char** environ;

namespace fleet::cli {
namespace {

Result<ServicesFile> load(const MonitorOptions& options) {
  std::string path = options.services_file;
  if (path.empty()) {
    const char* env = std::getenv("FLEET_SERVICES_FILE");
    path = env != nullptr && *env ? env : "services.json";
  }
  return load_services(path, config::environment_from(environ));
}

}  // namespace

int monitor_up(const MonitorOptions& options) {
  auto file = load(options);
  if (!file.ok()) {
    std::cerr << "fleetctl up: " << file.error().message() << "\n";
    return kUsage;
  }
  SupervisorOptions s{.only = options.names,
                      .status_every = std::chrono::seconds(options.interval_seconds)};
  return supervise(*file, s, std::cout);
}

int monitor_watch(const MonitorOptions& options) {
  auto file = load(options);
  if (!file.ok()) {
    std::cerr << "fleetctl watch: " << file.error().message() << "\n";
    return kUsage;
  }
  if (options.once) {
    std::cout << status_table(*file);
    return kOk;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  while (true) {
    std::cout << "\x1b[2J\x1b[H" << status_table(*file) << std::flush;
    timespec wait{options.interval_seconds, 0};
    if (sigtimedwait(&set, nullptr, &wait) > 0) return kOk;
  }
}

int monitor_restart(const MonitorOptions& options) {
  auto file = load(options);
  if (!file.ok()) {
    std::cerr << "fleetctl restart: " << file.error().message() << "\n";
    return kUsage;
  }
  auto asked = request_restart(*file, options.names);
  if (!asked.ok()) {
    std::cerr << "fleetctl restart: " << asked.error().message() << "\n";
    return kFailed;
  }
  if (asked->empty()) {
    std::cout << "no failed services to restart\n";
    return kOk;
  }
  for (const auto& name : *asked)
    std::cout << "restart requested: " << name << "\n";
  return kOk;
}

}  // namespace fleet::cli
