#include "supervisor.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <sstream>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "rotating_log.h"
#include "table.h"

extern char** environ;

namespace fleet::cli {
namespace fs = std::filesystem;
using json = nlohmann::json;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

ExitDecision RestartTracker::on_exit(const ServiceSpec& spec, int exit_code, int signal,
                                     Steady::time_point now, milliseconds ran_for) {
  ExitDecision d;
  const bool clean = signal == 0 && exit_code == 0;
  const std::string how = signal != 0 ? "killed by signal " + std::to_string(signal)
                                      : "exited with code " + std::to_string(exit_code);
  if (spec.oneshot && clean) {
    d.reason = "finished";
    return d;
  }
  if (exit_code == 2 && signal == 0) {
    d.failed = true;
    d.reason = how + " (configuration or schema invalid): not restarted";
    return d;
  }
  const bool wants = spec.restart == RestartPolicy::kAlways ||
                     (spec.restart == RestartPolicy::kOnFailure && !clean);
  if (!wants) {
    d.failed = !clean;
    d.reason = how;
    return d;
  }
  if (ran_for > std::chrono::minutes(1)) failures_.clear();
  failures_.push_back(now);
  while (!failures_.empty() && now - failures_.front() > std::chrono::minutes(1))
    failures_.pop_front();
  if (failures_.size() >= 5) {
    d.failed = true;
    d.reason = how + "; " + std::to_string(failures_.size()) +
               " failures within a minute: giving up (fleetctl restart " + spec.name + ")";
    return d;
  }
  d.restart = true;
  d.delay = std::min<milliseconds>(milliseconds(1000) * (1 << (failures_.size() - 1)),
                                   milliseconds(30'000));
  d.reason = how + "; restarting in " + std::to_string(d.delay.count() / 1000.0).substr(0, 4) + "s";
  ++restarts_;
  return d;
}

bool port_in_use(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  bool used = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return used;
}

bool http_healthy(const std::string& url) {
  // http://host:port/path
  const std::string rest = url.substr(7);
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon);
  const int port = colon == std::string::npos ? 80 : std::atoi(authority.substr(colon + 1).c_str());
  httplib::Client client(host, port);
  client.set_connection_timeout(std::chrono::milliseconds(500));
  client.set_read_timeout(std::chrono::seconds(2));
  auto res = client.Get(path.c_str());
  return res && res->status == 200;
}

namespace {

enum class State { kWaiting, kRunning, kBackoff, kDone, kExited, kFailed, kStopping, kStopped };

const char* name_of(State s) {
  switch (s) {
    case State::kWaiting:
      return "waiting";
    case State::kRunning:
      return "running";
    case State::kBackoff:
      return "restarting";
    case State::kDone:
      return "done";
    case State::kExited:
      return "exited";
    case State::kFailed:
      return "failed";
    case State::kStopping:
      return "stopping";
    case State::kStopped:
      return "stopped";
  }
  return "?";
}

struct Service {
  const ServiceSpec* spec = nullptr;
  State state = State::kWaiting;
  pid_t pid = -1;
  int out_fd = -1;
  std::unique_ptr<RotatingLog> log;
  RestartTracker tracker;
  Steady::time_point started{};
  Steady::time_point next_start{};
  Steady::time_point stop_deadline{};
  std::string last_exit;
  bool restart_requested = false;
};

std::string pid_file(const ServicesFile& f, const std::string& name) {
  return f.run_dir + "/" + name + ".pid";
}

bool alive(pid_t pid) {
  return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

pid_t read_pid(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid)) return -1;
  return static_cast<pid_t>(pid);
}

// Forks and execs a service in its own process group with its output on a pipe.
pid_t spawn(const ServiceSpec& spec, int* out_fd, std::string* error) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    *error = std::strerror(errno);
    return -1;
  }
  passwd* pw = nullptr;
  if (!spec.user.empty() && geteuid() != 0) {
    passwd* me = getpwuid(geteuid());
    if (me == nullptr || spec.user != me->pw_name) {
      *error = "running as user '" + spec.user + "' needs root";
      close(pipefd[0]);
      close(pipefd[1]);
      return -1;
    }
  } else if (!spec.user.empty()) {
    pw = getpwnam(spec.user.c_str());
    if (pw == nullptr) {
      *error = "no such user '" + spec.user + "'";
      close(pipefd[0]);
      close(pipefd[1]);
      return -1;
    }
  }
  std::vector<std::string> env_strings;
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [k, v] : spec.env)
    env[k] = v;
  for (const auto& [k, v] : env)
    env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.command;
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    *error = std::strerror(errno);
    close(pipefd[0]);
    close(pipefd[1]);
    return -1;
  }
  if (pid == 0) {
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    if (pw != nullptr &&
        (setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)) {
      std::fprintf(stderr, "fleetctl up: cannot switch to user %s: %s\n", spec.user.c_str(),
                   std::strerror(errno));
      _exit(126);
    }
    if (chdir(spec.cwd.c_str()) != 0) {
      std::fprintf(stderr, "fleetctl up: cannot enter %s: %s\n", spec.cwd.c_str(),
                   std::strerror(errno));
      _exit(126);
    }
    execvpe(argv[0], argv.data(), envp.data());
    std::fprintf(stderr, "fleetctl up: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so signals to the group work at once
  close(pipefd[1]);
  fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
  *out_fd = pipefd[0];
  return pid;
}

class Runner {
 public:
  Runner(const ServicesFile& file, const SupervisorOptions& options, std::ostream& out)
      : file_(file), options_(options), out_(out) {}

  int run();

 private:
  void say(const std::string& name, const std::string& text) {
    out_ << "[fleetctl up] " << name << ": " << text << "\n" << std::flush;
    if (Service* s = find(name); s != nullptr && s->log)
      s->log->write("[fleetctl up] " + text + "\n");
  }
  Service* find(const std::string& name) {
    for (auto& s : services_) {
      if (s.spec->name == name) return &s;
    }
    return nullptr;
  }
  bool dependency_ready(const Service& dep);
  void try_start(Service& s, Steady::time_point now);
  void pump(Service& s);
  void reap(Steady::time_point now);
  void begin_stop(Service& s, Steady::time_point now);
  void check_restart_requests(Steady::time_point now);
  void write_status();
  std::vector<std::string> selected() const;

  const ServicesFile& file_;
  const SupervisorOptions& options_;
  std::ostream& out_;
  std::vector<Service> services_;
  bool shutting_down_ = false;
};

std::vector<std::string> Runner::selected() const {
  if (options_.only.empty()) {
    std::vector<std::string> all;
    for (const auto& s : file_.services)
      all.push_back(s.name);
    return all;
  }
  // The named services and everything they depend on.
  std::vector<std::string> out = options_.only;
  for (size_t i = 0; i < out.size(); ++i) {
    if (const ServiceSpec* spec = file_.find(out[i])) {
      for (const auto& d : spec->depends_on) {
        if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
      }
    }
  }
  return out;
}

bool Runner::dependency_ready(const Service& dep) {
  if (dep.spec->oneshot) return dep.state == State::kDone;
  if (dep.state != State::kRunning) return false;
  if (!dep.spec->health_url.empty()) return http_healthy(dep.spec->health_url);
  if (dep.spec->port > 0) return port_in_use(dep.spec->port);
  return Steady::now() - dep.started > std::chrono::seconds(1);
}

void Runner::try_start(Service& s, Steady::time_point now) {
  if (s.state != State::kWaiting && s.state != State::kBackoff) return;
  if (now < s.next_start) return;
  for (const auto& d : s.spec->depends_on) {
    Service* dep = find(d);
    if (dep == nullptr || !dependency_ready(*dep)) return;
  }
  if (s.spec->port > 0 && port_in_use(s.spec->port)) {
    s.state = State::kFailed;
    s.last_exit = "port " + std::to_string(s.spec->port) + " is in use by another process";
    say(s.spec->name, "not started: " + s.last_exit);
    return;
  }
  std::string error;
  int fd = -1;
  pid_t pid = spawn(*s.spec, &fd, &error);
  if (pid < 0) {
    s.state = State::kFailed;
    s.last_exit = "cannot start: " + error;
    say(s.spec->name, s.last_exit);
    return;
  }
  s.pid = pid;
  s.out_fd = fd;
  s.state = State::kRunning;
  s.started = now;
  std::ofstream(pid_file(file_, s.spec->name)) << pid << "\n";
  say(s.spec->name, "started (pid " + std::to_string(pid) + ")");
}

void Runner::pump(Service& s) {
  if (s.out_fd < 0) return;
  char buf[65536];
  while (true) {
    ssize_t n = read(s.out_fd, buf, sizeof buf);
    if (n > 0) {
      s.log->write(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) {  // every writer closed: the process (group) is gone
      close(s.out_fd);
      s.out_fd = -1;
    }
    return;
  }
}

void Runner::reap(Steady::time_point now) {
  while (true) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (auto& s : services_) {
      if (s.pid != pid) continue;
      pump(s);
      std::error_code ec;
      fs::remove(pid_file(file_, s.spec->name), ec);
      s.pid = -1;
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      const int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      const auto ran = std::chrono::duration_cast<milliseconds>(now - s.started);
      if (s.state == State::kStopping || shutting_down_) {
        s.state = State::kStopped;
        s.last_exit = sig ? "stopped by signal " + std::to_string(sig)
                          : "stopped (code " + std::to_string(code) + ")";
        if (s.restart_requested && !shutting_down_) {
          s.restart_requested = false;
          s.tracker.reset();
          s.state = State::kWaiting;
          s.next_start = now;
          say(s.spec->name, "restarting on request");
        } else {
          say(s.spec->name, s.last_exit);
        }
        continue;
      }
      ExitDecision d = s.tracker.on_exit(*s.spec, code, sig, now, ran);
      s.last_exit = d.reason;
      if (d.restart) {
        s.state = State::kBackoff;
        s.next_start = now + d.delay;
      } else if (d.failed) {
        s.state = State::kFailed;
      } else {
        s.state = s.spec->oneshot ? State::kDone : State::kExited;
      }
      say(s.spec->name, d.reason);
    }
  }
}

void Runner::begin_stop(Service& s, Steady::time_point now) {
  if (s.pid <= 0) {
    if (s.state == State::kWaiting || s.state == State::kBackoff) s.state = State::kStopped;
    return;
  }
  if (s.state == State::kStopping) return;
  s.state = State::kStopping;
  s.stop_deadline = now + s.spec->stop_timeout;
  kill(-s.pid, SIGTERM);
}

void Runner::check_restart_requests(Steady::time_point now) {
  for (auto& s : services_) {
    const std::string request = file_.run_dir + "/" + s.spec->name + ".restart";
    std::error_code ec;
    if (!fs::exists(request, ec)) continue;
    fs::remove(request, ec);
    s.restart_requested = true;
    if (s.pid > 0) {
      say(s.spec->name, "restart requested: stopping");
      begin_stop(s, now);
    } else {
      s.restart_requested = false;
      s.tracker.reset();
      s.state = State::kWaiting;
      s.next_start = now;
      say(s.spec->name, "restart requested: starting");
    }
  }
}

void Runner::write_status() {
  json status = {{"supervisor_pid", getpid()}, {"services", json::object()}};
  const auto now = Steady::now();
  for (const auto& s : services_) {
    json item = {{"state", name_of(s.state)},
                 {"pid", s.pid},
                 {"restarts", s.tracker.restarts()},
                 {"last_exit", s.last_exit}};
    if (s.pid > 0) item["uptime_seconds"] = std::chrono::duration<double>(now - s.started).count();
    status["services"][s.spec->name] = item;
  }
  const std::string tmp = file_.run_dir + "/status.json.tmp";
  std::ofstream(tmp) << status.dump(2) << "\n";
  std::error_code ec;
  fs::rename(tmp, file_.run_dir + "/status.json", ec);
}

int Runner::run() {
  std::error_code ec;
  fs::create_directories(file_.log_dir, ec);
  fs::create_directories(file_.run_dir, ec);
  if (ec) {
    out_ << "fleetctl up: cannot create " << file_.run_dir << ": " << ec.message() << "\n";
    return 1;
  }
  const std::string lock = file_.run_dir + "/supervisor.pid";
  if (pid_t other = read_pid(lock); other > 0 && other != getpid() && alive(other)) {
    out_ << "fleetctl up: another supervisor (pid " << other << ") runs these services\n";
    return 1;
  }
  std::ofstream(lock) << getpid() << "\n";

  for (const auto& name : selected()) {
    const ServiceSpec* spec = file_.find(name);
    if (spec == nullptr) {
      out_ << "fleetctl up: no service named '" << name << "' in " << file_.path << "\n";
      return 1;
    }
  }
  for (const auto& spec : file_.services) {
    auto names = selected();
    if (std::find(names.begin(), names.end(), spec.name) == names.end()) continue;
    Service s;
    s.spec = &spec;
    s.log = std::make_unique<RotatingLog>(file_.log_dir + "/" + spec.name + ".log",
                                          file_.log_max_bytes, file_.log_max_files);
    services_.push_back(std::move(s));
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  auto last_status = Steady::now();
  auto last_table = Steady::now();
  while (true) {
    const auto now = Steady::now();
    if (!shutting_down_) {
      check_restart_requests(now);
      for (auto& s : services_)
        try_start(s, now);
    } else {
      // Stop in reverse dependency order: a service stops once its dependents are down.
      for (auto it = services_.rbegin(); it != services_.rend(); ++it) {
        bool dependents_down =
            std::all_of(services_.begin(), services_.end(), [&](const Service& o) {
              bool depends = std::find(o.spec->depends_on.begin(), o.spec->depends_on.end(),
                                       it->spec->name) != o.spec->depends_on.end();
              return !depends || o.pid <= 0;
            });
        if (dependents_down) begin_stop(*it, now);
      }
    }
    for (auto& s : services_) {
      if (s.state == State::kStopping && s.pid > 0 && now > s.stop_deadline) {
        say(s.spec->name, "did not stop in time: SIGKILL");
        kill(-s.pid, SIGKILL);
        s.stop_deadline = now + std::chrono::seconds(30);
      }
    }
    if (shutting_down_ && std::none_of(services_.begin(), services_.end(),
                                       [](const Service& s) { return s.pid > 0; })) {
      break;
    }

    std::vector<pollfd> fds{{sfd, POLLIN, 0}};
    std::vector<Service*> owners{nullptr};
    for (auto& s : services_) {
      if (s.out_fd >= 0) {
        fds.push_back({s.out_fd, POLLIN, 0});
        owners.push_back(&s);
      }
    }
    poll(fds.data(), fds.size(), 200);
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents != 0) pump(*owners[i]);
    }
    signalfd_siginfo info{};
    while (read(sfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if ((info.ssi_signo == SIGINT || info.ssi_signo == SIGTERM) && !shutting_down_) {
        out_ << "[fleetctl up] stopping every service\n" << std::flush;
        shutting_down_ = true;
      }
    }
    reap(Steady::now());
    if (Steady::now() - last_status > std::chrono::seconds(1)) {
      write_status();
      last_status = Steady::now();
    }
    if (options_.status_every.count() > 0 && !shutting_down_ &&
        Steady::now() - last_table > options_.status_every) {
      out_ << status_table(file_) << std::flush;
      last_table = Steady::now();
    }
  }
  for (auto& s : services_)
    pump(s);
  write_status();
  fs::remove(lock, ec);
  close(sfd);
  out_ << "[fleetctl up] all services stopped\n" << std::flush;
  return 0;
}

}  // namespace

