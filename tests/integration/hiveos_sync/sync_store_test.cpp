// hiveos-sync's store against PostgreSQL: workers + rigs created and followed (renames, farm
// moves, removal and return), liveness into last_seen_at, metrics into metrics_latest/readings,
// account state ok/failing with stale rigs, farm names, and --dry-run writing nothing.
#include <catch2/catch.hpp>

#include <set>

#include <spdlog/spdlog.h>

#include "account_sync.h"
#include "db/session.h"
#include "dry_run_sink.h"
#include "fakes.h"
#include "pgtest.h"
#include "sync_store.h"

using namespace fleet;
using namespace fleet::test;
using Catch::Matchers::StartsWith;
using hiveos_sync::WorkerRow;

namespace {

// Stats a little in the past (readings has partitions around today only).
const std::int64_t kStats = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count() -
                            120;

struct Store {
  explicit Store(TestDatabase& database)
      : db(database),
        session(db::ConnectionOptions{.conninfo = database.url()}),
        sink(session, {.readings = true}) {
    spdlog::set_level(spdlog::level::warn);
    account.id = std::stoll(db.scalar(
        "INSERT INTO hiveos_accounts (name, base_url, token_enc, created_by) VALUES ('main', "
        "'http://127.0.0.1:1/api/v2', '', 'test') RETURNING id"));
    account.name = "main";
  }
  TestDatabase& db;
  db::Session session;
  hiveos_sync::PgSink sink;
  hiveos_sync::Account account;

  std::string worker(std::int64_t hid, const std::string& column) {
    return db.scalar(
        "SELECT " + column +
        " FROM workers w JOIN rigs r ON r.worker_id = w.id WHERE r.hiveos_worker_id = " +
        std::to_string(hid));
  }
  std::string rig_of(std::int64_t hid, const std::string& column) {
    return db.scalar("SELECT " + column +
                     " FROM rigs WHERE hiveos_worker_id = " + std::to_string(hid));
  }
};

WorkerRow row(hiveos::Worker w, bool live,
              std::vector<std::pair<std::string, double>> metrics = {}) {
  WorkerRow r;
  r.kind = hiveos_sync::kind_of(w);
  r.ip = hiveos_sync::first_ip(w.ip_addresses);
  r.live = live;
  for (auto& [name, value] : metrics)
    r.metrics.push_back({.name = name, .value = value});
  r.worker = std::move(w);
  return r;
}

hiveos::Farm farm(std::int64_t id, const std::string& name) {
  return {.id = id, .name = name};
}

}  // namespace

TEST_CASE("a first sync creates farms, workers and rigs, and live ones are seen with metrics",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  s.sink.save_farms(s.account, {farm(10, "alpha"), farm(20, "beta")});
  auto asic = rig(3, 20, "s9-1", kStats);
  asic.platform = 2;
  const auto w1 = s.sink.save_farm(
      s.account, farm(10, "alpha"),
      {row(rig(1, 10, "rig-1", kStats), true, {{"temperature", 71}, {"hashrate", 0.0002}}),
       row(rig(2, 10, "rig-2", kStats - 900), false)});
  const auto w2 =
      s.sink.save_farm(s.account, farm(20, "beta"), {row(asic, true, {{"power", 1400}})});
  CHECK(w1.created == 2);
  CHECK(w1.metrics == 2);
  CHECK(w2.created == 1);
  CHECK(s.sink.finish_ok(s.account, {1, 2, 3}, 2) == 0);

  CHECK(db.count("SELECT 1 FROM farms WHERE hiveos_account_id = " + std::to_string(s.account.id)) ==
        2);
  CHECK(s.worker(1, "w.kind") == "rig");
  CHECK(s.worker(3, "w.kind") == "asic");
  CHECK(s.worker(1, "w.name") == "rig-1");
  CHECK(s.worker(1, "w.managed") == "t");
  CHECK(s.worker(1, "w.status") == "pending");  // the heartbeat-monitor decides from here
  CHECK(s.worker(1, "host(w.ip)") == "192.168.0.1");
  CHECK(s.worker(1, "w.site") == "alpha");
  CHECK(s.worker(1, "(SELECT f.hiveos_farm_id FROM farms f WHERE f.id = w.farm_id)") == "10");
  CHECK(s.worker(1, "extract(epoch FROM w.last_seen_at)::bigint") == std::to_string(kStats));
  CHECK(s.worker(2, "w.last_seen_at").empty());  // not live: not seen
  CHECK(s.rig_of(1, "gpus->0->>'model'") == "GeForce GTX 1050 Ti");
  CHECK(s.rig_of(1, "hashrates->0->>'algo'") == "ethash");
  CHECK(s.rig_of(1, "extract(epoch FROM stats_time)::bigint") == std::to_string(kStats));
  CHECK(s.rig_of(1, "stale") == "f");
  CHECK(s.rig_of(3, "platform") == "2");
  CHECK(db.scalar("SELECT value FROM metrics_latest m JOIN rigs r ON r.worker_id = m.worker_id "
                  "WHERE r.hiveos_worker_id = 1 AND metric = 'temperature'") == "71");
  CHECK(db.count("SELECT 1 FROM metrics_latest") == 3);
  CHECK(db.count("SELECT 1 FROM readings") == 3);
  CHECK(db.scalar("SELECT state || ' ' || farms || ' ' || workers || ' ' || "
                  "(last_sync_at IS NOT NULL) FROM hiveos_accounts") == "ok 2 3 true");

  // The same stats read again: nothing new in readings, metrics_latest unchanged.
  s.sink.save_farm(s.account, farm(10, "alpha"),
                   {row(rig(1, 10, "rig-1", kStats), true, {{"temperature", 71}})});
  CHECK(db.count("SELECT 1 FROM readings") == 3);
  CHECK(db.count("SELECT 1 FROM workers") == 3);
}

