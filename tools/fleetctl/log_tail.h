// `fleetctl logs tail`: the last lines of worker log files, optionally followed as they grow
// (surviving rotation and truncation).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace fleet::cli {

// The last `n` lines of the file (without their newlines). Reads backwards in blocks, so a large
// file costs only what is printed.
std::vector<std::string> last_lines(const std::string& path, size_t n);

// The *.log files in `dir` (sorted); when `services` is not empty, only <service>.log of those.
std::vector<std::string> log_files(const std::string& dir, const std::vector<std::string>& services);

// Follows files from their current end, calling on_line(path, line) for every complete new line.
// Polls every `poll_ms`; a file that shrinks or is replaced (rotation) is read again from its
// start. Returns when `stop` is requested.
class Follower {
 public:
  explicit Follower(std::vector<std::string> paths);
  // Reads whatever complete lines appeared since the last call. Returns how many it delivered.
  size_t poll(const std::function<void(const std::string&, const std::string&)>& on_line);
  void run(std::stop_token stop, int poll_ms,
           const std::function<void(const std::string&, const std::string&)>& on_line);

 private:
  struct File {
    std::string path;
    ino_t inode = 0;
    std::uint64_t offset = 0;
    std::string partial;
  };
  std::vector<File> files_;
};

}  // namespace fleet::cli
