// Recording what the lanes finished (notifier_engine.h): verdicts, attempts and channel health in
// one transaction per batch, on the recorder's own connection or the cycle's.
#include <set>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "db/session.h"
#include "notifier_engine.h"

namespace fleet::notifier {

using std::chrono::steady_clock;

std::int64_t Notifier::record_step(runtime::CycleContext& ctx) {
  std::vector<AttemptRecord> done;
  {
    std::lock_guard lock(mu_);
    done.swap(done_);
  }
  const auto n = static_cast<std::int64_t>(done.size());
  if (n > 0) record_now(ctx.db(), std::move(done));
  return n;
}

void Notifier::record_loop() {
  while (true) {
    std::vector<AttemptRecord> batch;
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !done_.empty() || stop_recorder_; });
      // Record together: wait a moment for the others in flight.
      cv_.wait_for(lock, kRecordEvery, [&] {
        return stop_recorder_ || done_.size() >= kRecordBatch || done_.size() >= in_flight_.size();
      });
      stopping = stop_recorder_;
      if (done_.empty()) {
        if (stopping) return;
        continue;
      }
      batch.swap(done_);
    }
    const std::size_t n = batch.size();
    try {
      record_now(*record_db_, std::move(batch));
    } catch (const std::exception& e) {
      spdlog::warn("recording {} attempts failed: {}", n, e.what());
      if (stopping) {
        spdlog::error("stopping with {} attempts unrecorded: their leases will expire", n);
        return;
      }
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_recorder_; });
      continue;
    }
    {
      std::lock_guard lock(mu_);
      recorded_ = true;
    }
    cv_.notify_all();
  }
}

void Notifier::record_now(db::Session& session, std::vector<AttemptRecord> done) {
  if (done.empty()) return;
  std::shared_ptr<const RoutingConfig> cfg;
  {
    std::lock_guard lock(mu_);
    cfg = config_;
  }
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::map<std::int64_t, ChannelHealthChange> health;
  for (auto& a : done) {
    const ChannelRow* c = cfg ? cfg->channel(a.message.channel_id) : nullptr;
    RetryPolicy policy{.max_attempts = c ? c->max_attempts : 8,
                       .max_age = c ? c->max_age : milliseconds(86'400'000),
                       .backoff = {.initial = options_.retry_initial, .max = options_.retry_max}};
    a.verdict = judge_attempt(a.result, a.message.attempt, a.message.retry_base, a.message.age,
                              policy, unit(record_rng_));
    auto& h = health[a.message.channel_id];
    h.channel_id = a.message.channel_id;
    if (a.verdict.state == Verdict::State::kDelivered) {
      h.delivered = true;
      h.trailing_failures = 0;
    } else {
      ++h.trailing_failures;
      h.last_error = a.result.error;
    }
  }
  const auto began = steady_clock::now();
  std::set<std::int64_t> kept;
  try {
    session.transact([&](pqxx::transaction_base& tx) {
      const auto recorded = record_attempts(tx, options_.instance_id, done);
      kept = std::set<std::int64_t>(recorded.begin(), recorded.end());
      for (const auto& [id, change] : health) {  // ascending ids: no deadlock between replicas
        if (!change.delivered && change.trailing_failures == 0) continue;
        switch (update_health(tx, change, options_.failing_after)) {
          case HealthEvent::kFailing:
            spdlog::error("channel {} is failing: {}", id, change.last_error);
            break;
          case HealthEvent::kRecovered:
            spdlog::info("channel {} delivers again", id);
            break;
          default:
            break;
        }
      }
    });
  } catch (...) {
    // Keep them for the next attempt: an outcome must not be lost while its lease lasts.
    std::lock_guard lock(mu_);
    done_.insert(done_.begin(), std::make_move_iterator(done.begin()),
                 std::make_move_iterator(done.end()));
    throw;
  }
  {
    std::lock_guard lock(mu_);
    for (const auto& a : done)
      in_flight_.erase(a.message.id);
  }
  spdlog::debug("recorded {} attempts in {:.1f} ms", done.size(),
                std::chrono::duration<double, std::milli>(steady_clock::now() - began).count());
  for (const auto& a : done) {
    if (!kept.contains(a.message.id)) {
      ++lost_leases_;
      spdlog::warn("message {}: the lease was taken over before the attempt was recorded",
                   a.message.id);
      continue;
    }
    switch (a.verdict.state) {
      case Verdict::State::kDelivered:
        ++delivered_;
        spdlog::debug("message {} delivered (attempt {})", a.message.id, a.message.attempt);
        break;
      case Verdict::State::kDead:
        ++dead_;
        spdlog::warn("message {} dead-lettered: {}", a.message.id, a.verdict.dead_reason);
        break;
      default:
        ++retried_;
        spdlog::warn("message {} attempt {} failed ({}); retry in {} ms", a.message.id,
                     a.message.attempt, a.result.error, a.verdict.retry_in.count());
    }
  }
}

}  // namespace fleet::notifier
