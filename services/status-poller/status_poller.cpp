#include "status_poller.h"

#include <atomic>
#include <deque>
#include <random>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "asic/batch_writer.h"
#include "asic/miner_claims.h"
#include "asic/miner_secrets.h"
#include "asic/partitions.h"
#include "db/errors.h"
#include "db/session.h"
#include "firmware/http.h"
#include "firmware/parse.h"
#include "firmware/provisioning.h"
#include "firmware/vnish_api.h"
#include "status_metrics.h"
#include "status_store.h"

namespace fleet::poller {

namespace {

using json = nlohmann::json;
using firmware::HttpResponse;
using std::chrono::system_clock;

constexpr const char* kHistoryTables[] = {"statuses", "status_fans", "chain_snapshots"};

bool is_transport(ErrorKind k) {
  return k == ErrorKind::kUnavailable || k == ErrorKind::kDeadlineExceeded;
}

}  // namespace

// One cycle's state. Lives on the stack of run_cycle(); every callback it hands the transport
// completes before run_cycle() returns (transport.run() drains them all).
struct StatusPoller::Cycle {
  StatusPoller& self;
  runtime::CycleContext& ctx;
  asic::BatchWriter* writer;  // null under --dry-run
  std::mt19937_64 rng{std::random_device{}()};
  std::deque<asic::ClaimedMiner> miners;  // stable addresses for the callbacks
  std::vector<system_clock::time_point> claimed_at;
  StatusBatch batch;
  std::vector<std::int64_t> released;  // cancelled by shutdown: claims handed back
  asic::DueMinerFeed feed;
  int reprovisions_left = 0;

  std::int64_t claimed = 0, ok = 0, transport_failed = 0, auth_failed = 0, payload_failed = 0,
               other_failed = 0, reprovisioned = 0, reprovision_failed = 0, field_issues = 0;
  std::shared_ptr<std::atomic<std::int64_t>> stored =
      std::make_shared<std::atomic<std::int64_t>>(0);
  std::shared_ptr<std::atomic<std::int64_t>> metrics =
      std::make_shared<std::atomic<std::int64_t>>(0);

  Cycle(StatusPoller& s, runtime::CycleContext& c, asic::BatchWriter* w)
      : self(s),
        ctx(c),
        writer(w),
        feed({.kind = asic::ClaimKind::kStatusPoll,
              .owner = s.owner_,
              .batch = s.options_.claim_batch,
              .max_per_cycle = s.options_.max_per_cycle,
              .lease = s.options_.lease,
              .dry_run = c.dry_run()}),
        reprovisions_left(s.options_.max_reprovisions) {}

  const PollerOptions& opt() const { return self.options_; }
  double unit_random() { return std::uniform_real_distribution<double>(0, 1)(rng); }

  bool refill() {
    if (ctx.stopping()) return false;
    std::vector<asic::ClaimedMiner> got = feed.next(ctx.db());
    const auto now = system_clock::now();
    for (auto& m : got) {
      miners.push_back(std::move(m));
      claimed_at.push_back(now);
      ++claimed;
      start(miners.size() - 1);
    }
    ctx.progress();
    return !got.empty();
  }

  void start(size_t i) {
    const asic::ClaimedMiner& m = miners[i];
    asic::MinerSecrets secrets = asic::open_secrets(self.box_, m, opt().firmware.default_password);
    if (!secrets.problem.empty()) spdlog::warn("miner {}: {}", m.worker_id, secrets.problem);
    if (!secrets.api_key || m.api_key_state == "missing") {
      reprovision_or_fail(i, secrets.password,
                          Error(ErrorKind::kUnauthenticated, "no API key yet"));
      return;
    }
    poll(i, *secrets.api_key, std::nullopt);
  }

  firmware::MinerEndpoint endpoint(const asic::ClaimedMiner& m) const { return {m.ip, m.port}; }

  void poll(size_t i, const std::string& key, std::optional<std::string> new_key_enc) {
    const asic::ClaimedMiner& m = miners[i];
    auto request = firmware::get_request(endpoint(m), firmware::paths::kSummary, opt().firmware.api,
                                         {.api_key = key});
    request.timeout =
        asic::poll_timeout(opt().timeout, m.poll_latency_ms, m.failures, self.fleet_latency_ms_);
    request.connect_timeout = std::min(request.connect_timeout, request.timeout);
    self.transport_->submit(std::move(request), [this, i, new_key_enc](HttpResponse r) {
      try {
        on_summary(i, std::move(r), new_key_enc);
      } catch (const std::exception& e) {
        failed(i, Error::internal(std::string("handling /summary: ") + e.what()), new_key_enc);
      }
    });
  }

