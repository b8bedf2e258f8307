#include "http/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>

namespace fleet::http {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return Error::internal(std::string("epoll_create1: ") + std::strerror(errno));
  const int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake < 0) {
    ::close(ep);
    return Error::internal(std::string("eventfd: ") + std::strerror(errno));
  }
  std::unique_ptr<EventLoop> loop(new EventLoop(ep, wake));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr = the wake-up eventfd
  if (epoll_ctl(ep, EPOLL_CTL_ADD, wake, &ev) != 0) {
    return Error::internal(std::string("epoll_ctl(eventfd): ") + std::strerror(errno));
  }
  return loop;
}

EventLoop::EventLoop(int epoll_fd, int wake_fd)
    : epoll_fd_(epoll_fd), wake_fd_(wake_fd), thread_id_(std::this_thread::get_id()) {}

EventLoop::~EventLoop() {
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

Status EventLoop::add(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return Error::unavailable(std::string("epoll_ctl(ADD): ") + std::strerror(errno));
  }
  return {};
}

Status EventLoop::modify(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) {
    return Error::unavailable(std::string("epoll_ctl(MOD): ") + std::strerror(errno));
  }
  return {};
}

void EventLoop::remove(int fd) {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::retire(std::unique_ptr<Handler> handler) {
  retired_.push_back(std::move(handler));
}

void EventLoop::wake() {
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void EventLoop::post(std::function<void()> fn) {
  bool first = false;
  {
    std::lock_guard lock(mu_);
    first = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  // One wake-up per batch: the loop takes all posted tasks at once, so a task posted behind
  // others is run with them (answers completed together cost one eventfd write, not one each).
  if (first) wake();
}

void EventLoop::run_sync(const std::function<void()>& fn) {
  std::promise<void> done;
  auto fut = done.get_future();
  post([&] {
    try {
      fn();
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  fut.get();
}

uint64_t EventLoop::add_timer(Clock::time_point when, std::function<void()> fn) {
  const uint64_t id = next_timer_id_++;
  timers_.emplace(id, std::move(fn));
  timer_heap_.push({when, id});
  return id;
}

void EventLoop::cancel_timer(uint64_t id) {
  timers_.erase(id);
}

void EventLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  wake();
}

void EventLoop::run_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(mu_);
    tasks.swap(posted_);
    if (stop_requested_) stopping_ = true;
  }
  for (auto& t : tasks)
    t();
}

int EventLoop::next_timeout_ms() {
  while (!timer_heap_.empty() && !timers_.count(timer_heap_.top().id))
    timer_heap_.pop();
  if (timer_heap_.empty()) return 1000;
  const auto wait = timer_heap_.top().when - Clock::now();
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

void EventLoop::run_timers() {
  const auto now = Clock::now();
  while (!timer_heap_.empty() && timer_heap_.top().when <= now) {
    const uint64_t id = timer_heap_.top().id;
    timer_heap_.pop();
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;
    auto fn = std::move(it->second);
    timers_.erase(it);
    fn();
  }
}

void EventLoop::run() {
  thread_id_ = std::this_thread::get_id();
  constexpr int kBatch = 256;
  epoll_event events[kBatch];
  while (!stopping_) {
    const int n = epoll_wait(epoll_fd_, events, kBatch, next_timeout_ms());
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      auto* h = static_cast<Handler*>(events[i].data.ptr);
      if (h == nullptr) {
        uint64_t v;
        [[maybe_unused]] auto r = ::read(wake_fd_, &v, sizeof v);
        continue;
      }
      h->on_event(events[i].events);
    }
    retired_.clear();
    run_timers();
    run_posted();
    retired_.clear();
  }
  run_posted();
  retired_.clear();
}

}  // namespace fleet::http
