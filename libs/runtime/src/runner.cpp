#include "runner.h"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <iostream>
#include <random>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/duration.h"
#include "core/strings.h"
#include "core/version.h"
#include "db/errors.h"
#include "migrate/migrator.h"

namespace fleet::runtime {
namespace {

using json = nlohmann::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_of(steady_clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string metric_prefix(const std::string& service) {
  std::string out = "fleet_";
  for (char c : service)
    out += (std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  return out;
}

std::string describe_counts(const CycleReport& report) {
  std::string out = "items=" + std::to_string(report.items);
  for (const auto& [name, value] : report.counts)
    out += " " + name + "=" + std::to_string(value);
  return out;
}

}  // namespace

Runner::Runner(const WorkerSpec& spec, const config::Config& config, RunnerOptions options)
    : spec_(spec),
      config_(config),
      options_(std::move(options)),
      host_(host_name()),
      pid_(static_cast<int>(getpid())),
      instance_id_(make_instance_id(host_, spec.name, pid_)),
      started_wall_(std::chrono::system_clock::now()),
      started_(steady_clock::now()),
      session_(options_.database),
      schedule_(options_.schedule, std::random_device{}()) {
  const metrics::Labels service{{"service", spec_.name}};
  metrics_
      .gauge("fleet_build_info", "Build of this process (always 1)",
             {{"service", spec_.name},
              {"version", std::string(version())},
              {"revision", std::string(git_revision())}})
      .set(1);
  metrics_.gauge("fleet_start_time_seconds", "Unix time the process started", service)
      .set(unix_now());
  // Registered up front so /metrics shows them (at zero) before the first cycle ends.
  metrics_.counter("fleet_cycles_total", "Cycles run", service);
  metrics_.counter("fleet_cycle_errors_total", "Cycles that failed", service);
  metrics_.counter("fleet_items_processed_total", "Items processed by cycles", service);
  metrics_.histogram("fleet_cycle_duration_seconds", "Duration of cycles",
                     metrics::duration_buckets(), service);
  metrics_.gauge("fleet_last_success_timestamp_seconds",
                 "Unix time of the last successful cycle (0 = none yet)", service);
  metrics_.gauge("fleet_consecutive_failures", "Cycles failed in a row", service);
  tick();
}

Runner::~Runner() {
  finished_ = true;
  if (signal_thread_.joinable()) signal_thread_.join();
}

std::string Runner::mode() const {
  if (options_.invocation.dry_run) return "dry-run";
  if (options_.invocation.once) return "once";
  return "loop";
}

void Runner::tick() {
  last_tick_ns_.store(steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
}

bool Runner::sleep_for(milliseconds d) {
  return sleeper_.sleep(d, [this] { tick(); });
}

void Runner::emit(std::string_view json_object) {
  if (!dry_run()) return;
  static std::mutex out_mu;
  std::lock_guard lock(out_mu);
  std::cout << json_object << '\n' << std::flush;
}

const db::LeaderLease* Runner::lease() const {
  return lease_ && lease_->held() ? &*lease_ : nullptr;
}

int Runner::main() {
  // Signals are blocked in every thread (run()); this thread takes them from the start, so a
  // check or a set-up that hangs on the database still stops within the grace period.
  signal_thread_ = std::thread([this] { shutdown_watch(); });
  if (options_.invocation.config_check) return finish(config_check());
  try {
    cycle_ = spec_.setup(make_setup());
  } catch (const ConfigError& e) {
    spdlog::error("invalid configuration: {}", e.what());
    return finish(kExitInvalid);
  }
  int rc = kExitOk;
  if (options_.health_port > 0) {
    auto server = ProbeServer::start(options_.health_address, options_.health_port,
                                     {.health = [this] { return health_answer(); },
                                      .ready = [this] { return ready_answer(); },
                                      .metrics = [this] { return metrics_.render(); }});
    if (!server.ok()) {
      spdlog::error("{}", server.error().message());
      rc = kExitCycleFailed;
    } else {
      probes_ = std::move(*server);
      spdlog::info("probe server listening on {}:{} (/health, /ready, /metrics)",
                   options_.health_address, probes_->port());
    }
  }
  if (rc == kExitOk) {
    rc = options_.invocation.once || options_.invocation.dry_run ? run_single() : run_loop();
  }
  return finish(rc);
}

Setup Runner::make_setup() {
  auto to_result = [](const ProbeAnswer& a) { return ProbeResult{a.status, a.body}; };
  return Setup{
      .config = config_,
      .metrics = metrics_,
      .db = session_,
      .dry_run = dry_run(),
      .instance_id = instance_id_,
      .stop = stop_.get_token(),
      .health = [this, to_result] { return to_result(health_answer()); },
      .ready = [this, to_result] { return to_result(ready_answer()); },
      .metrics_text = [this] { return metrics_.render(); },
      .wake = [this] { sleeper_.nudge(); },
      .add_liveness_check =
          [this](std::function<std::string()> check) {
            std::lock_guard lock(liveness_mu_);
            liveness_checks_.push_back(std::move(check));
          },
      .set_ready_detail =
          [this](std::function<std::string()> detail) {
            std::lock_guard lock(liveness_mu_);
            ready_detail_ = std::move(detail);
          },
  };
}

int Runner::finish(int rc) {
  finished_ = true;
  if (signal_thread_.joinable()) signal_thread_.join();
  probes_.reset();
  return rc;
}

int Runner::config_check() {
  spdlog::info("checking configuration of {}", spec_.name);
  try {
    cycle_ = spec_.setup(make_setup());
  } catch (const ConfigError& e) {
    spdlog::error("invalid configuration: {}", e.what());
    return kExitInvalid;
  }
  spdlog::info("Configuration validation passed");
  try {
    Status schema = check_schema_now(session_);
    if (!schema.ok()) {
      spdlog::error("{}", schema.error().message());
      return kExitInvalid;
    }
    if (std::string bad = session_.verify_prepared(); !bad.empty()) {
      spdlog::error("a statement of this worker does not match the schema: {}", bad);
      return kExitInvalid;
    }
  } catch (const std::exception& e) {
    spdlog::error("database check failed: {}", redact_secrets(e.what()));
    return db::classify(e) == ErrorKind::kFailedPrecondition ? kExitInvalid : kExitCycleFailed;
  }
  spdlog::info("Database connection and table verification successful");
  std::cout << spec_.name << ": configuration OK\n";
  return kExitOk;
}

Status Runner::check_schema_now(db::Session& session) {
  return session.transact(
      [&](pqxx::transaction_base& tx) { return migrate::check_schema(tx, spec_.required_tables); });
}

Runner::WaitEnd Runner::wait(milliseconds d, WaitOptions how) {
  // Sleep in pieces so the service_instances heartbeat stays fresh through long waits
  // (fleetctl status calls a row stale after 3 x min(interval, 60 s) + 60 s), and so a worker
  // backing off from a database outage notices within a second that the database is back.
  const milliseconds heartbeat_every =
      std::min<milliseconds>(options_.schedule.interval, std::chrono::seconds(60));
  const auto began = steady_clock::now();
  const auto deadline = began + d;
  auto next_heartbeat = began + heartbeat_every;
  while (!stop_.stop_requested()) {
    auto now = steady_clock::now();
    if (now >= deadline) return WaitEnd::kElapsed;
    auto until = deadline;
    if (how.heartbeat) until = std::min(until, next_heartbeat);
    if (how.until_database_back) until = std::min(until, now + options_.reconnect_probe);
    const auto end = sleeper_.sleep_until_nudged(
        duration_cast<milliseconds>(until - now) + milliseconds(1), [this] { tick(); },
        how.nudgeable);
    if (end == Sleeper::End::kStopping) break;
    if (end == Sleeper::End::kNudged) return WaitEnd::kNudged;
    now = steady_clock::now();
    if (now >= deadline) return WaitEnd::kElapsed;
    if (how.until_database_back && !stop_.stop_requested() && session_.reconnect_now()) {
      spdlog::info("the database is back: starting the next cycle now instead of in {}",
                   format_duration(duration_cast<milliseconds>(deadline - now)));
      return WaitEnd::kDatabaseBack;
    }
    if (how.heartbeat && now >= next_heartbeat) {
      write_row("running");
      next_heartbeat = now + heartbeat_every;
    }
  }
  return WaitEnd::kStopping;
}

bool Runner::wait_for_schema() {
  Backoff backoff(options_.schedule.failure_backoff);
  while (!stop_.stop_requested()) {
    std::string problem;
    bool unavailable = false;
    try {
      Status s = check_schema_now(session_);
      if (s.ok()) {
        schema_ok_ = true;
        spdlog::info("Database connection and table verification successful");
        return true;
      }
      problem = s.error().message();
    } catch (const std::exception& e) {
      problem = redact_secrets(e.what());
      unavailable = db::classify(e) == ErrorKind::kUnavailable;
    }
    milliseconds delay = backoff.fail();
    spdlog::error("not starting cycles yet: {} (retry in {})", problem, format_duration(delay));
    wait(delay, {.until_database_back = unavailable && !session_.connected()});
  }
  return false;
}

int Runner::run_single() {
  try {
    Status schema = check_schema_now(session_);
    if (!schema.ok()) {
      spdlog::error("{}", schema.error().message());
      return kExitInvalid;
    }
    schema_ok_ = true;
  } catch (const std::exception& e) {
    spdlog::error("database check failed: {}", redact_secrets(e.what()));
    return kExitCycleFailed;
  }
  if (!dry_run()) write_row("running");
  Outcome outcome = run_cycle();
  if (!dry_run()) {
    if (lease_ && lease_->held()) {
      try {
        session_.transact([&](pqxx::transaction_base& tx) { lease_->release(tx); });
      } catch (const std::exception& e) {
        spdlog::warn("could not release the leader lease: {}", redact_secrets(e.what()));
      }
    }
    write_row(outcome.ok ? "stopped" : "failed");
  }
  if (outcome.ok) return kExitOk;
  return outcome.invalid ? kExitInvalid : kExitCycleFailed;
}

int Runner::run_loop() {
  spdlog::info("Starting continuous loop: interval {}, active interval {}",
               format_duration(options_.schedule.interval),
               format_duration(options_.schedule.active_interval));
  if (!wait_for_schema()) {
    spdlog::info("stopped before the first cycle");
    return kExitOk;
  }
  write_row("running");
  int rc = kExitOk;
  while (!stop_.stop_requested()) {
    Outcome outcome = run_cycle();
    if (outcome.fatal) {
      rc = outcome.invalid ? kExitInvalid : kExitCycleFailed;
      spdlog::error("stopping: the last cycle failed in a way no retry can fix");
      break;
    }
    if (stop_.stop_requested()) break;
    milliseconds delay =
        outcome.ok ? schedule_.after_success(outcome.more_work) : schedule_.after_failure();
    if (!outcome.ok) {
      spdlog::warn("retrying in {} ({} consecutive failures)", format_duration(delay),
                   schedule_.consecutive_failures());
    } else {
      spdlog::debug("next cycle in {}", format_duration(delay));
    }
    metrics_.gauge("fleet_consecutive_failures", "", {{"service", spec_.name}})
        .set(schedule_.consecutive_failures());
    // A cycle that failed because the database went away (its session is disconnected) waits
    // only until the session reconnects: /ready turns 200 then, and work resumes at once instead
    // of after a backoff of up to backoff.max. Other failures wait out their backoff.
    wait(delay, {.heartbeat = true,
                 .until_database_back = !outcome.ok && outcome.unavailable && !session_.connected(),
                 .nudgeable = outcome.ok});
  }
  if (lease_ && lease_->held() && session_.connected()) {
    try {
      session_.transact([&](pqxx::transaction_base& tx) { lease_->release(tx); });
      spdlog::info("released leader lease '{}'", lease_->name());
    } catch (const std::exception& e) {
      spdlog::warn("could not release the leader lease: {}", redact_secrets(e.what()));
    }
  }
  if (session_.connected()) write_row(rc == kExitOk ? "stopped" : "failed");
  const auto uptime = duration_cast<milliseconds>(steady_clock::now() - started_);
  std::string totals;
  for (const auto& [name, value] : totals_)
    totals += " " + name + "=" + std::to_string(value);
  spdlog::info("{} stopped. Final statistics: uptime {}, cycles={} errors={} items={}{}",
               spec_.name, format_duration(uptime), cycles_, cycle_errors_, items_, totals);
  return rc;
}

bool Runner::lead() {
  if (!lease_) {
    milliseconds ttl = options_.lease_ttl;
    if (ttl.count() == 0) {
      ttl = std::max<milliseconds>(2 * options_.schedule.interval + std::chrono::seconds(10),
                                   std::chrono::seconds(15));
    }
    lease_.emplace(spec_.leader_lease, instance_id_, ttl);
  }
  const bool was = leader_;
  const bool now =
      session_.transact([&](pqxx::transaction_base& tx) { return lease_->acquire(tx); });
  leader_ = now;
  metrics_
      .gauge("fleet_leader", "1 while this process holds its leader lease",
             {{"service", spec_.name}})
      .set(now ? 1 : 0);
  if (now && !was) {
    spdlog::info("acquired leader lease '{}' (epoch {})", lease_->name(), lease_->epoch());
  } else if (!now) {
    auto holder = session_.transact(
        [&](pqxx::transaction_base& tx) { return db::LeaderLease::current(tx, lease_->name()); });
    std::string who = holder ? holder->holder : "nobody";
    if (was) {
      spdlog::warn("lost leader lease '{}' to {}", lease_->name(), who);
    } else if (cycles_ <= 1) {
      spdlog::info("standing by: leader lease '{}' is held by {}", lease_->name(), who);
    } else {
      spdlog::debug("standing by: leader lease '{}' is held by {}", lease_->name(), who);
    }
  }
  return now;
}

Runner::Outcome Runner::run_cycle() {
  tick();
  ++cycles_;
  spdlog::debug("Starting cycle {}", cycles_);
  const auto started = steady_clock::now();
  CycleReport report;
  Outcome outcome;
  std::string error;
  bool standby = false;
  try {
    if (!spec_.leader_lease.empty() && !dry_run() && !lead()) {
      standby = true;
    } else {
      report = cycle_(*this);
    }
    outcome.ok = true;
    outcome.more_work = report.more_work;
  } catch (const ConfigError& e) {
    error = std::string("invalid configuration: ") + redact_secrets(e.what());
    outcome.invalid = outcome.fatal = true;
  } catch (const StartError& e) {
    error = std::string("cannot start: ") + redact_secrets(e.what());
    outcome.fatal = true;
  } catch (const std::exception& e) {
    const ErrorKind kind = db::classify(e);
    outcome.unavailable = kind == ErrorKind::kUnavailable;
    error = redact_secrets(trim(e.what()));
    if (stop_.stop_requested() && kind == ErrorKind::kCancelled) {
      error = "interrupted by shutdown; its open transaction was rolled back";
    }
    // Exit code 2 only for a schema that does not fit (a missing table or column), not for every
    // precondition (a read-only transaction under --dry-run is the cycle's own failure).
    const std::string state = db::sqlstate_of(e);
    outcome.invalid = state.rfind("42", 0) == 0 || state == "3F000";
    error = std::string(to_string(kind)) + ": " + error;
  } catch (...) {
    error = "internal: unknown exception";
  }
  tick();
  record_cycle(outcome, report, steady_clock::now() - started, error);
  if (standby) spdlog::debug("cycle {} skipped: standing by", cycles_);
  if (!dry_run()) write_row("running");
  return outcome;
}

void Runner::record_cycle(const Outcome& outcome, const CycleReport& report,
                          steady_clock::duration took, const std::string& error) {
  const metrics::Labels service{{"service", spec_.name}};
  const double seconds = seconds_of(took);
  const double now = unix_now();
  metrics_.counter("fleet_cycles_total", "", service).inc();
  metrics_.histogram("fleet_cycle_duration_seconds", "", {}, service).observe(seconds);
  last_cycle_at_ = now;
  last_cycle_ms_ = seconds * 1000;
  if (outcome.ok) {
    last_success_unix_ = now;
    metrics_.gauge("fleet_last_success_timestamp_seconds", "", service).set(now);
    metrics_.counter("fleet_items_processed_total", "", service)
        .inc(static_cast<double>(report.items));
    items_ += report.items;
    const std::string prefix = metric_prefix(spec_.name);
    for (const auto& [name, value] : report.counts) {
      totals_[name] += value;
      metrics_
          .counter(prefix + "_" + name + "_total", spec_.name + " statistic '" + name + "'",
                   service)
          .inc(static_cast<double>(std::max<std::int64_t>(value, 0)));
    }
    spdlog::info("cycle {} completed in {:.3f}s: {}", cycles_, seconds, describe_counts(report));
  } else {
    ++cycle_errors_;
    metrics_.counter("fleet_cycle_errors_total", "", service).inc();
    last_error_ = error;
    last_error_at_ = now;
    spdlog::error("cycle {} failed after {:.3f}s: {}", cycles_, seconds, error);
  }
  if (dry_run()) {
    json summary = {{"type", "summary"},
                    {"service", spec_.name},
                    {"ok", outcome.ok},
                    {"items", report.items},
                    {"seconds", seconds}};
    for (const auto& [name, value] : report.counts)
      summary["counts"][name] = value;
    if (!outcome.ok) summary["error"] = error;
    emit(summary.dump(-1, ' ', false, json::error_handler_t::replace));
  }
}

void Runner::write_row(const std::string& state) {
  InstanceRow row;
  row.instance_id = instance_id_;
  row.service = spec_.name;
  row.host = host_;
  row.pid = pid_;
  row.version = std::string(version_string());
  row.mode = mode();
  row.state = state;
  row.started_at = std::chrono::duration<double>(started_wall_.time_since_epoch()).count();
  row.interval_ms = options_.schedule.interval.count();
  if (options_.health_port > 0) row.health_port = options_.health_port;
  if (!spec_.leader_lease.empty()) row.leader = leader_.load();
  row.cycles = cycles_;
  row.cycle_errors = cycle_errors_;
  row.consecutive_failures = schedule_.consecutive_failures();
  row.items_processed = items_;
  row.last_cycle_at = last_cycle_at_;
  row.last_cycle_ms = last_cycle_ms_;
  if (double s = last_success_unix_; s > 0) row.last_success_at = s;
  row.last_error = last_error_;
  row.last_error_at = last_error_at_;
  json stats = json::object();
  for (const auto& [name, value] : totals_)
    stats[name] = value;
  row.stats_json = stats.dump();
  try {
    session_.transact([&](pqxx::transaction_base& tx) { write_instance_row(tx, row); });
  } catch (const std::exception& e) {
    spdlog::debug("could not update service_instances: {}", redact_secrets(e.what()));
  }
}

void Runner::shutdown_watch() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  auto wait_signal = [&](milliseconds timeout) {
    timespec ts{static_cast<time_t>(timeout.count() / 1000),
                static_cast<long>((timeout.count() % 1000) * 1'000'000)};
    return sigtimedwait(&set, nullptr, &ts);
  };
  while (!finished_) {
    int sig = wait_signal(milliseconds(200));
    if (sig <= 0) continue;
    spdlog::info("Received {}, shutting down gracefully (grace {})", strsignal(sig),
                 format_duration(options_.shutdown_grace));
    stop_.request_stop();
    sleeper_.wake_all();
    const auto began = steady_clock::now();
    const auto finish_window = options_.shutdown_grace / 2;
    bool cancelled = false;
    while (!finished_) {
      const auto elapsed = steady_clock::now() - began;
      if (elapsed >= options_.shutdown_grace) {
        spdlog::error("did not stop within {}; exiting now",
                      format_duration(options_.shutdown_grace));
        spdlog::default_logger()->flush();
        std::_Exit(kExitCycleFailed);
      }
      if (elapsed >= finish_window) {
        // The cycle had its chance to finish: cancel its statement so its transaction rolls back.
        if (!cancelled) {
          spdlog::warn("cycle still running after {}; cancelling its database work",
                       format_duration(duration_cast<milliseconds>(finish_window)));
          cancelled = true;
        }
        session_.cancel();
      }
      if (wait_signal(milliseconds(100)) > 0) {
        spdlog::warn("second signal: exiting now");
        spdlog::default_logger()->flush();
        std::_Exit(kExitCycleFailed);
      }
    }
  }
}

ProbeAnswer Runner::health_answer() {
  const auto now = steady_clock::now().time_since_epoch().count();
  const double age = static_cast<double>(now - last_tick_ns_.load()) / 1e9;
  const double limit = seconds_of(options_.stall_after);
  const double uptime = seconds_of(steady_clock::now() - started_);
  if (age > limit) {
    json body = {{"status", "stalled"},
                 {"service", spec_.name},
                 {"reason", "main loop made no progress for " + std::to_string(int(age)) +
                                "s (limit " + std::to_string(int(limit)) + "s)"}};
    return {503, body.dump()};
  }
  {
    std::lock_guard lock(liveness_mu_);
    for (const auto& check : liveness_checks_) {
      if (std::string reason = check(); !reason.empty()) {
        json body = {{"status", "unhealthy"}, {"service", spec_.name}, {"reason", reason}};
        return {503, body.dump()};
      }
    }
  }
  json body = {{"status", "ok"}, {"service", spec_.name}, {"uptime_seconds", uptime}};
  return {200, body.dump()};
}

ProbeAnswer Runner::ready_answer() {
  if (stop_.stop_requested()) {
    return {503, json{{"status", "not ready"}, {"reason", "shutting down"}}.dump()};
  }
  std::lock_guard lock(probe_mu_);
  const auto now = steady_clock::now();
  if (ready_cache_ && now - ready_cache_at_ < std::chrono::seconds(1)) return *ready_cache_;

  std::string reason;
  if (!probe_session_) {
    db::ConnectionOptions o = options_.database;
    o.application_name = spec_.name + "-probe";
    o.connect_timeout = std::chrono::seconds(2);
    o.statement_timeout = std::chrono::seconds(2);
    o.read_only = true;
    o.reconnect = BackoffPolicy{.initial = milliseconds(200), .max = milliseconds(2000)};
    probe_session_ = std::make_unique<db::Session>(o);
  }
  for (int attempt = 0; attempt < 2 && reason.empty(); ++attempt) {
    try {
      Status s = check_schema_now(*probe_session_);
      if (!s.ok()) reason = s.error().message();
      break;
    } catch (const std::exception& e) {
      // A connection broken since the last probe is dropped by the session: try once more.
      const bool lost = dynamic_cast<const db::Unavailable*>(&e) != nullptr &&
                        std::string(e.what()).find("connection lost") != std::string::npos;
      if (lost && attempt == 0) continue;
      reason = "database unreachable: " + redact_secrets(trim(e.what()));
    }
  }
  const double last = last_success_unix_;
  const double limit = seconds_of(options_.stall_after);
  if (reason.empty()) {
    if (last == 0) {
      reason = "no successful cycle yet";
    } else if (unix_now() - last > limit) {
      reason = "last successful cycle was " + std::to_string(int(unix_now() - last)) + "s ago";
    }
  }
  json body;
  ProbeAnswer answer;
  json detail;
  {
    std::lock_guard detail_lock(liveness_mu_);
    if (ready_detail_) {
      if (std::string text = ready_detail_(); !text.empty()) {
        detail = json::parse(text, nullptr, false);
      }
    }
  }
  if (reason.empty()) {
    body = {{"status", "ready"},
            {"service", spec_.name},
            {"last_success_age_seconds", unix_now() - last}};
    if (!spec_.leader_lease.empty()) body["leader"] = leader_.load();
    if (detail.is_object()) body["detail"] = std::move(detail);
    answer = {200, body.dump(-1, ' ', false, json::error_handler_t::replace)};
  } else {
    body = {{"status", "not ready"}, {"service", spec_.name}, {"reason", reason}};
    if (detail.is_object()) body["detail"] = std::move(detail);
    answer = {503, body.dump(-1, ' ', false, json::error_handler_t::replace)};
  }
  ready_cache_ = answer;
  ready_cache_at_ = now;
  return answer;
}

}  // namespace fleet::runtime
