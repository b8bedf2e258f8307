// Heartbeat load generator (docs/benchmarks.md § node heartbeats): many keep-alive connections,
// each bound to its own loopback source address (127.41.x.y), sending authenticated node
// heartbeats (POST /api/nodes/{id}/heartbeat) as fast as answers come back, or at a target rate.
// Each node is sent on one connection only, so a node never has two heartbeats in flight (as a
// real agent). With --path it sends GET <path> instead (the baseline on the same server).
//
//   heartbeat_loadgen --port P --credentials FILE [--connections 256] [--threads 2]
//                     [--duration 10] [--rate 0] [--path /health]
//
// FILE: one "<node id> <credential>" per line. Prints one line of JSON: requests, ok, errors,
// seconds, rps, p50_ms, p99_ms. Exit 1 when nothing succeeded.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int port = 0;
  std::string credentials;
  int connections = 256;
  int threads = 2;
  double duration = 10;
  double rate = 0;   // requests/s over all connections; 0 = as fast as possible
  std::string path;  // GET this instead of heartbeats
};

struct Node {
  std::string id;
  std::string credential;
  long long seq = 0;
};

struct Connection {
  int fd = -1;
  std::vector<Node*> nodes;  // sent round-robin on this connection
  std::size_t next = 0;
  std::string out;
  std::size_t sent = 0;
  std::string in;
  Clock::time_point started{};
  Clock::time_point due{};
  bool waiting = false;  // a request is in flight
};

struct Totals {
  long long ok = 0, errors = 0;
  std::vector<float> latencies_ms;
};

std::string heartbeat_request(Node& n, int port) {
  char body[768];
  const double cpu = static_cast<double>((n.seq * 7) % 100);
  const int len = std::snprintf(
      body, sizeof body,
      "{\"seq\":%lld,\"sent_at\":\"2026-01-01T00:00:00Z\",\"cpu_percent\":%.1f,"
      "\"memory_percent\":41.5,\"disk_percent\":63.2,\"containers\":3,\"containers_running\":2,"
      "\"container_list\":[{\"id\":\"4f1c2a\",\"name\":\"web\",\"image\":\"nginx:1.25\","
      "\"state\":\"running\",\"status\":\"Up 2 "
      "hours\",\"labels\":{\"fleetward.managed\":\"true\"}},"
      "{\"id\":\"9b2e11\",\"name\":\"db\",\"image\":\"postgres:15\",\"state\":\"running\","
      "\"status\":\"Up 2 hours\",\"labels\":{}},{\"id\":\"77aa01\",\"name\":\"job\",\"image\":"
      "\"busybox\",\"state\":\"exited\",\"status\":\"Exited (0)\",\"labels\":{}}]}",
      ++n.seq, cpu);
  return "POST /api/nodes/" + n.id +
         "/heartbeat HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nAuthorization: Bearer " + n.credential +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(len) +
         "\r\n\r\n" + std::string(body, static_cast<std::size_t>(len));
}

// A complete response at the front of `in`: its status and length, or 0 while incomplete.
std::size_t complete_response(const std::string& in, int* status) {
  const auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  *status = in.size() > 12 ? std::atoi(in.c_str() + 9) : 0;
  std::size_t length = 0;
  for (std::size_t at = in.find("\r\n"); at < head_end; at = in.find("\r\n", at + 2)) {
    if (strncasecmp(in.c_str() + at + 2, "content-length:", 15) == 0)
      length = std::strtoull(in.c_str() + at + 17, nullptr, 10);
  }
  const std::size_t total = head_end + 4 + length;
  return in.size() >= total ? total : 0;
}

int open_connection(int port, int index) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  // 127.41.0.1, 127.41.0.2, ...: a source address per connection (no per-address limit hit,
  // no ephemeral port exhaustion).
  local.sin_addr.s_addr = htonl(0x7f290001u + static_cast<unsigned>(index));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    std::perror("bind");
    std::exit(2);
  }
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(static_cast<std::uint16_t>(port));
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    std::perror("connect");
    std::exit(2);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

