#include <signal.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "commands.h"
#include "log_tail.h"

namespace fleet::cli {

int logs_tail(Context& ctx, const TailOptions& options) {
  const std::string dir = options.dir.empty() ? ctx.logs_dir() : options.dir;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::cerr << "fleetctl logs tail: log directory '" << dir
              << "' does not exist (set logs.dir / FLEET_LOGS_DIR, or --dir)\n";
    return kUsage;
  }
  std::vector<std::string> files = log_files(dir, options.services);
  if (files.empty()) {
    std::cerr << "fleetctl logs tail: no matching *.log files in " << dir << "\n";
    return kFailed;
  }
  const bool many = files.size() > 1;
  auto name_of = [](const std::string& path) {
    return std::filesystem::path(path).stem().string();
  };
  for (const auto& f : files) {
    if (many) std::cout << "==> " << f << " <==\n";
    for (const auto& line : last_lines(f, options.lines))
      std::cout << line << "\n";
  }
  std::cout << std::flush;
  if (!options.follow) return kOk;

  // Follow until SIGINT/SIGTERM.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::stop_source stop;
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    stop.request_stop();
  });
  Follower follower(files);
  std::cerr << "(following " << files.size() << (files.size() == 1 ? " file" : " files")
            << "; Ctrl-C to stop)" << std::endl;
  follower.run(stop.get_token(), 250, [&](const std::string& path, const std::string& line) {
    if (many) std::cout << "[" << name_of(path) << "] ";
    std::cout << line << "\n" << std::flush;
  });
  waiter.join();
  return kOk;
}

}  // namespace fleet::cli
