// Writes batches to PostgreSQL on a thread of its own with its own connection, so a worker keeps
// thousands of HTTP requests moving while the previous results are being stored. Each job runs
// in one transaction; a failed job is rolled back and reported by drain().
//
// submit() and drain() are called from one thread (the cycle's).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <pqxx/transaction_base>

#include "core/result.h"
#include "db/connection_options.h"

namespace fleet::db {
class Session;
}

namespace fleet::asic {

class BatchWriter {
 public:
  using Job = std::function<void(pqxx::transaction_base&)>;

  // `max_queued`: submit() blocks while this many jobs wait (back-pressure on the fetcher).
  BatchWriter(db::ConnectionOptions options, std::size_t max_queued = 4);
  ~BatchWriter();  // finishes the queued jobs, then stops
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  void submit(Job job);
  // Waits until every submitted job ran; returns the errors of those that failed since the
  // last drain().
  std::vector<Error> drain();

 private:
  void loop();

  std::unique_ptr<db::Session> session_;
  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Job> queue_;      // guarded by mu_
  bool busy_ = false;          // guarded by mu_: a job is running
  bool stopping_ = false;      // guarded by mu_
  std::vector<Error> errors_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace fleet::asic
