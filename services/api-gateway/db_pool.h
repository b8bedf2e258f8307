// A fixed set of database sessions shared by the request threads. Each request leases one for
// its duration; sessions reconnect by themselves after an outage.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "db/session.h"

namespace fleet::gateway {

class DbPool {
 public:
  DbPool(db::ConnectionOptions options, std::size_t size);

  class Lease {
   public:
    Lease(DbPool& pool, db::Session* session) : pool_(&pool), session_(session) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), session_(other.session_) {
      other.session_ = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    db::Session& operator*() const { return *session_; }
    db::Session* operator->() const { return session_; }

   private:
    DbPool* pool_;
    db::Session* session_;
  };

  // Waits up to `timeout` for a free session; throws ApiError 503 when none frees up.
  Lease acquire(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  std::size_t size() const { return sessions_.size(); }
  // Registers a prepared statement on every session (planned once per connection, not per call).
  // Call before the server starts.
  void prepare(const std::string& name, const std::string& sql);

 private:
  void release(db::Session* session);
  std::vector<std::unique_ptr<db::Session>> sessions_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<db::Session*> free_;  // guarded by mu_
};

}  // namespace fleet::gateway
