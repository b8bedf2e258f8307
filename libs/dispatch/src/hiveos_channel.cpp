// The hiveos channel's threads around HiveosEngine (hiveos_engine.cpp): accounts are spread over
// `threads` shards; each shard has its own engine, API clients, budget connection and database
// session, so one slow account holds up only its shard.
#include "dispatch/hiveos_channel.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>
#include <pqxx/pqxx>

#include "db/session.h"

namespace fleet::dispatch {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// The HiveOS id is added to the result while the command is still `sent` (ours).
const char* const kRecordSent = R"SQL(
UPDATE commands SET result = coalesce(result, '{}'::jsonb) || $2::jsonb
 WHERE id = $1 AND state = 'sent'
)SQL";

class Shard {
 public:
  Shard(const HiveosChannelOptions& options, const secrets::SecretBox& box,
        const db::ConnectionOptions& database)
      : options_(options),
        box_(box),
        session_(database),
        budget_(hiveos::make_pg_budget(database)),
        engine_(options, environment()),
        thread_([this] { run(); }) {}

  ~Shard() { stop("the action-dispatcher stopped before HiveOS reported a result"); }

  void add(CommandJob job, Channel::Done done) {
    {
      std::lock_guard lock(mu_);
      inbox_.push_back({std::move(job), std::move(done)});
    }
    cv_.notify_all();
  }

  void stop(const std::string& reason) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      reason_ = reason;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  HiveosEnvironment environment() {
    HiveosEnvironment env;
    env.budget = budget_.get();
    env.open_api = [this](const HiveosTarget& t) -> Result<std::unique_ptr<hiveos::Api>> {
      auto token = box_.open(t.token_enc, secrets::hiveos_token_context(t.account_id));
      if (!token.ok()) {
        return Error::precondition(
            "its token does not open with secrets.key (sealed with another key?)");
      }
      hiveos::HttpApiOptions o;
      o.base_url = t.base_url;
      o.token = std::move(*token);
      o.timeout = options_.http_timeout;
      o.verify_tls = options_.verify_tls;
      return hiveos::make_http_api(std::move(o));
    };
    env.record_sent = [this](std::int64_t id, const std::string& result) {
      session_.transact(
          [&](pqxx::transaction_base& tx) { tx.exec_params(kRecordSent, id, result); });
    };
    return env;
  }

  void run() {
    while (true) {
      std::vector<std::pair<CommandJob, Channel::Done>> arrived;
      {
        std::unique_lock lock(mu_);
        if (stopping_) break;
        arrived.swap(inbox_);
      }
      const auto now = Clock::now();
      for (auto& [job, done] : arrived)
        engine_.add(std::move(job), std::move(done), now);
      std::optional<Clock::time_point> next;
      try {
        next = engine_.run_due(Clock::now());
      } catch (const std::exception& e) {
        spdlog::error("hiveos channel: {}", e.what());
        next = Clock::now() + milliseconds(1000);
      }
      std::unique_lock lock(mu_);
      const auto until = next ? std::min(*next, Clock::now() + milliseconds(1000))
                              : Clock::now() + milliseconds(1000);
      cv_.wait_until(lock, until, [&] { return stopping_ || !inbox_.empty(); });
    }
    std::vector<std::pair<CommandJob, Channel::Done>> left;
    {
      std::lock_guard lock(mu_);
      left.swap(inbox_);
    }
    for (auto& [job, done] : left)
      done(Outcome::retry(reason_ + " (not sent)"));
    engine_.abandon(reason_);
  }

  HiveosChannelOptions options_;
  secrets::SecretBox box_;
  db::Session session_;
  std::unique_ptr<hiveos::Budget> budget_;
  HiveosEngine engine_;  // touched by thread_ only

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<CommandJob, Channel::Done>> inbox_;  // guarded by mu_
  bool stopping_ = false;                                    // guarded by mu_
  std::string reason_;                                       // guarded by mu_
  std::thread thread_;  // last: starts after everything above exists
};

class HiveosDispatchChannel final : public Channel {
 public:
  HiveosDispatchChannel(HiveosChannelOptions options, const secrets::SecretBox& box,
                        const db::ConnectionOptions& database) {
    const int n = std::max(1, options.threads);
    for (int i = 0; i < n; ++i)
      shards_.push_back(std::make_unique<Shard>(options, box, database));
  }

  ~HiveosDispatchChannel() override { shutdown(milliseconds(0)); }

  void execute(CommandJob job, Done done) override {
    {
      std::lock_guard lock(mu_);
      ++running_;
    }
    const auto account = job.hiveos ? job.hiveos->account_id : 0;
    auto& shard = *shards_[static_cast<std::size_t>(account) % shards_.size()];
    shard.add(std::move(job), [this, done = std::move(done)](Outcome o) {
      done(std::move(o));
      std::lock_guard lock(mu_);
      if (--running_ == 0) idle_.notify_all();
    });
  }

  void shutdown(milliseconds timeout) override {
    {
      std::unique_lock lock(mu_);
      idle_.wait_for(lock, timeout, [&] { return running_ == 0; });
    }
    for (auto& s : shards_)
      s->stop("the action-dispatcher stopped before HiveOS reported a result");
  }

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  int running_ = 0;  // guarded by mu_
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace

Result<std::unique_ptr<Channel>> make_hiveos_channel(HiveosChannelOptions options,
                                                     secrets::SecretBox box,
                                                     db::ConnectionOptions database) {
  database.application_name = "fleetward action-dispatcher (hiveos)";
  return std::unique_ptr<Channel>(new HiveosDispatchChannel(std::move(options), box, database));
}

}  // namespace fleet::dispatch
