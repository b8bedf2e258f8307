#include "process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include <httplib.h>

extern char** environ;

namespace fleet::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

Process::Process(const std::string& program, const std::vector<std::string>& args,
                 Options options) {
  char out_tmpl[] = "/tmp/fleet-proc-out-XXXXXX";
  char err_tmpl[] = "/tmp/fleet-proc-err-XXXXXX";
  int out_fd = mkstemp(out_tmpl);
  int err_fd = mkstemp(err_tmpl);
  out_path_ = out_tmpl;
  err_path_ = err_tmpl;
  int in_pipe[2];
  if (pipe(in_pipe) != 0) throw std::runtime_error("pipe failed");

  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& name : options.unset_env)
    env.erase(name);
  for (const auto& [k, v] : options.env)
    env[k] = v;
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env)
    env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_strings)
    argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(in_pipe[0], 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    close(in_pipe[1]);
    // The test process may block signals; the child must start with none blocked.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(program.c_str(), argv.data(), envp.data());
    std::fprintf(stderr, "execve %s: %s\n", program.c_str(), std::strerror(errno));
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_fd);
  close(err_fd);
  if (!options.stdin_text.empty()) {
    ssize_t ignored = ::write(in_pipe[1], options.stdin_text.data(), options.stdin_text.size());
    (void)ignored;
  }
  close(in_pipe[1]);
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(5));
  }
  unlink(out_path_.c_str());
  unlink(err_path_.c_str());
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

bool Process::running() {
  if (status_) return false;
  return !wait(std::chrono::milliseconds(0)).has_value();
}

std::string Process::out() const {
  return read_file(out_path_);
}
std::string Process::err() const {
  return read_file(err_path_);
}

RunResult run(const std::string& program, const std::vector<std::string>& args,
              Process::Options options, std::chrono::milliseconds timeout) {
  Process p(program, args, std::move(options));
  auto code = p.wait(timeout);
  RunResult r;
  if (!code) {
    p.signal(SIGKILL);
    p.wait(std::chrono::seconds(5));
    r.code = -1;
  } else {
    r.code = *code;
  }
  r.out = p.out();
  r.err = p.err();
  return r;
}

std::string binary(const std::string& name) {
  const char* dir = std::getenv("FLEETTEST_BIN_DIR");
  return std::string(dir != nullptr ? dir : FLEETTEST_DEFAULT_BIN_DIR) + "/" + name;
}

namespace {

// True when nothing is bound to `port` on any address now.
bool port_is_free(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// The kernel's range for ephemeral ports (outgoing connections, bind to port 0).
std::pair<int, int> ephemeral_range() {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768, high = 60999;
  f >> low >> high;
  return {low, high};
}

}  // namespace

int free_port() {
  // Below the ephemeral range: a port handed out by bind(0) can be taken a moment later as the
  // local port of any outgoing connection (and tests open thousands), so a server started on it
  // would find it in use. Random, so parallel tests rarely try the same one.
  const auto [low, high] = ephemeral_range();
  (void)high;
  if (low > 12000) {
    static thread_local std::mt19937 rng{std::random_device{}() ^ static_cast<unsigned>(getpid())};
    std::uniform_int_distribution<int> pick(10000, low - 1);
    for (int attempt = 0; attempt < 200; ++attempt) {
      const int port = pick(rng);
      if (port_is_free(port)) return port;
    }
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

HttpAnswer http_get(int port, const std::string& path, std::chrono::milliseconds timeout) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  auto res = client.Get(path.c_str());
  if (!res) return {};
  return {res->status, res->body};
}

}  // namespace fleet::test
