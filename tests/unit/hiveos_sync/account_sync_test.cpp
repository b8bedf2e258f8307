// hiveos-sync's account cycle against a scripted Api, a recording budget and sink: one request
// per farm, liveness from stats_time, farm moves, removals only after a complete read, and every
// failure (429 + Retry-After, 401, 5xx retries, the budget's own wait, shutdown).
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <stdexcept>

#include "account_sync.h"
#include "dry_run_sink.h"
#include "fakes.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using hiveos_sync::AccountOutcome;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr std::int64_t kNow = 1'800'000'000;  // 2027-01-15T08:00:00Z

struct Harness {
  FakeApi api;
  FakeBudget budget;
  RecordingSink sink;
  std::vector<milliseconds> slept;
  bool stop_on_sleep = false;
  hiveos_sync::Account account{.id = 7, .name = "main"};
  hiveos_sync::SyncOptions options;

  AccountOutcome run() {
    hiveos_sync::SyncEnv env{.api = api,
                             .budget = budget,
                             .sink = sink,
                             .sleep_for =
                                 [this](milliseconds d) {
                                   slept.push_back(d);
                                   return !stop_on_sleep;
                                 },
                             .now_unix = [] { return kNow; },
                             .seed = 1};
    return hiveos_sync::sync_account(account, env, options);
  }
};

std::set<std::int64_t> ids(std::initializer_list<std::int64_t> l) {
  return {l};
}

}  // namespace

TEST_CASE("one request for the farms and one per farm, every worker written, none removed",
          "[hiveos_sync]") {
  Harness h;
  h.api.set_farms({{10, "alpha"}, {20, "beta"}});
  h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5), rig(2, 10, "rig-2", kNow - 5)});
  h.api.set_workers(20, {rig(3, 20, "rig-3", kNow - 5)});

  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kOk);
  CHECK(h.api.calls == std::vector<std::string>{"farms", "workers 10", "workers 20"});
  CHECK(out.requests == 3);
  CHECK(h.budget.reserved == 3);  // every request through the budget
  CHECK(h.sink.farms_saved == std::vector<std::int64_t>{10, 20});
  CHECK(h.sink.farm_rows[10].size() == 2);
  CHECK(h.sink.farm_rows[20].size() == 1);
  REQUIRE(h.sink.ok_seen);
  CHECK(*h.sink.ok_seen == ids({1, 2, 3}));
  CHECK_FALSE(h.sink.failing_reason);
  CHECK(out.farms == 2);
  CHECK(out.workers == 3);
  CHECK(out.live == 3);
  const auto& row = h.sink.farm_rows[10][0];
  CHECK(row.kind == "rig");
  CHECK(row.ip == "192.168.0.1");  // the first entry that is an address
  CHECK(row.live);
  CHECK_FALSE(row.metrics.empty());
}

TEST_CASE("a worker whose stats_time is old is not live even if HiveOS says online",
          "[hiveos_sync]") {
  Harness h;
  h.options.stale_after_s = 300;
  h.api.set_farms({{10, "alpha"}});
  h.api.set_workers(10, {rig(1, 10, "fresh", kNow - 30), rig(2, 10, "stale", kNow - 301),
                         rig(3, 10, "down", kNow - 5, /*online=*/false)});
  const auto out = h.run();
  REQUIRE(out.state == AccountOutcome::State::kOk);
  const auto& rows = h.sink.farm_rows[10];
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].live);
  CHECK_FALSE(rows[0].metrics.empty());
  CHECK_FALSE(rows[1].live);
  CHECK(rows[1].metrics.empty());  // no metrics from stale stats
  CHECK_FALSE(rows[2].live);
  CHECK(rows[2].metrics.empty());
  CHECK(out.live == 1);
  // Still listed in HiveOS: seen, so not removed.
  CHECK(*h.sink.ok_seen == ids({1, 2, 3}));
}

TEST_CASE("a worker moved to another farm is written with the farm that lists it",
          "[hiveos_sync]") {
  Harness h;
  h.api.set_farms({{10, "alpha"}, {20, "beta"}});
  h.api.set_workers(10, {});
  // HiveOS lists it under farm 20 (the item may still carry its old farm id).
  h.api.set_workers(20, {rig(1, 10, "renamed-rig", kNow - 5)});
  const auto out = h.run();
  REQUIRE(out.state == AccountOutcome::State::kOk);
  CHECK(h.sink.farm_rows[10].empty());
  REQUIRE(h.sink.farm_rows[20].size() == 1);
  CHECK(h.sink.farm_rows[20][0].worker.farm_id == 20);
  CHECK(h.sink.farm_rows[20][0].worker.name == "renamed-rig");
}

