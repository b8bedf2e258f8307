#include "dispatch/dispatcher.h"

#include <algorithm>

#include <pqxx/pqxx>

#include <spdlog/spdlog.h>

#include "db/session.h"

namespace fleet::dispatch {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

Dispatcher::Dispatcher(DispatcherOptions options,
                       std::map<std::string, std::unique_ptr<Channel>> channels)
    : options_(std::move(options)), channels_(std::move(channels)) {
  options_.store.channels.clear();
  for (const auto& [name, channel] : channels_)
    options_.store.channels.push_back(name);
  if (options_.record_database) {
    auto database = *options_.record_database;
    database.application_name += " (record)";
    record_db_ = std::make_unique<db::Session>(std::move(database));
    recorder_ = std::thread([this] { record_loop(); });
  }
}

Dispatcher::~Dispatcher() {
  // Channels report what they still hold (not sent, or no answer); the recorder writes it down.
  for (auto& [name, channel] : channels_)
    channel->shutdown(milliseconds(0));
  if (recorder_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stop_recorder_ = true;
    }
    cv_.notify_all();
    recorder_.join();
  }
}

void Dispatcher::record_now(db::Session& session,
                            const std::vector<std::pair<CommandJob, Outcome>>& done) {
  const auto began = steady_clock::now();
  session.transact([&](pqxx::transaction_base& tx) { record(tx, options_.store, done); });
  try {
    session.transact([&](pqxx::transaction_base& tx) { store_new_keys(tx, done); });
  } catch (const std::exception& e) {
    // The status-poller re-provisions a rejected key too; the outcome itself is recorded.
    spdlog::warn("storing re-provisioned API keys failed: {}", e.what());
  }
  spdlog::debug("recorded {} outcomes in {} ms", done.size(),
                std::chrono::duration_cast<milliseconds>(steady_clock::now() - began).count());
  for (const auto& [job, o] : done) {
    switch (o.kind) {
      case Outcome::Kind::kSucceeded:
        ++succeeded_;
        spdlog::info("command {}: {} on {} succeeded", job.id, job.action, job.worker_name);
        break;
      case Outcome::Kind::kFailed:
        ++failed_;
        spdlog::warn("command {}: {} on {}: {}", job.id, job.action, job.worker_name, o.reason);
        break;
      default:
        ++retried_;
        spdlog::warn("command {}: {} on {}: {}", job.id, job.action, job.worker_name, o.reason);
        break;
    }
  }
  recorded_items_ += static_cast<std::int64_t>(done.size());
}

void Dispatcher::record_loop() {
  while (true) {
    std::vector<std::pair<CommandJob, Outcome>> batch;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, options_.idle_wait, [&] { return !done_.empty() || stop_recorder_; });
      stopping = stop_recorder_;
      if (done_.empty()) {
        if (stopping) return;
        continue;
      }
      batch.swap(done_);
    }
    try {
      record_now(*record_db_, batch);
    } catch (const std::exception& e) {
      spdlog::warn("recording {} command outcomes failed: {}", batch.size(), e.what());
      if (stopping) {
        spdlog::error("stopping with {} outcomes unrecorded: their leases will expire",
                      batch.size());
        return;
      }
      std::unique_lock lock(mu_);
      done_.insert(done_.begin(), std::make_move_iterator(batch.begin()),
                   std::make_move_iterator(batch.end()));
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_recorder_; });
      continue;
    }
    {
      std::lock_guard lock(mu_);
      for (const auto& d : batch)
        in_flight_.erase(d.first.id);
      recorded_ = true;
    }
    cv_.notify_all();
  }
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

std::size_t Dispatcher::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_.size();
}

void Dispatcher::finished(CommandJob job, Outcome outcome) {
  {
    std::lock_guard lock(mu_);
    done_.emplace_back(std::move(job), std::move(outcome));
  }
  cv_.notify_all();
}

void Dispatcher::send(std::vector<CommandJob> jobs) {
  for (auto& job : jobs) {
    auto it = channels_.find(job.channel);
    if (it == channels_.end()) {  // cannot happen: only served channels are claimed
      finished(std::move(job), Outcome::retry("no channel '" + job.channel + "' here"));
      continue;
    }
    spdlog::debug("command {}: {} on worker {} through {} (attempt {})", job.id, job.action,
                  job.worker_id, job.channel, job.attempt);
    {
      std::lock_guard lock(mu_);
      in_flight_.insert(job.id);
    }
    CommandJob copy = job;
    it->second->execute(std::move(job), [this, copy = std::move(copy)](Outcome o) mutable {
      finished(std::move(copy), std::move(o));
    });
  }
}