TEST_CASE("metric values, JSON values and metadata reach metrics_latest and readings as sent",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  s.sink.save_farms(s.account, {farm(10, "alpha")});
  WorkerRow r = row(rig(1, 10, "rig-1", kStats), true);
  r.metrics = {{.name = "problems", .value = 2, .json_value = R"(["a\"b","c\\d"])"},
               {.name = "hashrate",
                .value = 0.000123456789,
                .json_value = R"({"etchash":0.000123456789})",
                .metadata_json = R"({"unit":"TH/s"})"},
               {.name = "power", .value = -1e-300}};
  CHECK(s.sink.save_farm(s.account, farm(10, "alpha"), {r}).metrics == 3);
  CHECK(db.scalar("SELECT json_value::text FROM metrics_latest WHERE metric = 'problems'") ==
        R"(["a\"b", "c\\d"])");
  CHECK(db.scalar("SELECT (json_value->>1) || ' ' || value FROM metrics_latest "
                  "WHERE metric = 'problems'") == R"(c\d 2)");
  CHECK(db.scalar("SELECT value = 0.000123456789 AND json_value->>'etchash' = '0.000123456789' "
                  "FROM metrics_latest WHERE metric = 'hashrate'") == "t");
  CHECK(db.scalar("SELECT value = -1e-300 FROM metrics_latest WHERE metric = 'power'") == "t");
  CHECK(db.scalar("SELECT metadata->>'unit' FROM readings WHERE metric = 'hashrate'") == "TH/s");
  CHECK(db.scalar("SELECT count(*) FROM readings WHERE ts = to_timestamp(" +
                  std::to_string(kStats) + ")") == "3");
}

TEST_CASE("renames and farm moves are followed on the same worker", "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  s.sink.save_farms(s.account, {farm(10, "alpha"), farm(20, "beta")});
  s.sink.save_farm(s.account, farm(10, "alpha"), {row(rig(1, 10, "rig-1", kStats), true)});
  const std::string id = s.worker(1, "w.id");

  auto moved = rig(1, 20, "rig-1-renamed", kStats + 30);
  moved.ip_addresses = {"10.1.1.1"};
  s.sink.save_farm(s.account, farm(10, "alpha"), {});
  s.sink.save_farm(s.account, farm(20, "beta"), {row(moved, true)});
  s.sink.finish_ok(s.account, {1}, 2);

  CHECK(s.worker(1, "w.id") == id);
  CHECK(db.count("SELECT 1 FROM workers") == 1);
  CHECK(s.worker(1, "w.name") == "rig-1-renamed");
  CHECK(s.worker(1, "w.site") == "beta");
  CHECK(s.worker(1, "(SELECT f.hiveos_farm_id FROM farms f WHERE f.id = w.farm_id)") == "20");
  CHECK(s.worker(1, "host(w.ip)") == "10.1.1.1");
  CHECK(s.rig_of(1, "hiveos_farm_id") == "20");
  CHECK(s.worker(1, "extract(epoch FROM w.last_seen_at)::bigint") == std::to_string(kStats + 30));
}

