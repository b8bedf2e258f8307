#include "db_pool.h"

#include <algorithm>

#include "api_error.h"

namespace fleet::gateway {

DbPool::DbPool(db::ConnectionOptions options, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    sessions_.push_back(std::make_unique<db::Session>(options));
    free_.push_back(sessions_.back().get());
  }
}

DbPool::Lease::~Lease() {
  if (session_ != nullptr) pool_->release(session_);
}

DbPool::Lease DbPool::acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (waiters_.empty() && !free_.empty()) {
    db::Session* s = free_.back();  // the most recently used: its caches are warm
    free_.pop_back();
    return Lease(*this, s);
  }
  Waiter me;
  waiters_.push_back(&me);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (me.session == nullptr) {
    if (me.cv.wait_until(lock, deadline) == std::cv_status::timeout && me.session == nullptr) {
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
      throw ApiError(503, "unavailable", "the server is busy; retry shortly");
    }
  }
  return Lease(*this, me.session);
}

std::size_t DbPool::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

void DbPool::prepare(const std::string& name, const std::string& sql) {
  std::lock_guard lock(mu_);
  for (auto& session : sessions_)
    session->prepare(name, sql);
}

void DbPool::release(db::Session* session) {
  std::lock_guard lock(mu_);
  if (waiters_.empty()) {
    free_.push_back(session);
    return;
  }
  Waiter* first = waiters_.front();
  waiters_.pop_front();
  first->session = session;
  // Under the lock: the waiter lives on its own stack and may leave as soon as it sees the
  // session, so it must not be touched after the lock is released.
  first->cv.notify_one();
}

}  // namespace fleet::gateway
