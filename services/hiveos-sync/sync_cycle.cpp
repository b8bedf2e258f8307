#include "sync_cycle.h"

#include <random>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "account_sync.h"
#include "db/session.h"
#include "dry_run_sink.h"
#include "sync_store.h"

namespace fleet::hiveos_sync {
namespace {

using json = nlohmann::json;

const char* state_name(AccountOutcome::State s) {
  switch (s) {
    case AccountOutcome::State::kOk:
      return "ok";
    case AccountOutcome::State::kFailing:
      return "failing";
    case AccountOutcome::State::kStopped:
      break;
  }
  return "stopped";
}

}  // namespace

std::function<std::unique_ptr<hiveos::Api>(const Account&, const std::string&)> http_api_factory(
    const SyncOptions& options) {
  return [options](const Account& account, const std::string& token) {
    hiveos::HttpApiOptions o;
    o.base_url = account.base_url;
    o.token = token;
    o.timeout = options.timeout;
    o.connect_timeout = options.connect_timeout;
    o.verify_tls = options.verify_tls;
    return hiveos::make_http_api(std::move(o));
  };
}

SyncCycle::SyncCycle(SyncOptions options, SyncDeps deps)
    : options_(std::move(options)), deps_(std::move(deps)) {
  detail_ = json{{"failing_accounts", json::array()}}.dump();
}

std::string SyncCycle::ready_detail() const {
  std::lock_guard lock(mu_);
  return detail_;
}

runtime::CycleReport SyncCycle::run_cycle(runtime::CycleContext& ctx) {
  ++cycles_;
  db::Session& session = ctx.db();
  const std::vector<Account> accounts =
      session.transact([](pqxx::transaction_base& tx) { return load_accounts(tx); });
  PgSink pg_sink(session, {.readings = options_.readings,
                           .readings_interval = options_.readings_interval,
                           .latest_refresh = options_.latest_refresh});
  DryRunSink dry_sink(&session, [&ctx](std::string_view line) { ctx.emit(line); });
  SyncSink& sink = ctx.dry_run() ? static_cast<SyncSink&>(dry_sink) : pg_sink;

  AccountOutcome total;
  std::int64_t ok = 0, failing = 0;
  json failing_list = json::array();
  for (const auto& account : accounts) {
    if (ctx.stopping()) break;
    Result<std::string> token =
        deps_.box.open(account.token_enc, secrets::hiveos_token_context(account.id));
    if (!token.ok()) {
      const std::string reason = "the stored token cannot be opened (was secrets.key changed?)";
      spdlog::warn("hiveos account {} ({}): {}", account.id, account.name, reason);
      sink.finish_failing(account, reason, {});
      ++failing;
      failing_list.push_back({{"id", account.id}, {"name", account.name}, {"reason", reason}});
      continue;
    }
    std::unique_ptr<hiveos::Api> api = deps_.api(account, *token);
    std::unique_ptr<hiveos::Budget> own_budget;
    hiveos::Budget* budget = deps_.budget.get();
    if (!budget) {
      own_budget = hiveos::make_memory_budget(
          {.requests_per_minute = account.requests_per_minute, .burst = account.burst});
      budget = own_budget.get();
    }
    SyncEnv env{
        .api = *api,
        .budget = *budget,
        .sink = sink,
        .sleep_for = [&ctx](std::chrono::milliseconds d) { return ctx.sleep_for(d); },
        .now_unix =
            [&ctx] {
              return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                                   ctx.clock().wall_now().time_since_epoch())
                                                   .count());
            },
        .progress = [&ctx] { ctx.progress(); },
        .seed = static_cast<std::uint64_t>(account.id) * 7919u + cycles_};
    AccountOutcome out = sync_account(account, env, options_);
    if (out.state == AccountOutcome::State::kOk) {
      ++ok;
      spdlog::info(
          "hiveos account {} ({}): ok, {} farms, {} workers ({} live, {} new, {} removed), {} "
          "metrics, {} requests ({} ms waiting for HiveOS, {} ms storing)",
          account.id, account.name, out.farms, out.workers, out.live, out.created, out.removed,
          out.metrics, out.requests, out.http_ms, out.store_ms);
    } else if (out.state == AccountOutcome::State::kFailing) {
      ++failing;
      failing_list.push_back({{"id", account.id}, {"name", account.name}, {"reason", out.reason}});
      spdlog::warn("hiveos account {} ({}): failing: {} ({} farms read, {} requests)", account.id,
                   account.name, out.reason, out.farms, out.requests);
    } else {
      spdlog::info("hiveos account {} ({}): {} (shutdown)", account.id, account.name,
                   state_name(out.state));
    }
    total.requests += out.requests;
    total.retries += out.retries;
    total.farms += out.farms;
    total.workers += out.workers;
    total.live += out.live;
    total.created += out.created;
    total.removed += out.removed;
    total.metrics += out.metrics;
    total.readings += out.readings;
    total.http_ms += out.http_ms;
    total.store_ms += out.store_ms;
  }
  {
    std::lock_guard lock(mu_);
    detail_ = json{{"failing_accounts", failing_list}}.dump(-1, ' ', false,
                                                            json::error_handler_t::replace);
  }
  return {.items = total.workers,
          .counts = {{"accounts", static_cast<std::int64_t>(accounts.size())},
                     {"accounts_ok", ok},
                     {"accounts_failing", failing},
                     {"requests", total.requests},
                     {"retries", total.retries},
                     {"farms", total.farms},
                     {"workers", total.workers},
                     {"live", total.live},
                     {"created", total.created},
                     {"removed", total.removed},
                     {"metrics", total.metrics},
                     {"readings", total.readings},
                     {"http_ms", total.http_ms},
                     {"store_ms", total.store_ms}}};
}

}  // namespace fleet::hiveos_sync