TEST_CASE("a worker listed twice is written once", "[hiveos_sync]") {
  Harness h;
  h.api.set_farms({{10, "alpha"}});
  h.api.set_workers(10, {rig(1, 10, "first", kNow - 5), rig(1, 10, "again", kNow - 5)});
  REQUIRE(h.run().state == AccountOutcome::State::kOk);
  REQUIRE(h.sink.farm_rows[10].size() == 1);
  CHECK(h.sink.farm_rows[10][0].worker.name == "first");
}

TEST_CASE(
    "workers missing from every listing are left to finish_ok (removed) only after a "
    "complete read",
    "[hiveos_sync]") {
  Harness h;
  h.sink.removed = 4;
  h.api.set_farms({{10, "alpha"}});
  h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5)});
  const auto out = h.run();
  REQUIRE(out.state == AccountOutcome::State::kOk);
  CHECK(*h.sink.ok_seen == ids({1}));
  CHECK(out.removed == 4);
}

TEST_CASE("a farm gone between the two requests (404) is skipped, the read is still complete",
          "[hiveos_sync]") {
  Harness h;
  h.api.set_farms({{10, "alpha"}, {30, "gone"}});
  h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5)});
  const auto out = h.run();  // FakeApi answers 404 for farm 30
  CHECK(out.state == AccountOutcome::State::kOk);
  CHECK(out.farms == 1);
  CHECK(*h.sink.ok_seen == ids({1}));
}

TEST_CASE("429 with Retry-After blocks the budget and stops the account: failing, no removal",
          "[hiveos_sync]") {
  Harness h;
  h.api.set_farms({{10, "alpha"}, {20, "beta"}, {30, "gamma"}});
  h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5)});
  h.api.worker_answers[20] = {
      error(ErrorKind::kResourceExhausted, 429, "HTTP 429 from GET /farms/20/workers", seconds(7))};
  h.api.set_workers(30, {rig(3, 30, "rig-3", kNow - 5)});

  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kFailing);
  CHECK(out.rate_limited);
  CHECK(h.api.calls == std::vector<std::string>{"farms", "workers 10", "workers 20"});
  REQUIRE(h.budget.blocks.size() == 1);
  CHECK(h.budget.blocks[0].first == 7);
  CHECK(h.budget.blocks[0].second == seconds(7));
  REQUIRE(h.sink.failing_reason);
  CHECK_THAT(*h.sink.failing_reason,
             StartsWith("rate limited by HiveOS until 2027-01-15T08:00:07Z"));
  CHECK(h.sink.failing_seen == ids({1}));  // farm 10 was refreshed; the others go stale
  CHECK_FALSE(h.sink.ok_seen);             // nothing removed
  CHECK(h.slept.empty());                  // no retry of a 429 within the cycle
}

TEST_CASE("403 Too many requests without Retry-After blocks for a default", "[hiveos_sync]") {
  Harness h;
  h.api.farm_answers = {error(ErrorKind::kResourceExhausted, 403, "HTTP 403 Too many requests")};
  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kFailing);
  REQUIRE(h.budget.blocks.size() == 1);
  CHECK(h.budget.blocks[0].second == seconds(30));
  CHECK_THAT(*h.sink.failing_reason,
             StartsWith("rate limited by HiveOS until 2027-01-15T08:00:30Z"));
}

TEST_CASE("401: failing with a clear reason, nothing written, no retry", "[hiveos_sync]") {
  Harness h;
  h.api.farm_answers = {error(ErrorKind::kUnauthenticated, 401, "HTTP 401 from GET /farms")};
  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kFailing);
  CHECK(out.requests == 1);
  REQUIRE(h.sink.failing_reason);
  CHECK(*h.sink.failing_reason == "HiveOS rejected the token (401)");
  CHECK(h.sink.failing_seen.empty());
  CHECK(h.sink.farms_saved.empty());
  CHECK(h.sink.farm_rows.empty());
  CHECK_FALSE(h.sink.ok_seen);
  CHECK(h.budget.blocks.empty());
}

TEST_CASE("5xx and timeouts are retried with a growing jittered backoff, then succeed",
          "[hiveos_sync]") {
  Harness h;
  h.options.retry_initial = milliseconds(1000);
  h.api.farm_answers = {error(ErrorKind::kUnavailable, 521, "HTTP 521 from GET /farms"),
                        error(ErrorKind::kDeadlineExceeded, 0, "timeout on GET /farms")};
  hiveos::Parsed<hiveos::Farm> farms;
  farms.items.push_back({.id = 10, .name = "alpha"});
  h.api.farm_answers.push_back(farms);
  h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5)});

  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kOk);
  CHECK(out.retries == 2);
  CHECK(out.requests == 4);
  CHECK(h.budget.reserved == 4);  // a retry is a request: it goes through the budget too
  REQUIRE(h.slept.size() == 2);
  CHECK(h.slept[0] >= milliseconds(500));
  CHECK(h.slept[0] <= milliseconds(1000));
  CHECK(h.slept[1] >= milliseconds(1000));
  CHECK(h.slept[1] <= milliseconds(2000));
}