int supervise(const ServicesFile& file, const SupervisorOptions& options, std::ostream& out) {
  Runner runner(file, options, out);
  return runner.run();
}

std::string status_table(const ServicesFile& file) {
  json status;
  std::ifstream in(file.run_dir + "/status.json");
  bool supervised = false;
  if (in) {
    status = json::parse(in, nullptr, false);
    supervised = !status.is_discarded() && status.contains("supervisor_pid") &&
                 alive(status["supervisor_pid"].get<pid_t>());
  }
  Table table({"SERVICE", "STATE", "PID", "PORT", "HEALTH", "UPTIME", "RESTARTS", "LAST EXIT"});
  for (const auto& spec : file.services) {
    std::string state = "stopped";
    std::string uptime;
    std::string restarts;
    std::string last_exit;
    pid_t pid = read_pid(pid_file(file, spec.name));
    if (supervised && status["services"].contains(spec.name)) {
      const auto& s = status["services"][spec.name];
      state = s.value("state", "?");
      restarts = std::to_string(s.value("restarts", 0));
      last_exit = s.value("last_exit", "");
      if (s.contains("uptime_seconds")) uptime = short_age(s["uptime_seconds"].get<double>());
    } else if (alive(pid)) {
      state = "running (unsupervised)";
    }
    if (!alive(pid)) pid = -1;
    std::string health = "-";
    if (spec.oneshot) {
      health = "-";
    } else if (!spec.health_url.empty()) {
      health = http_healthy(spec.health_url) ? "healthy" : "unhealthy";
    } else if (spec.port > 0) {
      health = port_in_use(spec.port) ? "listening" : "closed";
    }
    table.add({spec.name, state, pid > 0 ? std::to_string(pid) : "-",
               spec.port > 0 ? std::to_string(spec.port) : "-", health, uptime, restarts,
               last_exit});
  }
  return table.render(60);
}

Result<std::vector<std::string>> request_restart(const ServicesFile& file,
                                                 const std::vector<std::string>& names) {
  std::ifstream in(file.run_dir + "/status.json");
  json status = in ? json::parse(in, nullptr, false) : json();
  if (status.is_discarded() || !status.is_object() || !status.contains("supervisor_pid") ||
      !alive(status["supervisor_pid"].get<pid_t>())) {
    return Error::precondition("no supervisor is running for " + file.path +
                               " (start one with fleetctl up)");
  }
  std::vector<std::string> targets = names;
  if (targets.empty()) {
    for (const auto& [name, s] : status["services"].items()) {
      if (s.value("state", "") == "failed") targets.push_back(name);
    }
  }
  for (const auto& name : targets) {
    if (file.find(name) == nullptr) return Error::not_found("no service named '" + name + "'");
    std::ofstream(file.run_dir + "/" + name + ".restart") << "\n";
  }
  return targets;
}

}  // namespace fleet::cli
