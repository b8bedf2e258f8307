// miner-sim benchmark: starts miner-sim with N miners and fetches one endpoint from every miner
// with high concurrency from a small epoll HTTP client (wrk cannot target 10,000 addresses), for a
// few rounds. Reports requests/second, latency percentiles, and the simulator's CPU time per round
// (from /proc/<pid>/stat), beside a baseline endpoint measured in the same run.
//
//   miner_sim_bench [--sim build/bin/miner-sim] [--count 10000] [--concurrency 1000]
//                   [--rounds 3] [--threads 2] [--port 18480] [--endpoint /api/v1/summary]...
//
// Prints a Markdown table (docs/benchmarks.md § miner-sim). Exit 1 when a request failed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kApiKey = "0123456789abcdef0123456789abcdef";

struct Options {
  std::string sim = "build/bin/miner-sim";
  int count = 10000;
  int concurrency = 1000;
  int rounds = 3;
  int threads = 2;
  int port = 18480;
  uint32_t base_ip = 0x7f1e0001;  // 127.30.0.1: away from the tests' 127.20/16
  std::vector<std::string> endpoints;
};

// CPU seconds (user + system) a process has used so far.
double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string::npos) return 0;
  std::istringstream in(text.substr(close_paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15; ++i) {
    in >> field;
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double self_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Request {
  int fd = -1;
  int miner = 0;
  bool connected = false;
  size_t sent = 0;
  std::string request;
  std::string response;
  Clock::time_point start;
};

struct RoundResult {
  double seconds = 0;
  double sim_cpu = 0;
  double client_cpu = 0;
  int ok = 0;
  int failed = 0;
  uint64_t bytes = 0;
  std::vector<double> latencies_ms;
};

// True when `r.response` holds a complete answer; sets `status`.
bool complete(const std::string& resp, int& status) {
  const auto head_end = resp.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  status = std::atoi(resp.c_str() + 9);
  const auto cl = resp.find("content-length: ");
  if (cl == std::string::npos || cl > head_end) return true;
  const size_t length = std::strtoull(resp.c_str() + cl + 16, nullptr, 10);
  return resp.size() >= head_end + 4 + length;
}

RoundResult run_round(const Options& o, const std::string& path, pid_t sim_pid) {
  RoundResult result;
  const int ep = epoll_create1(0);
  std::vector<Request> slots(static_cast<size_t>(o.concurrency));
  int next_miner = 0;
  int in_flight = 0;
  const double sim_cpu0 = cpu_seconds(sim_pid);
  const double client_cpu0 = self_cpu_seconds();
  const auto t0 = Clock::now();

  auto start = [&](Request& r) {
    r = Request{};
    r.miner = next_miner++;
    r.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    const int one = 1;
    setsockopt(r.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o.port));
    const uint32_t ip = o.base_ip + static_cast<uint32_t>(r.miner);
    addr.sin_addr.s_addr = htonl(ip);
    char host[32];
    std::snprintf(host, sizeof host, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
                  ip & 255);
    r.request = "GET " + path + " HTTP/1.1\r\nHost: " + host +
                "\r\nAccept: application/json\r\nx-api-key: " + kApiKey + "\r\n\r\n";
    r.start = Clock::now();
    ::connect(r.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.ptr = &r;
    epoll_ctl(ep, EPOLL_CTL_ADD, r.fd, &ev);
    ++in_flight;
  };
  auto finish = [&](Request& r, bool ok) {
    epoll_ctl(ep, EPOLL_CTL_DEL, r.fd, nullptr);
    ::close(r.fd);
    r.fd = -1;
    --in_flight;
    if (ok) {
      ++result.ok;
      result.bytes += r.response.size();
      result.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - r.start).count());
    } else {
      ++result.failed;
    }
    if (next_miner < o.count) start(r);
  };

  for (auto& r : slots) {
    if (next_miner >= o.count) break;
    start(r);
  }
  epoll_event events[512];
  char buf[65536];
  while (in_flight > 0) {
    const int n = epoll_wait(ep, events, 512, 1000);
    for (int i = 0; i < n; ++i) {
      Request& r = *static_cast<Request*>(events[i].data.ptr);
      if (r.fd < 0) continue;
      if (!r.connected) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(r.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          finish(r, false);
          continue;
        }
        r.connected = true;
      }
      if (r.sent < r.request.size()) {
        const ssize_t w =
            ::send(r.fd, r.request.data() + r.sent, r.request.size() - r.sent, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          finish(r, false);
          continue;
        }
        if (w > 0) r.sent += static_cast<size_t>(w);
        if (r.sent == r.request.size()) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.ptr = &r;
          epoll_ctl(ep, EPOLL_CTL_MOD, r.fd, &ev);
        }
        continue;
      }
      while (true) {
        const ssize_t got = ::read(r.fd, buf, sizeof buf);
        if (got > 0) {
          r.response.append(buf, static_cast<size_t>(got));
          continue;
        }
        if (got < 0 && errno == EAGAIN) break;
        finish(r, false);  // EOF or error before a complete answer
        break;
      }
      if (r.fd < 0) continue;
      int status = 0;
      if (complete(r.response, status)) finish(r, status == 200);
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  result.sim_cpu = cpu_seconds(sim_pid) - sim_cpu0;
  result.client_cpu = self_cpu_seconds() - client_cpu0;
  ::close(ep);
  return result;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int usage(const char* msg) {
  std::fprintf(stderr, "miner_sim_bench: %s\n", msg);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + a).c_str());
    const std::string v = argv[++i];
    if (a == "--sim")
      o.sim = v;
    else if (a == "--count")
      o.count = std::stoi(v);
    else if (a == "--concurrency")
      o.concurrency = std::stoi(v);
    else if (a == "--rounds")
      o.rounds = std::stoi(v);
    else if (a == "--threads")
      o.threads = std::stoi(v);
    else if (a == "--port")
      o.port = std::stoi(v);
    else if (a == "--endpoint")
      o.endpoints.push_back(v);
    else
      return usage(("unknown flag " + a).c_str());
  }
  if (o.endpoints.empty()) o.endpoints = {"/api/v1/status", "/api/v1/summary", "/api/v1/chains"};
  signal(SIGPIPE, SIG_IGN);
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  // Start the simulator with a key installed on every miner.
  const std::string ready = "/tmp/miner_sim_bench." + std::to_string(getpid()) + ".ready";
  std::vector<std::string> args = {o.sim,
                                   "--count",
                                   std::to_string(o.count),
                                   "--port",
                                   std::to_string(o.port),
                                   "--base-ip",
                                   "127.30.0.1",
                                   "--threads",
                                   std::to_string(o.threads),
                                   "--api-key",
                                   kApiKey,
                                   "--ready-file",
                                   ready};
  std::vector<char*> argv_sim;
  for (auto& s : args)
    argv_sim.push_back(s.data());
  argv_sim.push_back(nullptr);
  pid_t sim = 0;
  if (posix_spawn(&sim, o.sim.c_str(), nullptr, nullptr, argv_sim.data(), environ) != 0) {
    return usage(("cannot start " + o.sim).c_str());
  }
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (access(ready.c_str(), F_OK) != 0) {
    if (Clock::now() > deadline || waitpid(sim, nullptr, WNOHANG) != 0) {
      kill(sim, SIGKILL);
      return usage("miner-sim did not become ready");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::printf(
      "miner-sim: %d miners, %d sim threads, client concurrency %d, %d rounds each, "
      "new connection per request\n\n",
      o.count, o.threads, o.concurrency, o.rounds);
  std::printf(
      "| endpoint | round | wall s | req/s | p50 ms | p99 ms | MB | sim CPU s | sim cores | "
      "client CPU s | failed |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  int failures = 0;
  for (const auto& path : o.endpoints) {
    for (int round = 1; round <= o.rounds; ++round) {
      const RoundResult r = run_round(o, path, sim);
      failures += r.failed;
      std::printf("| %s | %d | %.3f | %.0f | %.1f | %.1f | %.1f | %.3f | %.2f | %.3f | %d |\n",
                  path.c_str(), round, r.seconds, r.ok / r.seconds, percentile(r.latencies_ms, 0.5),
                  percentile(r.latencies_ms, 0.99), static_cast<double>(r.bytes) / 1e6, r.sim_cpu,
                  r.sim_cpu / r.seconds, r.client_cpu, r.failed);
      std::fflush(stdout);
    }
  }
  kill(sim, SIGTERM);
  int status = 0;
  waitpid(sim, &status, 0);
  const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  std::printf("\nminer-sim exit after SIGTERM: %s\n", clean ? "0 (clean)" : "NOT clean");
  return failures == 0 && clean ? 0 : 1;
}