void run_thread(const Options& o, std::vector<Connection*> conns, Clock::time_point end,
                Totals& totals) {
  const int ep = ::epoll_create1(0);
  const auto interval =
      o.rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(o.connections) / o.rate))
                 : Clock::duration::zero();
  auto start_request = [&](Connection& c) {
    if (o.path.empty()) {
      Node& n = *c.nodes[c.next++ % c.nodes.size()];
      c.out = heartbeat_request(n, o.port);
    } else {
      c.out = "GET " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    }
    c.sent = 0;
    c.started = Clock::now();
    c.waiting = true;
    const ssize_t n = ::send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
    if (n > 0) c.sent = static_cast<std::size_t>(n);
  };
  for (Connection* c : conns) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->due = Clock::now();
    start_request(*c);
  }
  std::vector<epoll_event> events(256);
  char buf[16384];
  while (Clock::now() < end) {
    // Paced connections whose next request is due.
    auto wait = std::chrono::milliseconds(50);
    if (o.rate > 0) {
      const auto now = Clock::now();
      for (Connection* c : conns) {
        if (c->waiting) continue;
        if (c->due <= now) {
          start_request(*c);
        } else {
          wait =
              std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(c->due - now));
        }
      }
    }
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()),
                               static_cast<int>(std::max<long long>(wait.count(), 1)));
    for (int i = 0; i < n; ++i) {
      Connection& c = *static_cast<Connection*>(events[i].data.ptr);
      for (;;) {
        const ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got <= 0) {
          if (got == 0 || errno != EAGAIN) {
            std::fprintf(stderr, "connection closed by the server\n");
            ++totals.errors;
            ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
            ::close(c.fd);
            c.waiting = true;  // never again
          }
          break;
        }
        c.in.append(buf, static_cast<std::size_t>(got));
      }
      int status = 0;
      if (const std::size_t used = complete_response(c.in, &status); used > 0) {
        c.in.erase(0, used);
        const auto now = Clock::now();
        if (status >= 200 && status < 300) {
          ++totals.ok;
          totals.latencies_ms.push_back(
              std::chrono::duration<float, std::milli>(now - c.started).count());
        } else {
          ++totals.errors;
        }
        c.waiting = false;
        if (o.rate > 0) {
          c.due += interval;
          if (c.due < now - std::chrono::seconds(1)) c.due = now;  // fell behind: do not burst
        } else if (now < end) {
          start_request(c);
        }
      }
    }
  }
  ::close(ep);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--port")
      o.port = std::stoi(v);
    else if (k == "--credentials")
      o.credentials = v;
    else if (k == "--connections")
      o.connections = std::stoi(v);
    else if (k == "--threads")
      o.threads = std::stoi(v);
    else if (k == "--duration")
      o.duration = std::stod(v);
    else if (k == "--rate")
      o.rate = std::stod(v);
    else if (k == "--path")
      o.path = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  std::vector<Node> nodes;
  if (o.path.empty()) {
    std::ifstream in(o.credentials);
    Node n;
    while (in >> n.id >> n.credential)
      nodes.push_back(n);
    if (nodes.empty()) {
      std::fprintf(stderr, "no credentials in '%s'\n", o.credentials.c_str());
      return 2;
    }
    o.connections = std::min<int>(o.connections, static_cast<int>(nodes.size()));
  }
  std::vector<Connection> conns(static_cast<std::size_t>(o.connections));
  for (int i = 0; i < o.connections; ++i)
    conns[static_cast<std::size_t>(i)].fd = open_connection(o.port, i);
  for (std::size_t i = 0; i < nodes.size(); ++i)
    conns[i % conns.size()].nodes.push_back(&nodes[i]);

  const int threads = std::max(1, o.threads);
  std::vector<Totals> totals(static_cast<std::size_t>(threads));
  std::vector<std::thread> pool;
  const auto begin = Clock::now();
  const auto end = begin + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(o.duration));
  for (int t = 0; t < threads; ++t) {
    std::vector<Connection*> mine;
    for (std::size_t i = static_cast<std::size_t>(t); i < conns.size();
         i += static_cast<std::size_t>(threads))
      mine.push_back(&conns[i]);
    pool.emplace_back(run_thread, std::cref(o), mine, end,
                      std::ref(totals[static_cast<std::size_t>(t)]));
  }
  for (auto& t : pool)
    t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  Totals all;
  for (auto& t : totals) {
    all.ok += t.ok;
    all.errors += t.errors;
    all.latencies_ms.insert(all.latencies_ms.end(), t.latencies_ms.begin(), t.latencies_ms.end());
  }
  std::sort(all.latencies_ms.begin(), all.latencies_ms.end());
  auto pct = [&](double p) {
    if (all.latencies_ms.empty()) return 0.0;
    return static_cast<double>(all.latencies_ms[static_cast<std::size_t>(
        p * static_cast<double>(all.latencies_ms.size() - 1))]);
  };
  std::printf(
      "{\"requests\":%lld,\"ok\":%lld,\"errors\":%lld,\"seconds\":%.2f,\"rps\":%.0f,"
      "\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
      all.ok + all.errors, all.ok, all.errors, seconds, static_cast<double>(all.ok) / seconds,
      pct(0.5), pct(0.99));
  for (auto& c : conns)
    if (c.fd >= 0) ::close(c.fd);
  return all.ok > 0 ? 0 : 1;
}