TEST_CASE("5xx past the retries: failing with the last error", "[hiveos_sync]") {
  Harness h;
  h.options.retries = 3;
  h.api.farm_answers = {error(ErrorKind::kUnavailable, 503, "HTTP 503 from GET /farms")};
  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kFailing);
  CHECK(out.requests == 4);
  CHECK(h.slept.size() == 3);
  CHECK(*h.sink.failing_reason == "HTTP 503 from GET /farms (after 4 attempts)");
}

TEST_CASE("a body that cannot be used fails the account without retrying", "[hiveos_sync]") {
  Harness h;
  h.api.set_farms({{10, "alpha"}});
  h.api.worker_answers[10] = {error(ErrorKind::kDataLoss, 200, "body over 16777216 bytes")};
  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kFailing);
  CHECK(out.requests == 2);
  CHECK(*h.sink.failing_reason == "body over 16777216 bytes");
}

TEST_CASE("the budget's wait is slept before the request, a wait too long ends the account",
          "[hiveos_sync]") {
  SECTION("short wait") {
    Harness h;
    h.budget.waits = {milliseconds(1500)};
    h.api.set_farms({});
    const auto out = h.run();
    CHECK(out.state == AccountOutcome::State::kOk);
    CHECK(h.slept == std::vector<milliseconds>{milliseconds(1500)});
    CHECK(h.api.calls == std::vector<std::string>{"farms"});
  }
  SECTION("longer than max_budget_wait: nothing sent") {
    Harness h;
    h.options.max_budget_wait = milliseconds(60'000);
    h.budget.waits = {milliseconds(90'000)};
    const auto out = h.run();
    CHECK(out.state == AccountOutcome::State::kFailing);
    CHECK(out.rate_limited);
    CHECK(h.api.calls.empty());
    CHECK(h.slept.empty());
    CHECK_THAT(*h.sink.failing_reason, Contains("2027-01-15T08:01:30Z"));
  }
}

TEST_CASE("shutdown while waiting: the account is left as it was", "[hiveos_sync]") {
  Harness h;
  h.stop_on_sleep = true;
  h.budget.waits = {milliseconds(100)};
  h.api.set_farms({{10, "alpha"}});
  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kStopped);
  CHECK(h.api.calls.empty());
  CHECK_FALSE(h.sink.failing_reason);
  CHECK_FALSE(h.sink.ok_seen);
}

TEST_CASE("a dry run prints what it would write", "[hiveos_sync]") {
  Harness h;
  std::vector<std::string> lines;
  hiveos_sync::DryRunSink dry(nullptr, [&](std::string_view l) { lines.emplace_back(l); });
  h.api.set_farms({{10, "alpha"}});
  h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5)});
  hiveos_sync::SyncEnv env{.api = h.api,
                           .budget = h.budget,
                           .sink = dry,
                           .sleep_for = [](milliseconds) { return true; },
                           .now_unix = [] { return kNow; }};
  const auto out = hiveos_sync::sync_account(h.account, env, h.options);
  CHECK(out.state == AccountOutcome::State::kOk);
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0], Contains(R"("action":"upsert_farm")"));
  CHECK_THAT(lines[1], Contains(R"("action":"upsert_worker")"));
  CHECK_THAT(lines[1], Contains(R"("hiveos_worker_id":1)"));
  CHECK_THAT(lines[1], Contains(R"("live":true)"));
  CHECK_THAT(lines[2], Contains(R"("state":"ok")"));
}

namespace {

// Tells when a farm's workers were requested (from whichever thread asks).
class SignallingApi final : public hiveos::Api {
 public:
  explicit SignallingApi(FakeApi& inner) : inner_(inner) {}
  bool wait_for_request(std::int64_t farm, milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return requested_.count(farm) > 0; });
  }
  ApiResult<bool> auth_check() override { return inner_.auth_check(); }
  ApiResult<hiveos::Parsed<hiveos::Farm>> farms() override { return inner_.farms(); }
  ApiResult<hiveos::Parsed<hiveos::Worker>> workers(std::int64_t farm_id) override {
    auto r = inner_.workers(farm_id);
    std::lock_guard lock(mu_);
    requested_.insert(farm_id);
    cv_.notify_all();
    return r;
  }
  ApiResult<std::vector<hiveos::SentCommand>> command(std::int64_t f, std::int64_t w,
                                                      const hiveos::Command& c) override {
    return inner_.command(f, w, c);
  }
  ApiResult<std::vector<hiveos::SentCommand>> command_bulk(std::int64_t f,
                                                           const std::vector<std::int64_t>& w,
                                                           const hiveos::Command& c) override {
    return inner_.command_bulk(f, w, c);
  }
  ApiResult<hiveos::Parsed<hiveos::Message>> messages(std::int64_t f, std::int64_t w,
                                                      std::optional<std::int64_t> s) override {
    return inner_.messages(f, w, s);
  }

 private:
  FakeApi& inner_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::int64_t> requested_;
};

