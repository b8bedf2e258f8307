#include "shard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "address.h"
#include "churn.h"
#include "vnish_api.h"

namespace fleet::minersim {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

}  // namespace

// ---------------------------------------------------------------- Listener

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
}

void Listener::close() {
  if (fd_ < 0) return;
  shard_.loop().remove(fd_);
  ::close(fd_);
  fd_ = -1;
}

void Listener::on_event(uint32_t /*events*/) {
  if (fd_ < 0) return;
  shard_.accept_from(*this, fd_, miner_);
}

// ---------------------------------------------------------------- Shard

Shard::Shard(std::unique_ptr<EventLoop> loop, ShardConfig config,
             std::vector<std::unique_ptr<Miner>>* miners, ControlApi* control)
    : loop_(std::move(loop)), config_(config), miners_(miners), control_(control) {}

Shard::~Shard() {
  for (auto& [id, c] : connections_)
    delete c;
  for (auto& [index, l] : listeners_)
    delete l;
}

Status Shard::open_listener(int index, uint32_t ip, uint16_t port) {
  const std::string where = format_ip(ip) + ":" + std::to_string(port);
  if (!is_loopback(ip)) return Error::invalid(where + " is not a loopback address (127.0.0.0/8)");
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error::unavailable("cannot create a socket for " + where + ": " + std::strerror(errno));
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(ip);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1024) != 0) {
    const int err = errno;
    ::close(fd);
    return Error::unavailable("cannot listen on " + where + ": " + std::strerror(err));
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto* l = new Listener(*this, fd, index);
  if (auto st = loop_->add(fd, EPOLLIN, l); !st.ok()) {
    delete l;
    return st;
  }
  listeners_[index] = l;
  bound_ports_[index] = ntohs(addr.sin_port);
  return {};
}

uint16_t Shard::bound_port(int index) const {
  auto it = bound_ports_.find(index);
  return it == bound_ports_.end() ? 0 : it->second;
}

void Shard::close_listener(int index) {
  auto it = listeners_.find(index);
  if (it == listeners_.end()) return;
  it->second->close();
  loop_->retire(std::unique_ptr<EventLoop::Handler>(it->second));
  listeners_.erase(it);
}

void Shard::close_miner_connections(int index) {
  std::vector<Connection*> doomed;
  for (auto& [id, c] : connections_) {
    if (c->miner() == index) doomed.push_back(c);
  }
  // The box is gone: peers see a reset, not an orderly close.
  for (auto* c : doomed)
    c->close(/*abortive=*/true);
}

void Shard::sync_listener(int index) {
  Miner& m = miner(index);
  const Now now = Now::real();
  (void)m.finish_reboot_if_due(now);
  const bool want = m.reachable(now);
  const bool have = listeners_.count(index) > 0;
  if (want && !have) {
    if (auto st = open_listener(index, m.ip(), config_.port); !st.ok()) {
      spdlog::warn("miner {}: {}; retrying in 1 s", index, st.error().message());
      loop_->add_timer(SteadyClock::now() + std::chrono::seconds(1),
                       [this, index] { sync_listener(index); });
    }
  } else if (!want && have) {
    close_listener(index);
    close_miner_connections(index);
  }
}

Status Shard::move(int index, uint32_t ip) {
  Miner& m = miner(index);
  const uint32_t old_ip = m.ip();
  if (ip == old_ip) return {};
  const bool had = listeners_.count(index) > 0;
  close_listener(index);
  close_miner_connections(index);
  m.set_ip(ip);
  if (!m.reachable(Now::real())) return {};  // offline: it will listen there when it returns
  if (auto st = open_listener(index, ip, config_.port); !st.ok()) {
    m.set_ip(old_ip);
    if (had) (void)open_listener(index, old_ip, config_.port);
    return st;
  }
  return {};
}

void Shard::schedule_reboot(int index, milliseconds after, milliseconds down) {
  Miner& m = miner(index);
  m.schedule_reboot(Now::real(), after, down);
  const auto start = SteadyClock::now() + after;
  // Both steps go through timers, so a reboot asked for inside a request never closes the
  // connection that is answering it.
  loop_->add_timer(start, [this, index] { sync_listener(index); });
  loop_->add_timer(start + down, [this, index] { sync_listener(index); });
}

Status Shard::apply_fault(int index, const Fault& fault) {
  Miner& m = miner(index);
  if (fault.kind == FaultKind::kFailingChain &&
      (fault.arg < 1 || fault.arg > m.model().num_chains)) {
    return Error::invalid("failing_chain=" + std::to_string(fault.arg) + ": miner " +
                          std::to_string(index) + " (" + m.model().alias + ") has chains 1.." +
                          std::to_string(m.model().num_chains));
  }
  if (fault.kind == FaultKind::kFanLost && fault.arg >= m.model().fans) {
    return Error::invalid("fan_lost=" + std::to_string(fault.arg) + ": miner " +
                          std::to_string(index) + " has fans 0.." +
                          std::to_string(m.model().fans - 1));
  }
  switch (fault.kind) {
    case FaultKind::kRevokedKey:
      m.forget_keys();
      return {};
    case FaultKind::kReboot:
      schedule_reboot(index, milliseconds(0), std::chrono::seconds(fault.arg));
      return {};
    default:
      break;
  }
  m.add_fault(fault);
  if (fault.kind == FaultKind::kOffline) sync_listener(index);
  return {};
}