  void on_summary(size_t i, HttpResponse r, const std::optional<std::string>& new_key_enc) {
    const asic::ClaimedMiner& m = miners[i];
    if (r.failure == firmware::TransportFailure::kCancelled) {
      released.push_back(m.worker_id);
      return;
    }
    Status s = firmware::classify(r, "/summary");
    if (!s.ok()) {
      if (s.error().kind() == ErrorKind::kUnauthenticated && !new_key_enc) {
        auto secrets = asic::open_secrets(self.box_, m, opt().firmware.default_password);
        reprovision_or_fail(i, secrets.password, s.error());
        return;
      }
      failed(i, s.error(), new_key_enc);
      return;
    }
    firmware::FieldIssues issues;
    auto summary = firmware::parse_summary(r.body, firmware::hash_measure_of(m.hr_measure),
                                           opt().firmware.api.limits, &issues);
    field_issues += static_cast<std::int64_t>(issues.size());
    if (!summary.ok()) {
      failed(i, summary.error(), new_key_enc);
      return;
    }
    if (!issues.empty()) {
      spdlog::debug("miner {} /summary: {} field problems, first: {}", m.worker_id, issues.size(),
                    issues.front());
    }
    const auto latency = std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed);
    // A short memory (about the last 20 answers), so a sudden general slowdown lengthens the
    // deadlines of the polls that start next.
    self.fleet_latency_ms_ +=
        0.05 * (static_cast<double>(latency.count()) - self.fleet_latency_ms_);
    if (!summary->has_miner) {
      read_status_pane(i, std::move(*summary), new_key_enc, static_cast<int>(latency.count()));
      return;
    }
    succeeded(i, std::move(*summary), new_key_enc, static_cast<int>(latency.count()));
  }

  // "miner": null — the firmware has no miner data, typically because mining failed to start.
  // GET /status (no auth) says why; without it the miner would look online with no data. When
  // /status does not answer usably the summary is stored as it is, and the problem logged.
  void read_status_pane(size_t i, firmware::SummaryPayload summary,
                        const std::optional<std::string>& new_key_enc, int latency_ms) {
    const asic::ClaimedMiner& m = miners[i];
    auto request = firmware::get_request(endpoint(m), firmware::paths::kStatus, opt().firmware.api);
    request.timeout =
        asic::poll_timeout(opt().timeout, m.poll_latency_ms, m.failures, self.fleet_latency_ms_);
    request.connect_timeout = std::min(request.connect_timeout, request.timeout);
    auto shared = std::make_shared<firmware::SummaryPayload>(std::move(summary));
    self.transport_->submit(
        std::move(request), [this, i, shared, new_key_enc, latency_ms](HttpResponse r) {
          try {
            if (r.failure == firmware::TransportFailure::kCancelled) {
              released.push_back(miners[i].worker_id);
              return;
            }
            Status s = firmware::classify(r, "/status");
            Result<firmware::StatusPane> pane =
                s.ok() ? firmware::parse_status(r.body, opt().firmware.api.limits)
                       : Result<firmware::StatusPane>(s.error());
            if (pane.ok()) {
              adopt_status_pane(*shared, *pane);
            } else {
              spdlog::warn("miner {}: /summary has no miner data and /status gave no state: {}",
                           miners[i].worker_id, pane.error().message());
            }
            succeeded(i, std::move(*shared), new_key_enc, latency_ms);
          } catch (const std::exception& e) {
            failed(i, Error::internal(std::string("handling /status: ") + e.what()), new_key_enc);
          }
        });
  }

