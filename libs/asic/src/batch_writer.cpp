#include "asic/batch_writer.h"

#include <spdlog/spdlog.h>

#include "db/errors.h"
#include "db/session.h"

namespace fleet::asic {

BatchWriter::BatchWriter(db::ConnectionOptions options, std::size_t max_queued)
    : session_(std::make_unique<db::Session>(std::move(options))),
      max_queued_(std::max<std::size_t>(max_queued, 1)),
      thread_([this] { loop(); }) {}

BatchWriter::~BatchWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void BatchWriter::submit(Job job) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return queue_.size() < max_queued_; });
  queue_.push_back(std::move(job));
  changed_.notify_all();
}

std::vector<Error> BatchWriter::drain() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return queue_.empty() && !busy_; });
  return std::exchange(errors_, {});
}

void BatchWriter::loop() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      changed_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    changed_.notify_all();
    std::optional<Error> error;
    try {
      session_->transact([&](pqxx::transaction_base& tx) { job(tx); });
    } catch (const std::exception& e) {
      error = db::to_error(e);
      spdlog::warn("writing a batch failed: {}", error->describe());
    }
    {
      std::lock_guard lock(mu_);
      busy_ = false;
      if (error) errors_.push_back(std::move(*error));
    }
    changed_.notify_all();
  }
}

}  // namespace fleet::asic
