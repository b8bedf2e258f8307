// A fixed set of database sessions shared by the request threads. Each request leases one for
// its duration; sessions reconnect by themselves after an outage.
//
// Fair: requests waiting for a session get one in the order they asked (a released session is
// handed to the first waiter, never taken by a request that came later). With a plain condition
// variable a thread that just finished could take the session back before the woken waiter ran,
// and under load a waiter lost that race again and again — seconds of tail latency on a busy
// two-core machine.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
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
  // Requests waiting for a session now (for tests and metrics).
  std::size_t waiting() const;
  // Registers a prepared statement on every session (planned once per connection, not per call).
  // Call before the server starts.
  void prepare(const std::string& name, const std::string& sql);

 private:
  struct Waiter {
    db::Session* session = nullptr;  // set by release() when handed over
    std::condition_variable cv;
  };
  void release(db::Session* session);
  std::vector<std::unique_ptr<db::Session>> sessions_;
  mutable std::mutex mu_;
  std::vector<db::Session*> free_;  // guarded by mu_
  std::deque<Waiter*> waiters_;     // guarded by mu_; first come, first served
};

}  // namespace fleet::gateway
