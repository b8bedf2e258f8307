// Running built binaries from tests: spawn with arguments and environment, capture output, wait
// with a timeout, send signals.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fleet::test {

class Process {
 public:
  struct Options {
    std::map<std::string, std::string> env;  // added to (or replacing in) this process's env
    std::vector<std::string> unset_env;      // removed from the child's environment
    std::string stdin_text;                  // written to the child's stdin, then closed
  };

  // Starts `program` (a path) with `args`. stdout and stderr go to temporary files.
  Process(const std::string& program, const std::vector<std::string>& args, Options options);
  Process(const std::string& program, const std::vector<std::string>& args)
      : Process(program, args, Options{}) {}
  ~Process();  // kills the child if it still runs
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Waits for the exit; returns the exit code (128 + signal when killed), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void signal(int sig);
  bool running();
  pid_t pid() const { return pid_; }

  std::string out() const;  // everything written to stdout so far
  std::string err() const;  // everything written to stderr so far

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_path_;
  std::string err_path_;
};

// Runs a program to completion (default timeout 60 s).
struct RunResult {
  int code = -1;
  std::string out;
  std::string err;
};
RunResult run(const std::string& program, const std::vector<std::string>& args,
              Process::Options options = {},
              std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Path of a built binary (bin/<name> in the build tree; FLEETTEST_BIN_DIR overrides).
std::string binary(const std::string& name);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// GET http://127.0.0.1:port/path. Returns status (0 when the connection failed) and body.
struct HttpAnswer {
  int status = 0;
  std::string body;
};
HttpAnswer http_get(int port, const std::string& path,
                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
template <class Fn>
bool eventually(Fn&& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    struct timespec ts {0, 50'000'000};
    nanosleep(&ts, nullptr);
  }
}

std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);
// A new empty directory under /tmp, removed by the caller (or left for inspection).
std::string make_temp_dir(const std::string& prefix);

}  // namespace fleet::test