  // A 401 or no key: provision a key once (within the cycle's budget and the miner's backoff)
  // and poll again with it; otherwise fail as unauthenticated.
  void reprovision_or_fail(size_t i, const std::string& password, const Error& why) {
    const asic::ClaimedMiner& m = miners[i];
    if (!opt().reprovision || !m.may_provision || reprovisions_left <= 0) {
      failed(i,
             Error(ErrorKind::kUnauthenticated,
                   why.message() + " (re-provisioning waits for its backoff)"),
             std::nullopt);
      return;
    }
    --reprovisions_left;
    if (ctx.dry_run()) {
      ctx.emit(json{
          {"action", "reprovision_api_key"}, {"worker_id", m.worker_id}, {"reason", why.message()}}
                   .dump());
      failed(i, why, std::nullopt);
      return;
    }
    firmware::start_provisioning(
        *self.transport_,
        {.miner = endpoint(m), .password = password, .description = opt().firmware.key_description},
        opt().firmware.api, [this, i](Result<firmware::ProvisionedKey> key) {
          if (!key.ok()) {
            ++reprovision_failed;
            failed(i,
                   Error(ErrorKind::kUnauthenticated,
                         "API key rejected and re-provisioning failed: " + key.error().message()),
                   std::nullopt, key.error().message());
            return;
          }
          ++reprovisioned;
          spdlog::info("miner {}: API key {} after a rejection", miners[i].worker_id,
                       key->created ? "re-created" : "re-found");
          poll(i, key->key,
               self.box_.seal(key->key, secrets::miner_secret_context(miners[i].mac, "api_key")));
        });
  }

  asic::ClaimOutcome& new_outcome(size_t i, bool success) {
    const asic::ClaimedMiner& m = miners[i];
    asic::ClaimOutcome o;
    o.worker_id = m.worker_id;
    o.ok = success;
    o.observed_at = system_clock::now();
    batch.outcomes.push_back(std::move(o));
    return batch.outcomes.back();
  }

