#include "telemetry_worker.h"

#include <atomic>
#include <deque>
#include <random>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "asic/batch_writer.h"
#include "asic/miner_claims.h"
#include "asic/partitions.h"
#include "chip_store.h"
#include "db/errors.h"
#include "db/session.h"
#include "firmware/http.h"
#include "firmware/parse.h"
#include "firmware/vnish_api.h"

namespace fleet::telemetry {

namespace {

using json = nlohmann::json;
using firmware::HttpResponse;
using std::chrono::system_clock;

constexpr const char* kTable = "chip_telemetry";

}  // namespace

struct TelemetryWorker::Cycle {
  TelemetryWorker& self;
  runtime::CycleContext& ctx;
  asic::BatchWriter* writer;  // null under --dry-run
  std::mt19937_64 rng{std::random_device{}()};
  std::deque<asic::ClaimedMiner> miners;
  std::vector<system_clock::time_point> claimed_at;
  TelemetryBatch batch;
  std::size_t batch_miners = 0;
  std::vector<std::int64_t> released;
  asic::DueMinerFeed feed;

  std::int64_t claimed = 0, ok = 0, failed_transport = 0, failed_payload = 0, failed_other = 0,
               field_issues = 0, clamped = 0, dead_chains = 0, throttled = 0;
  std::shared_ptr<std::atomic<std::int64_t>> chains_stored =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::shared_ptr<std::atomic<std::int64_t>> chips_stored =
      std::make_shared<std::atomic<std::int64_t>>(0);

  Cycle(TelemetryWorker& s, runtime::CycleContext& c, asic::BatchWriter* w)
      : self(s),
        ctx(c),
        writer(w),
        feed({.kind = asic::ClaimKind::kTelemetry,
              .owner = s.owner_,
              .batch = s.options_.claim_batch,
              .max_per_cycle = s.options_.max_per_cycle,
              .lease = s.options_.lease,
              .dry_run = c.dry_run()}) {}

  const TelemetryOptions& opt() const { return self.options_; }

  bool refill() {
    if (ctx.stopping()) return false;
    std::vector<asic::ClaimedMiner> got = feed.next(ctx.db());
    const auto now = system_clock::now();
    for (auto& m : got) {
      miners.push_back(std::move(m));
      claimed_at.push_back(now);
      ++claimed;
      fetch(miners.size() - 1);
    }
    ctx.progress();
    return !got.empty();
  }

  void fetch(size_t i) {
    const asic::ClaimedMiner& m = miners[i];
    auto request =
        firmware::get_request({m.ip, m.port}, firmware::paths::kChains, opt().firmware.api);
    self.transport_->submit(std::move(request), [this, i](HttpResponse r) {
      try {
        on_chains(i, std::move(r));
      } catch (const std::exception& e) {
        failed(i, Error::internal(std::string("handling /chains: ") + e.what()));
      }
    });
  }

  void on_chains(size_t i, HttpResponse r) {
    const asic::ClaimedMiner& m = miners[i];
    if (r.failure == firmware::TransportFailure::kCancelled) {
      released.push_back(m.worker_id);
      return;
    }
    if (Status s = firmware::classify(r, "/chains"); !s.ok()) return failed(i, s.error());
    firmware::FieldIssues issues;
    auto chains = firmware::parse_chains(r.body, opt().firmware.api.limits, &issues);
    field_issues += static_cast<std::int64_t>(issues.size());
    if (!chains.ok()) return failed(i, chains.error());
    const auto now = system_clock::now();
    const Anomalies anomalies = anomalies_of(*chains, m.num_chains);
    dead_chains += anomalies.chains_dead;
    throttled += anomalies.chips_throttled;
    if (ctx.dry_run()) {
      ctx.emit(json{{"action", "record_chip_telemetry"},
                    {"worker_id", m.worker_id},
                    {"chains", chains->chains.size()},
                    {"chains_dead", anomalies.chains_dead},
                    {"chips_red", anomalies.chips_red},
                    {"chips_throttled", anomalies.chips_throttled}}
                   .dump());
    }
    for (const auto& chain : chains->chains) {
      EncodedChain e = encode_chain(chain);
      clamped += e.clamped;
      batch.rows.push_back(chip_row(m.worker_id, now, e));
    }
    auto metrics = telemetry_metrics(m.worker_id, now, anomalies);
    batch.metrics.insert(batch.metrics.end(), metrics.begin(), metrics.end());
    ++ok;
    asic::ClaimOutcome o;
    o.worker_id = m.worker_id;
    o.ok = true;
    o.observed_at = now;
    o.next_at = asic::next_due(opt().schedule, true, 0, claimed_at[i], now, unit_random());
    batch.outcomes.push_back(std::move(o));
    if (++batch_miners >= static_cast<std::size_t>(opt().persist_batch)) flush();
  }

  double unit_random() { return std::uniform_real_distribution<double>(0, 1)(rng); }