void Shard::start_housekeeping() {
  loop_->add_timer(SteadyClock::now() + std::chrono::seconds(1), [this] {
    housekeeping();
    start_housekeeping();
  });
}

void Shard::churn(uint64_t tick) {
  const int count = static_cast<int>(miners_->size());
  for (int i = config_.shard_index; i < count; i += config_.shard_count) {
    Miner& m = miner(i);
    const auto event =
        churn_event(config_.seed, i, tick, config_.churn_per_hour, m.model().num_chains);
    if (!event) continue;
    switch (event->kind) {
      case ChurnEvent::Kind::kReboot:
        spdlog::debug("churn: miner {} reboots", i);
        schedule_reboot(i, milliseconds(0), config_.reboot_time);
        break;
      case ChurnEvent::Kind::kOffline:
        spdlog::debug("churn: miner {} offline for {} s", i, event->duration.count());
        m.set_offline(true);
        sync_listener(i);
        loop_->add_timer(SteadyClock::now() + event->duration, [this, i] {
          miner(i).set_offline(false);
          sync_listener(i);
        });
        break;
      case ChurnEvent::Kind::kMove:
        if (churn_move) churn_move(i);
        break;
      case ChurnEvent::Kind::kFailingChain: {
        const Fault f{.kind = FaultKind::kFailingChain, .arg = event->chain};
        spdlog::debug("churn: miner {} chain {} fails for {} s", i, event->chain,
                      event->duration.count());
        m.add_fault(f);
        loop_->add_timer(SteadyClock::now() + event->duration,
                         [this, i, f] { miner(i).remove_fault(f); });
        break;
      }
    }
  }
}

void Shard::housekeeping() {
  const auto now = SteadyClock::now();
  if (config_.churn_per_hour > 0 && miners_ != nullptr && control_ == nullptr) {
    churn(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  }
  std::vector<Connection*> doomed;
  for (auto& [id, c] : connections_) {
    if (c->idle() && now - c->last_activity() > config_.idle_timeout) doomed.push_back(c);
    if (c->state() == Connection::State::kHanging &&
        now - c->last_activity() > config_.hang_limit) {
      doomed.push_back(c);
    }
  }
  for (auto* c : doomed)
    c->close();
}

bool Shard::evict_idle_connection() {
  Connection* oldest = nullptr;
  for (auto& [id, c] : connections_) {
    if ((c->idle() || c->state() == Connection::State::kHanging) &&
        (!oldest || c->last_activity() < oldest->last_activity())) {
      oldest = c;
    }
  }
  if (!oldest) return false;
  oldest->close();
  return true;
}

void Shard::pause_listener(Listener& l, int index) {
  // Level-triggered epoll would report the pending connection again at once: stop watching the
  // listener for a moment and leave the connection in its backlog.
  (void)loop_->modify(l.fd(), 0, &l);
  loop_->add_timer(SteadyClock::now() + milliseconds(50), [this, index] {
    auto it = listeners_.find(index);
    if (it != listeners_.end() && it->second->fd() >= 0) {
      (void)loop_->modify(it->second->fd(), EPOLLIN, it->second);
    }
  });
}

void Shard::accept_from(Listener& l, int lfd, int miner_index) {
  for (int i = 0; i < 64; ++i) {
    if (connections_.size() >= config_.max_connections) {
      // Make room only for a connection that is actually waiting: evicting first and then
      // finding the backlog empty would close an idle connection for nothing.
      pollfd waiting{.fd = lfd, .events = POLLIN, .revents = 0};
      if (::poll(&waiting, 1, 0) <= 0) return;
      if (!evict_idle_connection()) {
        pause_listener(l, miner_index);  // every connection is busy
        return;
      }
    }
    const int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && evict_idle_connection()) continue;
      if (errno == EMFILE || errno == ENFILE) {
        spdlog::warn("out of file descriptors with {} connections open", connections_.size());
        pause_listener(l, miner_index);
      }
      return;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto* c = new Connection(*this, fd, miner_index, next_connection_id_++);
    if (!loop_->add(fd, EPOLLIN | EPOLLRDHUP, c).ok()) {
      delete c;
      continue;
    }
    connections_[c->id()] = c;
  }
}

void Shard::on_closed(Connection& c) {
  connections_.erase(c.id());
  loop_->retire(std::unique_ptr<EventLoop::Handler>(&c));
}

Disposition Shard::handle(Connection& c, milliseconds& delay) {
  if (c.miner_ < 0) {
    control_->handle(c.req_, c.response_);
    return Disposition::kSend;
  }
  Miner& m = miner(c.miner_);
  const http::Request& req = c.req_;
  const Endpoint e = classify_path(req.path);
  m.count(e);
  if (m.fault_for(FaultKind::kReset, req.path)) return Disposition::kReset;
  if (m.fault_for(FaultKind::kTimeout, req.path)) return Disposition::kHang;
  const ApiEffects fx = handle_vnish(m, req, e, Now::real(), c.response_, scratch_);
  if (fx.reboot_after) {
    schedule_reboot(c.miner_, *fx.reboot_after,
                    std::chrono::duration_cast<milliseconds>(config_.reboot_time));
  }
  if (const Fault* slow = m.fault_for(FaultKind::kSlow, req.path); slow && slow->arg > 0) {
    delay = milliseconds(slow->arg);
    return Disposition::kDelay;
  }
  return Disposition::kSend;
}

}  // namespace fleet::minersim