TEST_CASE("a worker gone from every listing is removed (not deleted) and comes back pending",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  s.sink.save_farms(s.account, {farm(10, "alpha")});
  s.sink.save_farm(
      s.account, farm(10, "alpha"),
      {row(rig(1, 10, "rig-1", kStats), true), row(rig(2, 10, "rig-2", kStats), true)});
  s.sink.finish_ok(s.account, {1, 2}, 1);
  db.exec("UPDATE workers SET status = 'online', status_reason = 'test'");

  s.sink.save_farm(s.account, farm(10, "alpha"), {row(rig(1, 10, "rig-1", kStats), true)});
  CHECK(s.sink.finish_ok(s.account, {1}, 1) == 1);
  CHECK(s.worker(2, "w.status") == "removed");
  CHECK(s.worker(2, "w.status_reason") == "removed from HiveOS");
  CHECK(s.rig_of(2, "removed_at IS NOT NULL") == "t");
  CHECK(s.worker(1, "w.status") == "online");
  CHECK(s.sink.finish_ok(s.account, {1}, 1) == 0);  // removed once

  s.sink.save_farm(
      s.account, farm(10, "alpha"),
      {row(rig(1, 10, "rig-1", kStats), true), row(rig(2, 10, "rig-2", kStats), true)});
  s.sink.finish_ok(s.account, {1, 2}, 1);
  CHECK(s.worker(2, "w.status") == "pending");
  CHECK(s.rig_of(2, "removed_at").empty());
  CHECK(db.count("SELECT 1 FROM workers") == 2);
}

TEST_CASE("a failing account: reason recorded, unread rigs stale, no worker changed",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  s.sink.save_farms(s.account, {farm(10, "alpha"), farm(20, "beta")});
  s.sink.save_farm(s.account, farm(10, "alpha"), {row(rig(1, 10, "rig-1", kStats), true)});
  s.sink.save_farm(s.account, farm(20, "beta"), {row(rig(2, 20, "rig-2", kStats), true)});
  s.sink.finish_ok(s.account, {1, 2}, 2);
  db.exec("UPDATE workers SET status = 'online', status_reason = 'test'");
  const std::string before =
      db.scalar("SELECT string_agg(id || status || last_seen_at, ',' ORDER BY id) FROM workers");

  s.sink.finish_failing(s.account, "HiveOS rejected the token (401)", {1});
  CHECK(db.scalar("SELECT state || ': ' || state_reason FROM hiveos_accounts") ==
        "failing: HiveOS rejected the token (401)");
  CHECK(s.rig_of(1, "stale") == "f");
  CHECK(s.rig_of(2, "stale") == "t");
  CHECK(
      db.scalar("SELECT string_agg(id || status || last_seen_at, ',' ORDER BY id) FROM workers") ==
      before);
  CHECK(db.count("SELECT 1 FROM workers WHERE status = 'removed'") == 0);

  // The next complete read clears it.
  s.sink.save_farm(s.account, farm(20, "beta"), {row(rig(2, 20, "rig-2", kStats), true)});
  s.sink.finish_ok(s.account, {1, 2}, 2);
  CHECK(s.rig_of(2, "stale") == "f");
  CHECK(db.scalar("SELECT state || '|' || state_reason FROM hiveos_accounts") == "ok|");
}

TEST_CASE("farm names: a name taken by another farm gets the HiveOS id, renames followed",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  db.exec("INSERT INTO farms (name, site) VALUES ('alpha', 'dc-1')");
  s.sink.save_farms(s.account, {farm(10, "alpha"), farm(20, "twin"), farm(30, "twin")});
  CHECK(db.scalar("SELECT name FROM farms WHERE hiveos_farm_id = 10") == "alpha (10)");
  CHECK(db.scalar("SELECT name FROM farms WHERE hiveos_farm_id = 20") == "twin");
  CHECK(db.scalar("SELECT name FROM farms WHERE hiveos_farm_id = 30") == "twin (30)");
  s.sink.save_farms(s.account, {farm(10, "renamed")});
  CHECK(db.scalar("SELECT name FROM farms WHERE hiveos_farm_id = 10") == "renamed");
  CHECK(db.count("SELECT 1 FROM farms") == 4);
  // A farm row with a site gives its workers that site.
  db.exec("UPDATE farms SET site = 'dc-2' WHERE hiveos_farm_id = 20");
  s.sink.save_farm(s.account, farm(20, "twin"), {row(rig(1, 20, "rig-1", kStats), true)});
  CHECK(s.worker(1, "w.site") == "dc-2");
}

