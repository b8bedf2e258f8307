#include "db_pool.h"

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
  if (!cv_.wait_for(lock, timeout, [&] { return !free_.empty(); })) {
    throw ApiError(503, "unavailable", "the server is busy; retry shortly");
  }
  db::Session* s = free_.back();
  free_.pop_back();
  return Lease(*this, s);
}

void DbPool::prepare(const std::string& name, const std::string& sql) {
  std::lock_guard lock(mu_);
  for (auto& session : sessions_)
    session->prepare(name, sql);
}

void DbPool::release(db::Session* session) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(session);
  }
  cv_.notify_one();
}

}  // namespace fleet::gateway
