// Persisting statuses, chip telemetry and discovery results in PostgreSQL.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>
#include <thread>

#include "asic/miner_claims.h"
#include "asic_db.h"
#include "chip_encoding.h"
#include "chip_store.h"
#include "firmware/parse.h"
#include "miner_registry.h"
#include "process.h"
#include "status_store.h"

using namespace fleet;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

std::string fixture(const std::string& name) {
  std::string path = FLEETTEST_SOURCE_DIR;
  path.append("/tests/fixtures/vnish/").append(name);
  return test::read_file(path);
}

void claim_all(test::TestDatabase& db, asic::ClaimKind kind, const std::string& owner) {
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  asic::claim_due_miners(tx, kind, owner, 1000, 60s);
  tx.commit();
}

}  // namespace

TEST_CASE("a status batch fills statuses, fans, chains, metrics and the miners", "[poller][db]") {
  test::TestDatabase db;
  const auto a = test::add_miner(db, 1);
  const auto b = test::add_miner(db, 2);
  claim_all(db, asic::ClaimKind::kStatusPoll, "me");
  poller::StatusBatch batch;
  const auto now = system_clock::now();
  auto summary = firmware::parse_summary(fixture("summary_s19_1.2.0-beta10.json"),
                                         firmware::HashMeasure::kGhs, {});
  REQUIRE(summary.ok());
  batch.outcomes.push_back({.worker_id = a,
                            .ok = true,
                            .observed_at = now,
                            .next_at = now + 15s,
                            .worker_status = "online",
                            .readings_at = now});
  batch.outcomes.push_back({.worker_id = b,
                            .ok = false,
                            .observed_at = now,
                            .next_at = now + 30s,
                            .error = "unavailable: refused"});
  batch.statuses.push_back({a, now, *summary, 0});
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  auto counts = poller::store_status_batch(tx, batch, "me", true);
  tx.commit();
  CHECK(counts.statuses == 1);
  CHECK(counts.fans == 4);
  CHECK(counts.chains == 2);
  CHECK(db.count("statuses") == 1);
  CHECK(db.count("status_fans") == 4);
  CHECK(db.count("chain_snapshots") == 2);
  const std::string sid = db.scalar("SELECT id FROM statuses");
  CHECK(db.scalar("SELECT latest_status_id FROM miners WHERE worker_id = " + std::to_string(a)) ==
        sid);
  CHECK(db.scalar("SELECT latest_status_id FROM miners WHERE worker_id = " + std::to_string(b)) ==
        "");
  CHECK(db.count("SELECT 1 FROM status_fans WHERE status_id = " + sid) == 4);
  CHECK(db.scalar("SELECT round(hashrate_ths::numeric, 3) || ' ' || power_w || ' ' || miner_state "
                  "|| ' ' || pool_url FROM statuses") ==
        "66.630 3733 mining btc.foundryusapool.com:3333");
  CHECK(db.scalar("SELECT voltage_mv || ' ' || pcb_temp_max || ' ' || chips_red FROM "
                  "chain_snapshots WHERE chain_id = 2") == "14000 33 1");
  CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'power' AND worker_id = " +
                  std::to_string(a)) == "3733");
  CHECK(db.count("SELECT 1 FROM metrics_latest WHERE worker_id = " + std::to_string(b)) == 0);
  CHECK(db.count("readings") == db.count("metrics_latest"));
  CHECK(db.scalar("SELECT consecutive_failures FROM miners WHERE worker_id = " +
                  std::to_string(b)) == "1");
  CHECK(db.scalar("SELECT readings_at IS NOT NULL FROM miners WHERE worker_id = " +
                  std::to_string(a)) == "t");
  CHECK(db.scalar("SELECT readings_at IS NULL FROM miners WHERE worker_id = " +
                  std::to_string(b)) == "t");
}

TEST_CASE("a poll between readings updates metrics_latest but appends no readings",
          "[poller][db]") {
  test::TestDatabase db;
  const auto a = test::add_miner(db, 1);
  claim_all(db, asic::ClaimKind::kStatusPoll, "me");
  const auto now = system_clock::now();
  auto summary = firmware::parse_summary(fixture("summary_s19_1.2.0-beta10.json"),
                                         firmware::HashMeasure::kGhs, {});
  REQUIRE(summary.ok());
  poller::StatusBatch batch;
  batch.outcomes.push_back({.worker_id = a, .ok = true, .observed_at = now, .next_at = now + 15s});
  batch.statuses.push_back({a, now, *summary, 0, /*history=*/false});
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  auto counts = poller::store_status_batch(tx, batch, "me", true);
  tx.commit();
  CHECK(counts.statuses == 1);
  CHECK(db.count("statuses") == 1);
  CHECK(db.count("metrics_latest") > 10);
  CHECK(db.count("readings") == 0);
  CHECK(db.scalar("SELECT readings_at IS NULL FROM miners") == "t");
}