TEST_CASE("an older sample never overwrites a newer metric", "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  s.sink.save_farms(s.account, {farm(10, "alpha")});
  s.sink.save_farm(s.account, farm(10, "alpha"),
                   {row(rig(1, 10, "rig-1", kStats), true, {{"temperature", 80}})});
  s.sink.save_farm(s.account, farm(10, "alpha"),
                   {row(rig(1, 10, "rig-1", kStats - 60), true, {{"temperature", 60}})});
  CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'temperature'") == "80");
  CHECK(s.worker(1, "extract(epoch FROM w.last_seen_at)::bigint") == std::to_string(kStats));
}

TEST_CASE("a sample equal to the stored one does not rewrite metrics_latest",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  s.sink.save_farms(s.account, {farm(10, "alpha")});
  s.sink.save_farm(s.account, farm(10, "alpha"),
                   {row(rig(1, 10, "rig-1", kStats), true, {{"temperature", 70}, {"power", 300}})});
  const auto version = [&](const char* metric) {
    return db.scalar(std::string("SELECT xmin::text FROM metrics_latest WHERE metric = '") +
                     metric + "'");
  };
  const std::string temperature = version("temperature");
  const std::string power = version("power");

  // HiveOS answers the same stats again (its stats_time did not move), but for a new power value.
  const auto w = s.sink.save_farm(
      s.account, farm(10, "alpha"),
      {row(rig(1, 10, "rig-1", kStats), true, {{"temperature", 70}, {"power", 310}})});
  CHECK(w.metrics == 1);
  CHECK(version("temperature") == temperature);
  CHECK(version("power") != power);
  CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'power'") == "310");
}

TEST_CASE("readings: a rig's metrics at most once per readings_interval, metrics_latest always",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  hiveos_sync::PgSink every_minute(
      s.session, {.readings = true, .readings_interval = std::chrono::seconds(60)});
  s.sink.save_farms(s.account, {farm(10, "alpha")});
  // 18 reads 10 s apart (170 s): stats_time moves every time.
  const std::int64_t start = kStats - 300;
  std::int64_t readings = 0;
  for (int k = 0; k < 18; ++k) {
    const std::int64_t at = start + 10 * k;
    readings += every_minute
                    .save_farm(s.account, farm(10, "alpha"),
                               {row(rig(1, 10, "rig-1", at), true, {{"temperature", 60.0 + k}}),
                                row(rig(2, 10, "rig-2", at), true, {{"temperature", 60.0 + k}})})
                    .readings;
    CHECK(db.scalar("SELECT string_agg(value::text, ',') FROM metrics_latest") ==
          std::to_string(60 + k) + "," + std::to_string(60 + k));
  }
  // Each rig: its first read, then one per 60 s window it enters: 3 or 4 windows in 170 s,
  // depending on its phase.
  for (std::int64_t hid : {1, 2}) {
    const std::string worker = s.worker(hid, "w.id");
    const auto n = db.count("SELECT 1 FROM readings WHERE worker_id = " + worker);
    CHECK(n >= 3);
    CHECK(n <= 4);
    CHECK(db.scalar("SELECT min(extract(epoch FROM ts))::bigint FROM readings WHERE worker_id = " +
                    worker) == std::to_string(start));
    CHECK(s.rig_of(hid, "extract(epoch FROM readings_at)::bigint") ==
          db.scalar("SELECT max(extract(epoch FROM ts))::bigint FROM readings WHERE worker_id = " +
                    worker));
  }
  CHECK(readings == db.count("SELECT 1 FROM readings"));

  // readings_interval 0: every new stats_time.
  s.sink.save_farm(s.account, farm(10, "alpha"),
                   {row(rig(1, 10, "rig-1", start + 171), true, {{"temperature", 80}})});
  s.sink.save_farm(s.account, farm(10, "alpha"),
                   {row(rig(1, 10, "rig-1", start + 172), true, {{"temperature", 81}})});
  CHECK(db.count("SELECT 1 FROM readings WHERE value IN (80, 81)") == 2);
}

