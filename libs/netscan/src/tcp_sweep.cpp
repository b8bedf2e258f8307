#include "netscan/tcp_sweep.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

namespace fleet::netscan {

namespace {

using Clock = std::chrono::steady_clock;

struct Attempt {
  int fd;
  Ipv4 address;
  Clock::time_point deadline;
  std::uint64_t seq;  // tells this attempt from a later one that reuses the fd number
};

class EpollFd {
 public:
  EpollFd() : fd_(epoll_create1(EPOLL_CLOEXEC)) {}
  ~EpollFd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

enum class Outcome { kPending, kOpen, kRefused, kUnreachable };

Outcome outcome_of_error(int err) {
  if (err == 0) return Outcome::kOpen;
  if (err == ECONNREFUSED || err == ECONNRESET) return Outcome::kRefused;
  return Outcome::kUnreachable;
}

}  // namespace

Result<SweepResult> tcp_sweep(const std::vector<Ipv4>& addresses, const SweepOptions& options,
                              const std::function<bool()>& stop,
                              const std::function<void(Ipv4)>& on_open) {
  const auto started = Clock::now();
  SweepResult result;
  EpollFd epoll;
  if (epoll.get() < 0) return Error::internal(std::string("epoll_create1: ") + strerror(errno));

  // In-flight attempts in start order; all share one timeout, so the front expires first.
  std::deque<Attempt> in_flight;
  std::vector<std::uint8_t> done_flag;  // indexed by fd: 1 once the attempt is finished
  std::vector<std::uint64_t> fd_seq;    // indexed by fd: the attempt using it now
  std::uint64_t seq = 0;
  auto finished = [&](const Attempt& a) { return done_flag[a.fd] || fd_seq[a.fd] != a.seq; };
  size_t next = 0;
  size_t max_in_flight = std::max<size_t>(options.max_in_flight, 1);

  size_t active = 0;  // attempts started and not finished
  auto finish = [&](int fd, Ipv4 address, Outcome outcome) {
    --active;
    close(fd);  // also leaves the epoll set: the descriptor is never duplicated
    if (static_cast<size_t>(fd) < done_flag.size()) done_flag[fd] = 1;
    switch (outcome) {
      case Outcome::kOpen:
        result.open.push_back(address);
        if (on_open) on_open(address);
        break;
      case Outcome::kRefused:
        ++result.refused;
        break;
      case Outcome::kUnreachable:
        ++result.unreachable;
        break;
      case Outcome::kPending:
        ++result.timed_out;
        break;
    }
  };

  std::vector<epoll_event> events(1024);
  std::vector<Ipv4> fd_address;
  while (next < addresses.size() || !in_flight.empty()) {
    if (stop && stop()) {
      result.stopped = true;
      for (const auto& a : in_flight) {
        if (finished(a)) continue;
        close(a.fd);
      }
      break;
    }
    // Start new attempts up to the bound, a slice at a time: answers that are already back
    // (a local RST) never use the bound, and waiting ones must not sit past their deadline
    // while thousands of others are started.
    size_t started_now = 0;
    while (next < addresses.size() && active < max_in_flight && started_now++ < 512) {
      const Ipv4 address = addresses[next];
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS) && active > 0) {
          max_in_flight = std::max<size_t>(active / 2, 1);  // back off, retry later
          break;
        }
        return Error(ErrorKind::kResourceExhausted, std::string("socket: ") + strerror(errno));
      }
      ++next;
      if (static_cast<size_t>(fd) >= done_flag.size()) {
        done_flag.resize(fd + 1024, 1);
        fd_address.resize(fd + 1024, 0);
        fd_seq.resize(fd + 1024, 0);
      }
      done_flag[fd] = 0;
      fd_seq[fd] = ++seq;
      fd_address[fd] = address;
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<std::uint16_t>(options.port));
      sa.sin_addr.s_addr = htonl(address);
      if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
        result.open.push_back(address);
        if (on_open) on_open(address);
        close(fd);
        done_flag[fd] = 1;
        continue;
      }
      if (errno != EINPROGRESS) {
        const Outcome o = outcome_of_error(errno);
        close(fd);
        done_flag[fd] = 1;
        if (o == Outcome::kRefused) {
          ++result.refused;
        } else {
          ++result.unreachable;
        }
        continue;
      }
      // The answer is often back already (a local RST, e.g. on loopback or the host itself):
      // then the socket is done without a round through epoll.
      int early = 0;
      socklen_t early_len = sizeof early;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &early, &early_len) == 0 && early != 0) {
        close(fd);
        done_flag[fd] = 1;
        if (outcome_of_error(early) == Outcome::kRefused) {
          ++result.refused;
        } else {
          ++result.unreachable;
        }
        continue;
      }
      epoll_event ev{};
      ev.events = EPOLLOUT;
      ev.data.fd = fd;
      epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &ev);
      in_flight.push_back({fd, address, Clock::now() + options.timeout, seq});
      ++active;
    }
    // Drop finished attempts from the front; expire timed-out ones.
    const auto now = Clock::now();
    while (!in_flight.empty()) {
      const Attempt& a = in_flight.front();
      if (finished(a)) {
        in_flight.pop_front();
      } else if (a.deadline <= now) {
        finish(a.fd, a.address, Outcome::kPending);
        in_flight.pop_front();
      } else {
        break;
      }
    }
    if (in_flight.empty()) continue;
    const auto wait =
        std::chrono::duration_cast<std::chrono::milliseconds>(in_flight.front().deadline - now)
            .count();
    const int n = epoll_wait(epoll.get(), events.data(), static_cast<int>(events.size()),
                             static_cast<int>(std::clamp<long>(wait, 0, 50)));
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (done_flag[fd]) continue;
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      finish(fd, fd_address[fd], outcome_of_error(err));
    }
  }
  std::sort(result.open.begin(), result.open.end());
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
  return result;
}

}  // namespace fleet::netscan
