// The pollers' periodic chores (partition upkeep, retention) on a freshly booted host: with the
// steady clock at zero, the first cycle must do them (issue 15.6: they were skipped for the first
// 30 minutes of uptime because "never checked" was steady_clock::time_point{}).
#include <catch2/catch.hpp>

#include <spdlog/spdlog.h>

#include "asic_db.h"
#include "db/session.h"
#include "firmware/http.h"
#include "secrets/secret_box.h"
#include "status_poller.h"
#include "telemetry_worker.h"

using namespace fleet;
using namespace std::chrono_literals;

namespace {

// A cycle context over a real database whose clock reads steady time zero (a host just booted).
class FreshBootCycle final : public runtime::CycleContext {
 public:
  explicit FreshBootCycle(const test::TestDatabase& db)
      : session_(db::ConnectionOptions{.conninfo = db.url()}),
        clock_(Clock::SteadyTime{}, std::chrono::system_clock::now()) {
    spdlog::set_level(spdlog::level::warn);
  }
  db::Session& db() override { return session_; }
  bool dry_run() const override { return false; }
  std::stop_token stop_token() const override { return stop_.get_token(); }
  void progress() override {}
  bool sleep_for(std::chrono::milliseconds) override { return true; }
  void emit(std::string_view) override {}
  const db::LeaderLease* lease() const override { return nullptr; }
  Clock& clock() override { return clock_; }
  ManualClock& manual_clock() { return clock_; }

 private:
  db::Session session_;
  ManualClock clock_;
  std::stop_source stop_;
};

// No miner is due in these tests: the transport only drains the claim source, and would fail
// any request it got.
class IdleTransport final : public firmware::HttpTransport {
 public:
  void submit(firmware::HttpRequest, Callback done) override { queue_.push_back(std::move(done)); }
  using HttpTransport::run;
  void run(const RunHooks& hooks) override {
    while (hooks.refill) {
      const std::size_t before = queue_.size();
      if (!hooks.refill() || queue_.size() == before) break;
    }
    for (auto& done : queue_) {
      firmware::HttpResponse r;
      r.failure = firmware::TransportFailure::kRefused;
      done(std::move(r));
    }
    queue_.clear();
  }
  std::size_t pending() const override { return queue_.size(); }

 private:
  std::vector<Callback> queue_;
};

std::string retention(test::TestDatabase& db, const std::string& table) {
  return db.scalar("SELECT retention_days FROM partition_policies WHERE parent_table = '" + table +
                   "'");
}

}  // namespace

TEST_CASE("telemetry-worker keeps its partitions on its first cycle at zero uptime",
          "[telemetry][chore][db]") {
  test::TestDatabase db;
  db.exec(
      "CREATE TABLE chip_telemetry_p20200101 PARTITION OF chip_telemetry "
      "FOR VALUES FROM ('2020-01-01 00:00+00') TO ('2020-01-02 00:00+00')");
  REQUIRE(retention(db, "chip_telemetry") == "7");
  telemetry::TelemetryOptions options;
  options.retention_days = 3;
  telemetry::TelemetryWorker worker(options, {.conninfo = db.url()}, "test-owner",
                                    std::make_unique<IdleTransport>());
  FreshBootCycle ctx(db);
  worker.run_cycle(ctx);
  CHECK(retention(db, "chip_telemetry") == "3");
  CHECK(db.scalar("SELECT to_regclass('chip_telemetry_p20200101')") == "");

  // Not again before the period: a partition made meanwhile survives the next cycles.
  db.exec(
      "CREATE TABLE chip_telemetry_p20200102 PARTITION OF chip_telemetry "
      "FOR VALUES FROM ('2020-01-02 00:00+00') TO ('2020-01-03 00:00+00')");
  ctx.manual_clock().advance(59min);
  worker.run_cycle(ctx);
  CHECK(db.scalar("SELECT to_regclass('chip_telemetry_p20200102')") == "chip_telemetry_p20200102");
  ctx.manual_clock().advance(1min);
  worker.run_cycle(ctx);
  CHECK(db.scalar("SELECT to_regclass('chip_telemetry_p20200102')") == "");
}

TEST_CASE("status-poller keeps its partitions on its first cycle at zero uptime",
          "[poller][chore][db]") {
  test::TestDatabase db;
  REQUIRE(retention(db, "statuses") == "7");
  poller::PollerOptions options;
  options.retention_days = 3;
  auto box = secrets::SecretBox::from_key_text(secrets::generate_key_text());
  REQUIRE(box.ok());
  poller::StatusPoller poller(options, std::move(*box), {.conninfo = db.url()}, "test-owner",
                              std::make_unique<IdleTransport>());
  FreshBootCycle ctx(db);
  poller.run_cycle(ctx);
  CHECK(retention(db, "statuses") == "3");
  CHECK(retention(db, "status_fans") == "3");
  CHECK(retention(db, "chain_snapshots") == "3");
}