// Storing farm 10 waits (a while at most) for farm 20 to be requested, and notes whether it was;
// storing farm `fail_on` throws as a database error would.
class WaitingSink final : public hiveos_sync::SyncSink {
 public:
  WaitingSink(RecordingSink& inner, SignallingApi& api) : inner_(inner), api_(api) {}
  std::optional<bool> next_requested_while_storing;
  std::int64_t fail_on = 0;

  void save_farms(const hiveos_sync::Account& a, const std::vector<hiveos::Farm>& f) override {
    inner_.save_farms(a, f);
  }
  hiveos_sync::FarmWrite save_farm(const hiveos_sync::Account& a, const hiveos::Farm& farm,
                                   const std::vector<hiveos_sync::WorkerRow>& rows) override {
    if (farm.id == fail_on) throw std::runtime_error("database gone");
    if (farm.id == 10) next_requested_while_storing = api_.wait_for_request(20, seconds(10));
    return inner_.save_farm(a, farm, rows);
  }
  std::int64_t finish_ok(const hiveos_sync::Account& a, const std::set<std::int64_t>& seen,
                         std::int64_t farms) override {
    return inner_.finish_ok(a, seen, farms);
  }
  void finish_failing(const hiveos_sync::Account& a, const std::string& reason,
                      const std::set<std::int64_t>& seen) override {
    inner_.finish_failing(a, reason, seen);
  }

 private:
  RecordingSink& inner_;
  SignallingApi& api_;
};

struct OverlapHarness {
  Harness h;
  SignallingApi api{h.api};
  WaitingSink sink{h.sink, api};

  AccountOutcome run() {
    hiveos_sync::SyncEnv env{.api = api,
                             .budget = h.budget,
                             .sink = sink,
                             .sleep_for = [](milliseconds) { return true; },
                             .now_unix = [] { return kNow; },
                             .seed = 1};
    return hiveos_sync::sync_account(h.account, env, h.options);
  }
};

}  // namespace

TEST_CASE("a farm is stored while the next farm is requested, farms stored in order",
          "[hiveos_sync]") {
  OverlapHarness o;
  o.h.api.set_farms({{10, "alpha"}, {20, "beta"}, {30, "gamma"}});
  o.h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5)});
  o.h.api.set_workers(20, {rig(2, 20, "rig-2", kNow - 5)});
  o.h.api.set_workers(30, {rig(3, 30, "rig-3", kNow - 5)});

  const auto out = o.run();
  CHECK(out.state == AccountOutcome::State::kOk);
  REQUIRE(o.sink.next_requested_while_storing);
  CHECK(*o.sink.next_requested_while_storing);
  CHECK(o.h.sink.farm_order == std::vector<std::int64_t>{10, 20, 30});
  CHECK(out.farms == 3);
  CHECK(out.workers == 3);
  REQUIRE(o.h.sink.ok_seen);
  CHECK(*o.h.sink.ok_seen == ids({1, 2, 3}));
}

TEST_CASE("a store that fails fails the cycle, even when the next request fails too",
          "[hiveos_sync]") {
  OverlapHarness o;
  o.h.api.set_farms({{10, "alpha"}, {20, "beta"}});
  o.h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5)});
  o.h.api.worker_answers[20] = {error(ErrorKind::kUnauthenticated, 401, "HTTP 401")};
  o.sink.fail_on = 10;

  CHECK_THROWS_WITH(o.run(), "database gone");
  CHECK_FALSE(o.h.sink.ok_seen);
}

TEST_CASE("a request that fails after a stored farm: the farm counts, the account is failing",
          "[hiveos_sync]") {
  Harness h;
  h.api.set_farms({{10, "alpha"}, {20, "beta"}});
  h.api.set_workers(10, {rig(1, 10, "rig-1", kNow - 5)});
  h.api.worker_answers[20] = {error(ErrorKind::kUnauthenticated, 401, "HTTP 401")};

  const auto out = h.run();
  CHECK(out.state == AccountOutcome::State::kFailing);
  CHECK(out.farms == 1);
  CHECK(h.sink.farm_order == std::vector<std::int64_t>{10});
  REQUIRE(h.sink.failing_reason);
  CHECK(h.sink.failing_seen == ids({1}));
}