TEST_CASE("metrics_latest: a changed value every read, an unchanged one once per latest_refresh",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  hiveos_sync::PgSink refresh_minute(
      s.session, {.readings = false, .latest_refresh = std::chrono::seconds(60)});
  s.sink.save_farms(s.account, {farm(10, "alpha")});
  const std::int64_t start = kStats - 300;
  const auto observed = [&](const char* metric) {
    return std::stoll(db.scalar(
        std::string("SELECT extract(epoch FROM observed_at)::bigint FROM metrics_latest WHERE "
                    "metric = '") +
        metric + "'"));
  };
  std::set<std::int64_t> temperature_times;
  for (int k = 0; k < 18; ++k) {
    const std::int64_t at = start + 10 * k;
    refresh_minute.save_farm(
        s.account, farm(10, "alpha"),
        {row(rig(1, 10, "rig-1", at), true, {{"temperature", 70}, {"power", 300.0 + k}})});
    CHECK(observed("power") == at);  // changed: written every time
    CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'power'") ==
          std::to_string(300 + k));
    const std::int64_t lag = at - observed("temperature");
    CHECK(lag >= 0);
    CHECK(lag < 60);  // never older than the refresh interval
    temperature_times.insert(observed("temperature"));
  }
  // Unchanged: its first read, then once per 60 s window entered (3 or 4 in 170 s).
  CHECK(temperature_times.size() >= 3);
  CHECK(temperature_times.size() <= 4);
  CHECK(*temperature_times.begin() == start);
}

TEST_CASE("fleet_once_per_window: each worker once per window, a fleet read in step spread over it",
          "[hiveos_sync][integration]") {
  TestDatabase db;
  const std::string t = "'2026-12-04 12:00:00+00'::timestamptz";
  // Never before, or no interval: due.
  CHECK(db.scalar("SELECT fleet_once_per_window(1, NULL, " + t + ", 60000)") == "t");
  CHECK(db.scalar("SELECT fleet_once_per_window(1, " + t + ", " + t + ", 0)") == "t");
  // Within a minute of the last: not always; a minute later: always; the same time: never.
  CHECK(db.scalar("SELECT bool_and(fleet_once_per_window(id, " + t + ", " + t +
                  " + interval '60 s', 60000)) FROM generate_series(1, 1000) id") == "t");
  CHECK(db.scalar("SELECT bool_or(fleet_once_per_window(id, " + t + ", " + t +
                  ", 60000)) FROM generate_series(1, 1000) id") == "f");
  // 1,000 workers read in step 30 s after their last readings: about half are due.
  const auto due =
      std::stoll(db.scalar("SELECT count(*) FILTER (WHERE fleet_once_per_window(id, " + t + ", " +
                           t + " + interval '30 s', 60000)) FROM generate_series(1, 1000) id"));
  CHECK(due > 400);
  CHECK(due < 600);
}

TEST_CASE("a dry run reads and prints, and writes nothing", "[hiveos_sync][integration]") {
  TestDatabase db;
  Store s(db);
  s.sink.save_farms(s.account, {farm(10, "alpha")});
  s.sink.save_farm(
      s.account, farm(10, "alpha"),
      {row(rig(1, 10, "rig-1", kStats), true), row(rig(2, 10, "rig-2", kStats), true)});
  s.sink.finish_ok(s.account, {1, 2}, 1);
  auto fingerprint = [&] {
    return db.scalar(
        "SELECT (SELECT string_agg(id || name || status || coalesce(last_seen_at::text, ''), ',' "
        "ORDER BY id) FROM workers) || (SELECT string_agg(hiveos_worker_id || stale::text || "
        "coalesce(removed_at::text, ''), ',') FROM rigs) || (SELECT count(*) FROM readings) || "
        "(SELECT count(*) FROM farms) || (SELECT state FROM hiveos_accounts)");
  };
  const std::string before = fingerprint();

  db::Session read_only(db::ConnectionOptions{.conninfo = db.url(), .read_only = true});
  std::vector<std::string> lines;
  hiveos_sync::DryRunSink dry(&read_only, [&](std::string_view l) { lines.emplace_back(l); });
  FakeApi api;
  FakeBudget budget;
  api.set_farms({{10, "alpha"}, {40, "new farm"}});
  api.set_workers(10, {rig(1, 10, "rig-1-renamed", kStats + 60)});
  api.set_workers(40, {rig(9, 40, "new-rig", kStats + 60)});
  hiveos_sync::SyncEnv env{.api = api,
                           .budget = budget,
                           .sink = dry,
                           .sleep_for = [](std::chrono::milliseconds) { return true; },
                           .now_unix = [] { return kStats + 70; }};
  const auto out = hiveos_sync::sync_account(s.account, env, {});
  CHECK(out.state == hiveos_sync::AccountOutcome::State::kOk);
  CHECK(out.removed == 1);
  CHECK(fingerprint() == before);
  bool removal_printed = false;
  for (const auto& l : lines) {
    if (l.find(R"("action":"remove_worker")") != std::string::npos &&
        l.find(R"("hiveos_worker_id":2)") != std::string::npos) {
      removal_printed = true;
    }
  }
  CHECK(removal_printed);
}