  void failed(size_t i, const Error& error) {
    const asic::ClaimedMiner& m = miners[i];
    const ErrorKind kind = error.kind();
    if (kind == ErrorKind::kUnavailable || kind == ErrorKind::kDeadlineExceeded) {
      ++failed_transport;
    } else if (kind == ErrorKind::kDataLoss) {
      ++failed_payload;
    } else {
      ++failed_other;
    }
    asic::ClaimOutcome o;
    o.worker_id = m.worker_id;
    o.ok = false;
    o.observed_at = system_clock::now();
    o.error = std::string(to_string(kind)) + ": " + error.message();
    o.next_at = asic::next_due(opt().schedule, false, m.failures + 1, claimed_at[i], o.observed_at,
                               unit_random());
    if (ctx.dry_run()) {
      ctx.emit(
          json{{"action", "record_failure"}, {"worker_id", m.worker_id}, {"error", o.error}}.dump(
              -1, ' ', false, json::error_handler_t::replace));
    }
    batch.outcomes.push_back(std::move(o));
    if (++batch_miners >= static_cast<std::size_t>(opt().persist_batch)) flush();
  }

  void flush() {
    batch_miners = 0;
    if (batch.outcomes.empty()) return;
    auto shared = std::make_shared<TelemetryBatch>(std::exchange(batch, {}));
    if (writer == nullptr) return;
    writer->submit([shared, owner = self.owner_, readings = opt().readings, chains = chains_stored,
                    chips = chips_stored](pqxx::transaction_base& tx) {
      TelemetryCounts c = store_telemetry_batch(tx, *shared, owner, readings);
      *chains += c.chains;
      *chips += c.chips;
    });
    ctx.progress();
  }
};

TelemetryWorker::TelemetryWorker(TelemetryOptions options, db::ConnectionOptions database,
                                 std::string owner,
                                 std::unique_ptr<firmware::HttpTransport> transport)
    : options_(std::move(options)),
      database_(std::move(database)),
      owner_(std::move(owner)),
      transport_(std::move(transport)) {}

TelemetryWorker::~TelemetryWorker() = default;

void TelemetryWorker::keep_partitions(runtime::CycleContext& ctx) {
  const auto now = ctx.clock().steady_now();
  partition_upkeep_.run_if_due(now, [&] {
    const int made = ctx.db().transact([&](pqxx::transaction_base& tx) {
      return asic::ensure_partitions(tx, kTable, options_.retention_days);
    });
    if (made > 0) spdlog::info("created {} partitions of {}", made, kTable);
  });
  retention_drop_.run_if_due(now, [&] {
    auto dropped = ctx.db().transact([&](pqxx::transaction_base& tx) {
      return asic::drop_expired_partitions(tx, kTable, options_.retention_days);
    });
    for (const auto& name : dropped) {
      spdlog::info("dropped partition {} (older than {} days)", name, options_.retention_days);
    }
  });
}

runtime::CycleReport TelemetryWorker::run_cycle(runtime::CycleContext& ctx) {
  if (!ctx.dry_run()) keep_partitions(ctx);
  std::unique_ptr<asic::BatchWriter> writer;
  if (!ctx.dry_run()) {
    db::ConnectionOptions o = database_;
    o.application_name += "-writer";
    writer = std::make_unique<asic::BatchWriter>(o);
  }
  Cycle cycle(*this, ctx, writer.get());
  firmware::HttpTransport::RunHooks hooks;
  hooks.refill = [&] { return cycle.refill(); };
  hooks.low_water = options_.firmware.max_concurrency;
  hooks.stop = [&] { return ctx.stopping(); };
  transport_->run(hooks);
  cycle.flush();
  std::vector<Error> write_errors;
  if (writer) write_errors = writer->drain();
  if (!cycle.released.empty() && !ctx.dry_run()) {
    try {
      ctx.db().transact([&](pqxx::transaction_base& tx) {
        asic::release_claims(tx, asic::ClaimKind::kTelemetry, owner_, cycle.released);
      });
    } catch (const std::exception& e) {
      spdlog::warn("could not hand back {} claims (their leases expire): {}", cycle.released.size(),
                   e.what());
    }
  }
  if (cycle.feed.error())
    throw std::runtime_error("claiming miners: " + cycle.feed.error()->describe());
  if (!write_errors.empty()) {
    throw std::runtime_error(
        std::to_string(write_errors.size()) +
        " telemetry batches were not stored: " + write_errors.front().describe());
  }
  return {.items = cycle.claimed,
          .more_work = cycle.claimed >= options_.max_per_cycle,
          .counts = {{"polled", cycle.claimed},
                     {"ok", cycle.ok},
                     {"unreachable", cycle.failed_transport},
                     {"bad_payload", cycle.failed_payload},
                     {"other_failed", cycle.failed_other},
                     {"field_issues", cycle.field_issues},
                     {"values_clamped", cycle.clamped},
                     {"chains_dead", cycle.dead_chains},
                     {"chips_throttled", cycle.throttled},
                     {"chains_stored", cycle.chains_stored->load()},
                     {"chips_stored", cycle.chips_stored->load()}}};
}

}  // namespace fleet::telemetry