runtime::CycleReport Dispatcher::run_cycle(runtime::CycleContext& ctx) {
  runtime::CycleReport report;
  std::int64_t sent = 0, held = 0, skipped = 0, rescued = 0;
  std::optional<steady_clock::time_point> drain_started;

  while (true) {
    ctx.progress();
    // 1. Record what the channels finished (unless the recorder thread does).
    std::vector<std::pair<CommandJob, Outcome>> done;
    std::vector<std::int64_t> flying;
    {
      std::lock_guard lock(mu_);
      if (!record_db_) {
        done.swap(done_);
        for (const auto& d : done)
          in_flight_.erase(d.first.id);
      }
      flying.assign(in_flight_.begin(), in_flight_.end());
      woken_ = false;
      recorded_ = false;
    }
    if (!done.empty()) {
      try {
        record_now(ctx.db(), done);
      } catch (...) {
        // Keep them for the next attempt: the outcome must not be lost.
        std::lock_guard lock(mu_);
        for (auto& d : done)
          in_flight_.insert(d.first.id);
        done_.insert(done_.begin(), std::make_move_iterator(done.begin()),
                     std::make_move_iterator(done.end()));
        throw;
      }
    }

    const auto now = steady_clock::now();
    // 2. Sweep: expire, rescue dispatchers that died; renew our own leases.
    if (!ctx.dry_run() && (!last_sweep_ || now - *last_sweep_ >= options_.sweep_every)) {
      rescued +=
          ctx.db().transact([&](pqxx::transaction_base& tx) { return sweep(tx, options_.store); });
      last_sweep_ = now;
    }
    if (!flying.empty() && (!last_renew_ || now - *last_renew_ >= options_.store.lease / 3)) {
      ctx.db().transact([&](pqxx::transaction_base& tx) { renew(tx, options_.store, flying); });
      last_renew_ = now;
    }

    // 3. Claim and send.
    int claimed_now = 0;
    int limit = 0;
    if (!ctx.stopping()) {
      limit =
          std::min<int>(options_.batch, options_.max_in_flight - static_cast<int>(flying.size()));
    }
    if (limit > 0 && !options_.store.channels.empty()) {
      Emit emit;
      if (ctx.dry_run()) emit = [&ctx](const std::string& line) { ctx.emit(line); };
      const auto began = steady_clock::now();
      ClaimResult claim_result = ctx.db().transact([&](pqxx::transaction_base& tx) {
        return claim(tx, options_.store, options_.limits, limit, emit);
      });
      spdlog::debug("claimed {} of {} due in {} ms ({} in flight)", claim_result.jobs.size(),
                    claim_result.due,
                    std::chrono::duration_cast<milliseconds>(steady_clock::now() - began).count(),
                    flying.size());
      held += claim_result.held;
      skipped += claim_result.skipped;
      claimed_now = claim_result.due;
      sent += static_cast<std::int64_t>(claim_result.jobs.size());
      if (ctx.dry_run()) break;  // one look, nothing sent
      send(std::move(claim_result.jobs));
    }
    if (ctx.dry_run()) break;

    // 4. Done? Or wait for the channels / a wake-up.
    std::unique_lock lock(mu_);
    const bool idle = in_flight_.empty() && done_.empty();
    if (ctx.stopping()) {
      if (idle) break;
      if (!drain_started) {
        drain_started = steady_clock::now();
        spdlog::info("stopping: waiting up to {} ms for {} commands in flight",
                     options_.drain_timeout.count(), in_flight_.size());
      }
      if (steady_clock::now() - *drain_started >= options_.drain_timeout) {
        spdlog::warn("stopping with {} commands in flight: their leases will expire",
                     in_flight_.size());
        break;
      }
    } else if (idle && claimed_now < limit) {
      break;  // nothing in flight and nothing more due
    }
    if (claimed_now >= limit && limit > 0) continue;  // a full batch: more may be due
    cv_.wait_for(lock, options_.idle_wait,
                 [&] { return woken_ || recorded_ || (!record_db_ && !done_.empty()); });
  }

  report.items = recorded_items_.exchange(0);
  const std::int64_t succeeded = succeeded_.exchange(0), failed = failed_.exchange(0),
                     retried = retried_.exchange(0);
  report.counts = {{"sent", sent},       {"succeeded", succeeded}, {"failed", failed},
                   {"retried", retried}, {"held", held},           {"skipped", skipped},
                   {"rescued", rescued}};
  return report;
}

}  // namespace fleet::dispatch
