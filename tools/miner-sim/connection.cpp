// One client connection of a shard: reading and parsing requests, writing (possibly virtual)
// answers with back-pressure, delayed, hung and reset answers for the transport faults.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "shard.h"

namespace fleet::minersim {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 16384;
constexpr size_t kFillChunk = 65536;

// A block of `c` bytes to write virtual body segments from. One block per byte value: a single
// writev may reference several (e.g. "[[[" then "]]]").
const char* fill_block(char c) {
  thread_local std::array<std::unique_ptr<char[]>, 256> blocks;
  auto& b = blocks[static_cast<unsigned char>(c)];
  if (!b) {
    b = std::make_unique<char[]>(kFillChunk);
    std::memset(b.get(), c, kFillChunk);
  }
  return b.get();
}

}  // namespace

Connection::Connection(Shard& shard, int fd, int miner, uint64_t id)
    : shard_(shard), fd_(fd), miner_(miner), id_(id), last_activity_(SteadyClock::now()) {}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::close(bool abortive) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  if (timer_ != 0) shard_.loop().cancel_timer(timer_);
  shard_.loop().remove(fd_);
  if (abortive) {
    linger lg{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  ::close(fd_);
  fd_ = -1;
  shard_.on_closed(*this);  // retires this object: it is destroyed after the current batch
}

void Connection::want_write(bool on) {
  if (on == writing_registered_ || state_ == State::kClosed) return;
  writing_registered_ = on;
  uint32_t events = on ? static_cast<uint32_t>(EPOLLOUT) : 0u;
  if (!peer_closed_) events |= EPOLLIN | EPOLLRDHUP;
  (void)shard_.loop().modify(fd_, events, this);
}

void Connection::on_event(uint32_t events) {
  if (state_ == State::kClosed) return;
  if (events & EPOLLERR) {
    close();
    return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) {
    read_available();
    if (state_ == State::kClosed) return;
  }
  if ((events & EPOLLOUT) && state_ == State::kWriting) flush();
  if (state_ == State::kReading) try_process();
}

void Connection::read_available() {
  char buf[kReadChunk];
  const size_t cap = shard_.config().limits.max_head + shard_.config().limits.max_body + 4096;
  while (!peer_closed_) {
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      last_activity_ = SteadyClock::now();
      // A hung (timeout fault) connection swallows whatever the client sends.
      if (state_ == State::kHanging) continue;
      if (in_.size() + static_cast<size_t>(n) > cap) {
        // More than one maximal request buffered: the client ignores our answers. Drop it.
        close();
        return;
      }
      in_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      peer_closed_ = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return;
    close();
    return;
  }
  // The client closed its side. Finish an answer in progress (it may still read), else close.
  if (state_ == State::kWriting) {
    writing_registered_ = false;  // re-register without EPOLLIN so EOF stops waking us
    want_write(true);
    return;
  }
  if (state_ == State::kReading) {
    // A complete pipelined request may still be in the buffer: try_process answers it.
    return;
  }
  close();
}

void Connection::try_process() {
  while (state_ == State::kReading) {
    if (in_.empty()) {
      if (peer_closed_) close();
      return;
    }
    const http::ParseResult r = http::parse_request(in_, shard_.config().limits, req_);
    if (r.status == http::ParseStatus::kIncomplete) {
      if (peer_closed_) close();
      return;
    }
    if (r.status == http::ParseStatus::kError) {
      response_ = http::Response{};
      response_.status = r.error_status;
      response_.content_type = "text/plain; charset=utf-8";
      response_.set_body(r.error + "\n");
      response_.close = true;
      in_.clear();
      start_write();
      return;
    }
    milliseconds delay{0};
    const Disposition d = shard_.handle(*this, delay);
    if (state_ == State::kClosed) return;
    if (!req_.keep_alive || peer_closed_) response_.close = true;
    // The answer is computed: the request's bytes (which req_ pointed into) can go.
    in_.erase(0, r.consumed);
    req_ = http::Request{};
    switch (d) {
      case Disposition::kSend:
        start_write();
        break;
      case Disposition::kReset:
        close(/*abortive=*/true);
        return;
      case Disposition::kHang:
        state_ = State::kHanging;
        in_.clear();
        last_activity_ = SteadyClock::now();
        return;
      case Disposition::kDelay: {
        state_ = State::kDelaying;
        const uint64_t id = id_;
        Shard* shard = &shard_;
        timer_ = shard_.loop().add_timer(SteadyClock::now() + delay, [shard, id] {
          auto it = shard->connections_.find(id);
          if (it == shard->connections_.end()) return;
          Connection* conn = it->second;
          conn->timer_ = 0;
          conn->start_write();
          if (conn->state_ == State::kReading) conn->try_process();  // pipelined requests
        });
        return;
      }
    }
  }
}

void Connection::start_write() {
  head_.clear();
  http::append_head(head_, response_);
  head_off_ = 0;
  seg_ = 0;
  seg_off_ = 0;
  body_sent_ = 0;
  state_ = State::kWriting;
  flush();
}

void Connection::flush() {
  const uint64_t limit = response_.close_after;
  while (state_ == State::kWriting) {
    iovec iov[8];
    int n = 0;
    size_t planned = 0;
    if (head_off_ < head_.size()) {
      iov[n++] = {head_.data() + head_off_, head_.size() - head_off_};
      planned += head_.size() - head_off_;
    }
    uint64_t budget = limit == UINT64_MAX ? UINT64_MAX : limit - body_sent_;
    size_t seg = seg_;
    uint64_t off = seg_off_;
    while (n < 8 && seg < response_.body.size() && budget > 0 && planned < (1u << 20)) {
      const http::Segment& s = response_.body[seg];
      if (off < s.text.size()) {
        const size_t len = static_cast<size_t>(std::min<uint64_t>(s.text.size() - off, budget));
        iov[n++] = {const_cast<char*>(s.text.data()) + off, len};
        planned += len;
        budget -= len;
        off += len;
      } else if (off < s.size()) {
        const size_t len = static_cast<size_t>(
            std::min<uint64_t>({s.size() - off, budget, static_cast<uint64_t>(kFillChunk)}));
        iov[n++] = {const_cast<char*>(fill_block(s.fill)), len};
        planned += len;
        budget -= len;
        off += len;
      }
      if (off >= s.size()) {
        ++seg;
        off = 0;
      }
    }
    if (n == 0) {
      finish_response();
      return;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    const ssize_t w = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        want_write(true);
        return;
      }
      close();
      return;
    }
    last_activity_ = SteadyClock::now();
    // Advance over what was written.
    size_t left = static_cast<size_t>(w);
    if (head_off_ < head_.size()) {
      const size_t take = std::min(left, head_.size() - head_off_);
      head_off_ += take;
      left -= take;
    }
    while (left > 0 && seg_ < response_.body.size()) {
      const http::Segment& s = response_.body[seg_];
      const uint64_t take = std::min<uint64_t>(left, s.size() - seg_off_);
      seg_off_ += take;
      body_sent_ += take;
      left -= static_cast<size_t>(take);
      if (seg_off_ >= s.size()) {
        ++seg_;
        seg_off_ = 0;
      }
    }
  }
}

void Connection::finish_response() {
  const bool cut = response_.close_after != UINT64_MAX && body_sent_ >= response_.close_after;
  if (cut || response_.close || peer_closed_) {
    close();
    return;
  }
  want_write(false);
  state_ = State::kReading;
  if (response_.body.size() > 2 || head_.capacity() > 4096) {
    response_ = http::Response{};  // give back a huge answer's memory
    head_ = std::string();
  }
  last_activity_ = SteadyClock::now();
  // try_process() runs next from on_event (or from the caller that started the write).
}

}  // namespace fleet::minersim