  void succeeded(size_t i, firmware::SummaryPayload summary,
                 const std::optional<std::string>& new_key_enc, int latency_ms) {
    const asic::ClaimedMiner& m = miners[i];
    ++ok;
    asic::ClaimOutcome& o = new_outcome(i, true);
    o.latency_ms = asic::next_latency_estimate(m.poll_latency_ms, latency_ms);
    o.next_at =
        asic::next_due(opt().schedule, true, 0, claimed_at[i], o.observed_at, unit_random());
    o.worker_status =
        worker_status_after(true, summary.miner_state, std::nullopt, 0, opt().offline_after, false);
    o.status_reason = summary.miner_state == "failure"
                          ? "answered a poll: the firmware reports its miner in failure"
                          : "answered a poll";
    if (new_key_enc) {
      o.api_key_enc = new_key_enc;
      o.provision_after = o.observed_at + opt().provision_backoff;
    }
    if (new_key_enc || m.api_key_state != "active") o.api_key_state = "active";
    if (ctx.dry_run()) {
      ctx.emit(json{{"action", "record_status"},
                    {"worker_id", m.worker_id},
                    {"ip", m.ip},
                    {"miner_state", summary.miner_state},
                    {"hashrate_ths", summary.hashrate_ths.value_or(0)},
                    {"worker_status", *o.worker_status}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    }
    const bool history =
        opt().readings &&
        asic::readings_due(m.worker_id, m.readings_at, o.observed_at, opt().readings_interval);
    if (history) o.readings_at = o.observed_at;
    batch.statuses.push_back(
        {m.worker_id, o.observed_at, std::move(summary), batch.outcomes.size() - 1, history});
    if (static_cast<int>(batch.statuses.size()) >= opt().persist_batch) flush();
  }

  void failed(size_t i, const Error& error, const std::optional<std::string>& new_key_enc,
              std::optional<std::string> provision_error = std::nullopt) {
    const asic::ClaimedMiner& m = miners[i];
    const ErrorKind kind = error.kind();
    if (is_transport(kind)) {
      ++transport_failed;
    } else if (kind == ErrorKind::kUnauthenticated || kind == ErrorKind::kPermissionDenied) {
      ++auth_failed;
    } else if (kind == ErrorKind::kDataLoss) {
      ++payload_failed;
    } else {
      ++other_failed;
    }
    const int failures = m.failures + 1;
    asic::ClaimOutcome& o = new_outcome(i, false);
    o.error = std::string(to_string(kind)) + ": " + error.message();
    o.next_at = asic::next_due(opt().schedule, false, failures, claimed_at[i], o.observed_at,
                               unit_random());
    const bool partition = suspect_partition(
        transport_failed, ok + transport_failed + auth_failed + payload_failed + other_failed,
        opt().partition_share);
    o.worker_status =
        worker_status_after(false, "", kind, failures, opt().offline_after, partition);
    if (o.worker_status) {
      o.status_reason = std::to_string(failures) + " polls failed in a row (last: " + o.error + ")";
      if (*o.worker_status == "unreachable") {
        o.status_reason += "; most polls of this cycle failed, so our own network is suspected";
      }
    }
    if (kind == ErrorKind::kUnauthenticated) o.api_key_state = "rejected";
    if (new_key_enc) o.api_key_enc = new_key_enc;
    if (provision_error || new_key_enc) {
      o.provision_after = o.observed_at + opt().provision_backoff;
      o.provision_error = provision_error;
    }
    if (ctx.dry_run()) {
      ctx.emit(json{{"action", "record_failure"},
                    {"worker_id", m.worker_id},
                    {"ip", m.ip},
                    {"error", o.error}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    }
    if (static_cast<int>(batch.outcomes.size()) >= 2 * opt().persist_batch) flush();
  }

  void flush() {
    if (batch.outcomes.empty()) return;
    StatusBatch full = std::exchange(batch, {});
    if (writer == nullptr) return;  // --dry-run: decisions were printed
    auto shared = std::make_shared<StatusBatch>(std::move(full));
    writer->submit([shared, owner = self.owner_, readings = opt().readings, stored_count = stored,
                    metric_count = metrics](pqxx::transaction_base& tx) {
      StoreCounts c = store_status_batch(tx, *shared, owner, readings);
      *stored_count += c.statuses;
      *metric_count += c.metrics;
    });
    ctx.progress();
  }
};

StatusPoller::StatusPoller(PollerOptions options, secrets::SecretBox box,
                           db::ConnectionOptions database, std::string owner,
                           std::unique_ptr<firmware::HttpTransport> transport)
    : options_(std::move(options)),
      box_(std::move(box)),
      database_(std::move(database)),
      owner_(std::move(owner)),
      transport_(std::move(transport)) {}

StatusPoller::~StatusPoller() = default;

runtime::CycleReport StatusPoller::run_cycle(runtime::CycleContext& ctx) {
  if (!ctx.dry_run()) {
    partition_upkeep_.run_if_due(ctx.clock().steady_now(), [&] {
      ctx.db().transact([&](pqxx::transaction_base& tx) {
        for (const char* table : kHistoryTables) {
          asic::ensure_partitions(tx, table, options_.retention_days);
        }
      });
    });
  }

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
  const auto started = std::chrono::steady_clock::now();
  transport_->run(hooks);
  cycle.flush();
  const auto fetched = std::chrono::steady_clock::now();

  std::vector<Error> write_errors;
  if (writer) write_errors = writer->drain();
  const auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  spdlog::info("status cycle phases: polled in {:.2f}s, then stored the rest in {:.2f}s",
               seconds(fetched - started), seconds(std::chrono::steady_clock::now() - fetched));
  if (!cycle.released.empty() && !ctx.dry_run()) {
    try {
      ctx.db().transact([&](pqxx::transaction_base& tx) {
        asic::release_claims(tx, asic::ClaimKind::kStatusPoll, owner_, cycle.released);
      });
    } catch (const std::exception& e) {
      spdlog::warn("could not hand back {} claims (their leases expire): {}", cycle.released.size(),
                   e.what());
    }
  }
  if (cycle.feed.error())
    throw std::runtime_error("claiming miners: " + cycle.feed.error()->describe());
  if (!write_errors.empty()) {
    throw std::runtime_error(std::to_string(write_errors.size()) +
                             " status batches were not stored (their miners are polled again "
                             "after the lease): " +
                             write_errors.front().describe());
  }
  const bool more = cycle.claimed >= options_.max_per_cycle;
  return {.items = cycle.claimed,
          .more_work = more,
          .counts = {{"polled", cycle.claimed},
                     {"ok", cycle.ok},
                     {"unreachable", cycle.transport_failed},
                     {"auth_failed", cycle.auth_failed},
                     {"bad_payload", cycle.payload_failed},
                     {"other_failed", cycle.other_failed},
                     {"reprovisioned", cycle.reprovisioned},
                     {"reprovision_failed", cycle.reprovision_failed},
                     {"field_issues", cycle.field_issues},
                     {"statuses_stored", cycle.stored->load()},
                     {"metrics_written", cycle.metrics->load()}}};
}

}  // namespace fleet::poller