TEST_CASE("chip telemetry is stored compactly and reads back chip by chip", "[telemetry][db]") {
  test::TestDatabase db;
  const auto id = test::add_miner(db, 1);
  claim_all(db, asic::ClaimKind::kTelemetry, "me");
  auto chains = firmware::parse_chains(fixture("chains_s19jpro.json"), {});
  REQUIRE(chains.ok());
  const auto now = system_clock::now();
  telemetry::TelemetryBatch batch;
  for (const auto& chain : chains->chains) {
    batch.rows.push_back(telemetry::chip_row(id, now, telemetry::encode_chain(chain)));
  }
  batch.metrics = telemetry::telemetry_metrics(id, now, telemetry::anomalies_of(*chains, 3));
  batch.outcomes.push_back({.worker_id = id, .ok = true, .observed_at = now, .next_at = now + 60s});
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  auto counts = telemetry::store_telemetry_batch(tx, batch, "me", true);
  tx.commit();
  CHECK(counts.chains == 2);
  CHECK(counts.chips == 3);
  CHECK(db.count("chip_telemetry") == 2);
  // The view decodes every chip exactly as the firmware sent it.
  CHECK(db.scalar(
            "SELECT string_agg(chip_id || ':' || hr || ':' || temp_c || ':' || freq_mhz || ':' || "
            "volt_mv || ':' || errs || ':' || grade || ':' || throttled, ' ' ORDER BY position) "
            "FROM chip_samples WHERE chain_id = 1") ==
        "1:260:61.0000000000000000:515:1320:0:grey:false "
        "2:256:63.5000000000000000:515:1320:2:orange:false "
        "3:0:88.0000000000000000:515:1320:951:red:true");
  CHECK(db.scalar(
            "SELECT state || ' ' || failure_message || ' ' || chip_count || ' ' || (hr IS NULL) "
            "FROM chip_telemetry WHERE chain_id = 2") == "failure chain 2: no chips found 0 true");
  CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'chains_dead'") == "2");
  CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'chips_throttled'") == "1");
  CHECK(db.scalar(
            "SELECT last_telemetry_at IS NOT NULL AND telemetry_lease_owner IS NULL FROM miners") ==
        "t");
}

