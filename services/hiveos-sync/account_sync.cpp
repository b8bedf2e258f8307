#include "account_sync.h"

#include <ctime>
#include <future>
#include <optional>
#include <set>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

#include "core/backoff.h"

namespace fleet::hiveos_sync {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - since).count();
}

// Why a request did not give an answer to work with.
struct Failure {
  std::string reason;
  bool stopped = false;    // shutdown
  bool not_found = false;  // 404
  bool rate_limited = false;
};

class Requester {
 public:
  Requester(const Account& account, SyncEnv& env, const SyncOptions& options, AccountOutcome& out)
      : account_(account),
        env_(env),
        options_(options),
        out_(out),
        backoff_({.initial = options.retry_initial, .max = options.retry_max}, env.seed) {}

  // Sends `call` through the budget, retrying transient failures. Returns the answer or why not.
  template <class T, class Fn>
  std::variant<T, Failure> send(Fn&& call) {
    for (int attempt = 0;; ++attempt) {
      if (auto f = wait_for_budget()) return *f;
      ++out_.requests;
      const auto sent = std::chrono::steady_clock::now();
      hiveos::ApiResult<T> r = call();
      out_.http_ms += elapsed_ms(sent);
      env_.progress();
      if (r.index() == 0) {
        backoff_.reset();
        return std::get<0>(std::move(r));
      }
      const hiveos::ApiError& e = std::get<1>(r);
      switch (e.kind) {
        case ErrorKind::kResourceExhausted: {
          const seconds wait = e.retry_after.value_or(seconds(30));
          if (Status s = env_.budget.block(account_.id, wait); !s.ok()) {
            spdlog::warn("hiveos account {}: could not record the Retry-After: {}", account_.id,
                         s.error().message());
          }
          return Failure{.reason = "rate limited by HiveOS until " +
                                   utc_text(env_.now_unix() + wait.count()) + " (" + e.message +
                                   ")",
                         .rate_limited = true};
        }
        case ErrorKind::kUnauthenticated:
          return Failure{.reason = "HiveOS rejected the token (401)"};
        case ErrorKind::kNotFound:
          return Failure{.reason = e.message, .not_found = true};
        case ErrorKind::kUnavailable:
        case ErrorKind::kDeadlineExceeded:
          if (attempt < options_.retries) {
            ++out_.retries;
            const milliseconds delay = backoff_.fail();
            spdlog::info("hiveos account {}: {}; retry {} of {} in {} ms", account_.id, e.message,
                         attempt + 1, options_.retries, delay.count());
            if (!env_.sleep_for(delay)) return Failure{.reason = "stopping", .stopped = true};
            continue;
          }
          return Failure{.reason = e.message + " (after " + std::to_string(attempt + 1) +
                                   (attempt == 0 ? " attempt)" : " attempts)")};
        default:
          return Failure{.reason = e.message.empty() ? std::string(to_string(e.kind)) : e.message};
      }
    }
  }

 private:
  std::optional<Failure> wait_for_budget() {
    Result<milliseconds> wait = env_.budget.reserve(account_.id);
    if (!wait.ok()) {
      return Failure{.reason = "request budget unavailable: " + wait.error().message()};
    }
    if (*wait > options_.max_budget_wait) {
      const auto s = std::chrono::duration_cast<seconds>(*wait).count();
      return Failure{.reason = "rate limited: the request budget allows the next request at " +
                               utc_text(env_.now_unix() + s),
                     .rate_limited = true};
    }
    if (wait->count() > 0 && !env_.sleep_for(*wait)) {
      return Failure{.reason = "stopping", .stopped = true};
    }
    return std::nullopt;
  }

  const Account& account_;
  SyncEnv& env_;
  const SyncOptions& options_;
  AccountOutcome& out_;
  Backoff backoff_;
};

AccountOutcome fail(AccountOutcome out, const Failure& f, const Account& account, SyncEnv& env,
                    const std::set<std::int64_t>& seen) {
  if (f.stopped) {
    out.state = AccountOutcome::State::kStopped;
    return out;
  }
  out.state = AccountOutcome::State::kFailing;
  out.reason = f.reason;
  out.rate_limited = f.rate_limited;
  env.sink.finish_failing(account, f.reason, seen);
  return out;
}

}  // namespace

std::string utc_text(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

AccountOutcome sync_account(const Account& account, SyncEnv& env, const SyncOptions& options) {
  AccountOutcome out;
  Requester requester(account, env, options, out);
  std::set<std::int64_t> seen;

  auto farms = requester.send<hiveos::Parsed<hiveos::Farm>>([&] { return env.api.farms(); });
  if (farms.index() == 1) return fail(std::move(out), std::get<1>(farms), account, env, seen);
  auto& farm_list = std::get<0>(farms);
  if (farm_list.dropped > 0) {
    spdlog::warn("hiveos account {}: {} farms without an id ignored", account.id,
                 farm_list.dropped);
  }
  auto stored = std::chrono::steady_clock::now();
  env.sink.save_farms(account, farm_list.items);
  out.store_ms += elapsed_ms(stored);

  // A farm is stored on a thread of its own while the next farm is requested (one store at a
  // time, in farm order: the sink is never used by two threads at once). Before a request's
  // failure is recorded, or the account finished, the farm being stored is waited for; a store
  // that threw rethrows here.
  struct Stored {
    FarmWrite written;
    std::int64_t ms = 0;
  };
  std::future<Stored> storing;
  auto collect = [&] {
    if (!storing.valid()) return;
    const Stored s = storing.get();
    out.store_ms += s.ms;
    ++out.farms;
    out.workers += s.written.workers;
    out.created += s.written.created;
    out.metrics += s.written.metrics;
    out.readings += s.written.readings;
    env.progress();
  };
  for (const auto& farm : farm_list.items) {
    auto workers =
        requester.send<hiveos::Parsed<hiveos::Worker>>([&] { return env.api.workers(farm.id); });
    if (workers.index() == 1) {
      const Failure& f = std::get<1>(workers);
      if (f.not_found) {
        spdlog::info("hiveos account {}: farm {} is gone ({})", account.id, farm.id, f.reason);
        continue;
      }
      collect();
      return fail(std::move(out), f, account, env, seen);
    }
    auto& list = std::get<0>(workers);
    if (list.dropped > 0) {
      spdlog::warn("hiveos account {}: {} workers of farm {} without an id ignored", account.id,
                   list.dropped, farm.id);
    }
    // A worker listed under another farm id than the one asked for still belongs to this farm's
    // listing: HiveOS answers per farm.
    for (auto& w : list.items)
      w.farm_id = farm.id;
    std::vector<WorkerRow> rows =
        rows_of(std::move(list.items), env.now_unix(), options.stale_after_s);
    for (const auto& r : rows) {
      seen.insert(r.worker.id);
      if (r.live) ++out.live;
    }
    collect();
    storing = std::async(std::launch::async, [&env, &account, farm, rows = std::move(rows)] {
      const auto started = std::chrono::steady_clock::now();
      Stored s;
      s.written = env.sink.save_farm(account, farm, rows);
      s.ms = elapsed_ms(started);
      return s;
    });
  }
  collect();
  stored = std::chrono::steady_clock::now();
  out.removed = env.sink.finish_ok(account, seen, out.farms);
  out.store_ms += elapsed_ms(stored);
  out.state = AccountOutcome::State::kOk;
  return out;
}

}  // namespace fleet::hiveos_sync