TEST_CASE("fleet_unpack reads what pack_values wrote, for every width", "[telemetry][db]") {
  test::TestDatabase db;
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  std::vector<telemetry::Values> cases = {
      telemetry::Values(5, std::int64_t{675}),
      {std::int64_t{410}, std::nullopt, std::int64_t{449}},
      {std::int64_t{-7}, std::int64_t{10'393}, std::nullopt},
      {std::int64_t{-2'000'000'000}, std::int64_t{2'000'000'000}, std::nullopt}};
  for (const auto& values : cases) {
    int clamped = 0;
    const std::string packed = telemetry::pack_values(values, clamped);
    pqxx::binarystring bytes(packed);
    for (size_t i = 0; i < values.size(); ++i) {
      auto row = tx.exec_params1("SELECT fleet_unpack($1, $2)", bytes, static_cast<int>(i + 1));
      INFO("position " << i + 1);
      CHECK(row[0].get<std::int64_t>() == values[i]);
    }
    if (packed.size() > 5) {  // width 0 has no length: any position reads its one value
      CHECK(tx.exec_params1("SELECT fleet_unpack($1, $2)", bytes,
                            static_cast<int>(values.size() + 1))[0]
                .is_null());
    }
  }
}

TEST_CASE("discovery writes: new miners, moves, keys, offline, rescans", "[discovery][db]") {
  test::TestDatabase db;
  // Known: miner A (will move), miner B (vanishes), miner C outside the swept network.
  const auto a = test::add_miner(db, 1);
  const auto b = test::add_miner(db, 2);
  const auto c = test::add_miner(db, 3);
  db.exec("UPDATE workers SET ip = '10.8.0.3' WHERE id = " + std::to_string(c));
  db.exec("INSERT INTO miner_rescan_requests (worker_id) VALUES (" + std::to_string(a) + ")");
  pqxx::connection conn(db.url());
  std::vector<discovery::RescanRequest> open;
  {
    pqxx::work tx(conn);
    open = discovery::open_rescan_requests(tx);
  }
  REQUIRE(open.size() == 1);
  CHECK(open[0].mac == "aa:bb:cc:00:00:01");
  CHECK(open[0].worker_ip == "10.9.0.1");

  auto info_of = [](const std::string& mac, const std::string& model) {
    firmware::InfoPayload i;
    i.fw_name = "Vnish";
    i.fw_version = "1.2.6";
    i.miner = "Antminer " + model;
    i.model = model;
    i.hr_measure = "GH/s";
    i.mac = mac;
    return i;
  };
  discovery::DiscoveryWrite w;
  w.seen = {{"10.9.0.77", info_of("aa:bb:cc:00:00:01", "s19")},         // A moved
            {"10.9.0.50", info_of("fe:07:26:3c:be:1b", "s21pro")},      // new
            {"10.9.0.51", info_of("fe:07:26:3c:be:1c", "Bad/Alias")}};  // new, unusable alias
  w.port = 18080;
  w.manage_new = true;
  w.swept_networks = {"10.9.0.0/24"};
  discovery::ModelUpdate mu;
  mu.model.alias = "s21pro";
  mu.model.full_name = "Antminer S21 Pro";
  mu.model.num_chains = 3;
  firmware::Preset p;
  p.name = "3500";
  p.pretty = "3500 watt ~ 234 TH";
  p.tuned = true;
  p.power_w = 3500;
  mu.presets = std::vector<firmware::Preset>{p};
  w.models = {mu};
  w.keys = {{"fe:07:26:3c:be:1b", "v1:newkey", false, std::nullopt},
            {"fe:07:26:3c:be:1c", std::nullopt, false, "permission denied: wrong unlock password"}};
  w.reset_poll_macs = {"aa:bb:cc:00:00:01"};
  w.handled_rescans = {{open[0].id, "found at 10.9.0.77"}};
  w.instance = "test";
  db.exec(
      "UPDATE miners SET next_poll_at = now() + interval '1 hour', consecutive_failures = 4 "
      "WHERE worker_id = " +
      std::to_string(a));
  discovery::RegistryChanges changes;
  {
    pqxx::work tx(conn);
    changes = discovery::apply_discovery(tx, w);
    tx.commit();
  }
  CHECK(changes.inserted == 2);
  CHECK(changes.updated == 1);
  CHECK(changes.went_offline == 1);
  CHECK(changes.keys_stored == 1);
  CHECK(changes.provision_failed == 1);
  CHECK(db.scalar("SELECT host(ip) || ' ' || status FROM workers WHERE id = " +
                  std::to_string(a)) == "10.9.0.77 online");
  CHECK(db.scalar("SELECT coalesce(host(ip), 'null') || ' ' || status FROM workers WHERE id = " +
                  std::to_string(b)) == "null offline");
  CHECK(db.scalar("SELECT host(ip) || ' ' || status FROM workers WHERE id = " +
                  std::to_string(c)) == "10.8.0.3 online");  // not in the swept network: not judged
  CHECK(db.scalar("SELECT w.name || ' ' || w.kind || ' ' || w.managed || ' ' || m.port || ' ' || "
                  "m.api_key_state || ' ' || m.api_key_enc FROM miners m JOIN workers w ON w.id = "
                  "m.worker_id "
                  "WHERE m.mac = 'FE:07:26:3C:BE:1B'") ==
        "s21pro-3cbe1b asic true 18080 active v1:newkey");
  CHECK(db.scalar(
            "SELECT coalesce(model_alias, 'none') || ' ' || api_key_state || ' ' || "
            "provision_failures "
            "|| ' ' || (provision_after > now()) FROM miners WHERE mac = 'fe:07:26:3c:be:1c'") ==
        "none missing 1 true");
  CHECK(db.scalar("SELECT full_name || ' ' || num_chains || ' ' || (presets->0->>'name') || ' ' || "
                  "(presets_updated_at IS NOT NULL) FROM models WHERE alias = 's21pro'") ==
        "Antminer S21 Pro 3 3500 true");
  CHECK(db.scalar("SELECT outcome || ' ' || handled_by FROM miner_rescan_requests") ==
        "found at 10.9.0.77 test");
  CHECK(db.scalar("SELECT (next_poll_at <= now()) || ' ' || consecutive_failures FROM miners WHERE "
                  "worker_id = " +
                  std::to_string(a)) == "true 0");

  SECTION("most miners vanishing at once marks them unreachable, IPs kept") {
    for (int i = 10; i < 16; ++i)
      test::add_miner(db, i);
    discovery::DiscoveryWrite quiet;
    quiet.swept_networks = {"10.9.0.0/24"};
    pqxx::work tx(conn);
    auto ch = discovery::apply_discovery(tx, quiet);
    tx.commit();
    CHECK(ch.went_offline == 0);
    CHECK(ch.unreachable >= 6);
    CHECK(db.count("SELECT 1 FROM workers WHERE status = 'unreachable' AND ip IS NOT NULL") >= 6);
  }
}

TEST_CASE(
    "a discovery write, a poller's batch and a telemetry batch of the same miners never "
    "deadlock",
    "[discovery][poller][db]") {
  test::TestDatabase db;
  constexpr int kMiners = 120;
  discovery::DiscoveryWrite w;
  for (int n = 1; n <= kMiners; ++n) {
    test::add_miner(db, n);
    firmware::InfoPayload i;
    i.fw_name = "Vnish";
    i.miner = "Antminer S19";
    i.model = "s19";
    i.hr_measure = "GH/s";
    char mac[32];
    snprintf(mac, sizeof mac, "aa:bb:cc:00:%02x:%02x", (n >> 8) & 0xFF, n & 0xFF);
    i.mac = mac;
    w.seen.push_back({"10.9.0." + std::to_string(n), i});
  }
  w.swept_networks = {"10.9.0.0/24"};
  w.instance = "test";
  pqxx::connection poller(db.url()), telemetry(db.url()), discovery(db.url());
  auto outcomes_of = [](const std::vector<asic::ClaimedMiner>& claimed) {
    const auto now = system_clock::now();
    std::vector<asic::ClaimOutcome> out;
    for (const auto& m : claimed) {
      out.push_back({.worker_id = m.worker_id,
                     .ok = true,
                     .observed_at = now,
                     .next_at = now + 15s,
                     .worker_status = "online",
                     .status_reason = "answered a poll"});
    }
    return out;
  };
  int deadlocks = 0;
  for (int round = 0; round < 12; ++round) {
    db.exec("UPDATE miners SET next_poll_at = now(), next_telemetry_at = now()");
    std::vector<asic::ClaimOutcome> polls, chips;
    {
      pqxx::work tx(poller);
      polls = outcomes_of(asic::claim_due_miners(tx, asic::ClaimKind::kStatusPoll, "p", 1000, 60s));
      chips = outcomes_of(asic::claim_due_miners(tx, asic::ClaimKind::kTelemetry, "t", 1000, 60s));
      tx.commit();
    }
    REQUIRE(polls.size() == static_cast<std::size_t>(kMiners));
    auto attempt = [&](pqxx::connection& c, auto write) {
      try {
        pqxx::work tx(c);
        write(tx);
        tx.commit();
      } catch (const pqxx::deadlock_detected&) {
        ++deadlocks;
      }
    };
    std::thread d(
        [&] { attempt(discovery, [&](pqxx::work& tx) { discovery::apply_discovery(tx, w); }); });
    std::thread t([&] {
      attempt(telemetry, [&](pqxx::work& tx) {
        asic::record_outcomes(tx, asic::ClaimKind::kTelemetry, "t", chips);
      });
    });
    attempt(poller, [&](pqxx::work& tx) {
      asic::record_outcomes(tx, asic::ClaimKind::kStatusPoll, "p", polls);
    });
    d.join();
    t.join();
  }
  CHECK(deadlocks == 0);
  CHECK(db.count("SELECT 1 FROM miners WHERE poll_lease_owner IS NOT NULL OR "
                 "telemetry_lease_owner IS NOT NULL") == 0);
}

TEST_CASE("miners and models reject what their identity cannot be", "[schema][db]") {
  test::TestDatabase db;
  test::add_miner(db, 1);
  db.exec("INSERT INTO workers (id, kind, name) VALUES (900, 'asic', 'x')");
  CHECK_THROWS(db.exec(
      "INSERT INTO miners (worker_id, mac) VALUES (900, 'AA:BB:CC:00:00:01')"));  // same MAC
  CHECK_THROWS(db.exec("INSERT INTO miners (worker_id, mac) VALUES (900, 'not a mac')"));
  CHECK_THROWS(db.exec("INSERT INTO models (alias, full_name) VALUES ('S19/../x', 'x')"));
  CHECK_THROWS(
      db.exec("INSERT INTO miners (worker_id, mac, api_key_state) VALUES (900, "
              "'aa:aa:aa:aa:aa:aa', 'maybe')"));
  CHECK_THROWS(db.exec("INSERT INTO miner_rescan_requests (target) VALUES ('10.0.0.0/8')"));
  db.exec("INSERT INTO miner_rescan_requests (target) VALUES ('10.0.0.0/24')");
  CHECK(db.scalar("SELECT mac FROM miners") == "aa:bb:cc:00:00:01");
  // Deleting the worker removes its miner.
  db.exec("DELETE FROM workers WHERE name = 'm1'");
  CHECK(db.count("miners") == 0);
}
