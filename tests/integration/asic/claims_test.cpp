// Claiming miners across replicas, recording outcomes, metrics, partitions.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "asic/metric_rows.h"
#include "asic/miner_claims.h"
#include "asic/partitions.h"
#include "asic_db.h"

using namespace fleet;
using namespace std::chrono_literals;
using std::chrono::system_clock;

TEST_CASE("only managed miners with an IP and a model max_preset are claimed", "[claims][db]") {
  test::TestDatabase db;
  const auto due = test::add_miner(db, 1);
  const auto unmanaged = test::add_miner(db, 2, "s19", false);
  const auto no_ip = test::add_miner(db, 3);
  db.exec("UPDATE workers SET ip = NULL WHERE id = " + std::to_string(no_ip));
  test::add_miner(db, 4, "s21");
  db.exec("UPDATE models SET max_preset = NULL WHERE alias = 's21'");
  const auto later = test::add_miner(db, 5);
  db.exec("UPDATE miners SET next_poll_at = now() + interval '1 minute' WHERE worker_id = " +
          std::to_string(later));
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  auto claimed = asic::claim_due_miners(tx, asic::ClaimKind::kStatusPoll, "a", 100, 60s);
  REQUIRE(claimed.size() == 1);
  CHECK(claimed[0].worker_id == due);
  CHECK(claimed[0].ip == "10.9.0.1");
  CHECK(claimed[0].api_key_enc == "v1:sealed");
  CHECK(claimed[0].num_chains == 3);
  CHECK(claimed[0].may_provision);
  (void)unmanaged;
  tx.commit();
  // Leased now: nobody claims it again until the lease expires; telemetry has its own lease.
  pqxx::work again(c);
  CHECK(asic::claim_due_miners(again, asic::ClaimKind::kStatusPoll, "b", 100, 60s).empty());
  // The telemetry loop has its own due time: `later` is only later for status polls.
  CHECK(asic::claim_due_miners(again, asic::ClaimKind::kTelemetry, "b", 100, 60s).size() == 2);
  again.exec0("UPDATE miners SET poll_lease_until = now() - interval '1 second'");
  CHECK(asic::claim_due_miners(again, asic::ClaimKind::kStatusPoll, "b", 100, 60s).size() == 1);
}

TEST_CASE("concurrent claims take disjoint miners (SKIP LOCKED)", "[claims][db]") {
  test::TestDatabase db;
  for (int i = 1; i <= 60; ++i)
    test::add_miner(db, i);
  // Two replicas claim in small batches at the same time until nothing is left.
  std::vector<std::int64_t> got[2];
  auto replica = [&](int r) {
    pqxx::connection c(db.url());
    while (true) {
      pqxx::work tx(c);
      auto batch = asic::claim_due_miners(tx, asic::ClaimKind::kStatusPoll,
                                          "replica-" + std::to_string(r), 7, 60s);
      tx.commit();
      if (batch.empty()) break;
      for (const auto& m : batch)
        got[r].push_back(m.worker_id);
    }
  };
  std::thread a(replica, 0), b(replica, 1);
  a.join();
  b.join();
  std::set<std::int64_t> all(got[0].begin(), got[0].end());
  for (auto id : got[1])
    CHECK(all.insert(id).second);  // never twice
  CHECK(all.size() == 60);
  CHECK(db.count("SELECT 1 FROM miners WHERE poll_lease_owner IS NULL") == 0);
}

TEST_CASE("outcomes clear the lease, schedule the next poll and update the worker",
          "[claims][db]") {
  test::TestDatabase db;
  const auto ok_id = test::add_miner(db, 1);
  const auto bad_id = test::add_miner(db, 2);
  const auto stolen = test::add_miner(db, 3);
  db.exec("UPDATE workers SET status = 'offline'");
  db.exec("UPDATE miners SET consecutive_failures = 2, poll_latency_ms = 77 WHERE worker_id = " +
          std::to_string(bad_id));
  pqxx::connection c(db.url());
  {
    pqxx::work tx(c);
    auto claimed = asic::claim_due_miners(tx, asic::ClaimKind::kStatusPoll, "me", 10, 60s);
    tx.commit();
    REQUIRE(claimed.size() == 3);
    for (const auto& m : claimed) {
      INFO(m.worker_id);
      CHECK(m.poll_latency_ms == (m.worker_id == bad_id ? std::optional<int>(77) : std::nullopt));
    }
  }
  // Another replica took miner 3 over after our lease expired: our outcome must not land.
  db.exec("UPDATE miners SET poll_lease_owner = 'other' WHERE worker_id = " +
          std::to_string(stolen));
  const auto now = system_clock::now();
  std::vector<asic::ClaimOutcome> outcomes(3);
  outcomes[0] = {.worker_id = ok_id,
                 .ok = true,
                 .observed_at = now,
                 .next_at = now + 15s,
                 .status_id = 42,
                 .worker_status = "online",
                 .status_reason = "answered a poll",
                 .api_key_enc = "v1:new",
                 .api_key_state = "active",
                 .latency_ms = 120};
  outcomes[1] = {.worker_id = bad_id,
                 .ok = false,
                 .observed_at = now,
                 .next_at = now + 60s,
                 .error = "deadline exceeded: /summary: timeout",
                 .worker_status = "offline",
                 .api_key_state = "rejected",
                 .provision_error = "wrong unlock password",
                 .provision_after = now + 300s};
  outcomes[2] = {.worker_id = stolen,
                 .ok = true,
                 .observed_at = now,
                 .next_at = now + 15s,
                 .worker_status = "online"};
  {
    pqxx::work tx(c);
    asic::record_outcomes(tx, asic::ClaimKind::kStatusPoll, "me", outcomes);
    tx.commit();
  }
  auto col = [&](long long id, const std::string& expr) {
    return db.scalar("SELECT " + expr +
                     " FROM miners m JOIN workers w ON w.id = m.worker_id WHERE m.worker_id = " +
                     std::to_string(id));
  };
  CHECK(col(ok_id, "m.poll_lease_owner IS NULL AND m.poll_lease_until IS NULL") == "t");
  CHECK(col(ok_id, "m.latest_status_id") == "42");
  CHECK(col(ok_id, "m.consecutive_failures") == "0");
  CHECK(col(ok_id, "m.api_key_enc") == "v1:new");
  CHECK(col(ok_id, "w.status") == "online");
  CHECK(col(ok_id, "w.last_seen_at IS NOT NULL") == "t");
  CHECK(col(ok_id, "m.next_poll_at > now() + interval '10 seconds'") == "t");
  CHECK(col(ok_id, "m.poll_latency_ms") == "120");
  CHECK(col(bad_id, "m.poll_latency_ms") == "77");  // a failure keeps the estimate
  CHECK(col(bad_id, "m.consecutive_failures") == "3");
  CHECK(col(bad_id, "m.last_poll_error") == "deadline exceeded: /summary: timeout");
  CHECK(col(bad_id, "m.api_key_state") == "rejected");
  CHECK(col(bad_id, "m.api_key_enc") == "v1:sealed");  // unchanged
  CHECK(col(bad_id, "m.provision_failures") == "1");
  CHECK(col(bad_id, "m.provision_after > now()") == "t");
  CHECK(col(bad_id, "w.last_seen_at IS NULL") == "t");
  // The change of status is in the history with its reason (migration 0040's trigger).
  CHECK(db.scalar("SELECT from_status || '>' || to_status || ': ' || reason "
                  "FROM worker_status_history WHERE worker_id = " +
                  std::to_string(ok_id) + " ORDER BY id DESC LIMIT 1") ==
        "offline>online: answered a poll");
  CHECK(col(stolen, "m.poll_lease_owner") == "other");
  CHECK(col(stolen, "w.status") == "offline");
}

TEST_CASE("released claims are free for the next replica at once", "[claims][db]") {
  test::TestDatabase db;
  const auto id = test::add_miner(db, 1);
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  REQUIRE(asic::claim_due_miners(tx, asic::ClaimKind::kTelemetry, "me", 10, 60s).size() == 1);
  asic::release_claims(tx, asic::ClaimKind::kTelemetry, "me", {id});
  CHECK(asic::claim_due_miners(tx, asic::ClaimKind::kTelemetry, "you", 10, 60s).size() == 1);
}

TEST_CASE("metrics: newest wins in metrics_latest, every sample in readings", "[metrics][db]") {
  test::TestDatabase db;
  const auto id = test::add_miner(db, 1);
  pqxx::connection c(db.url());
  const auto t0 = system_clock::now();
  {
    pqxx::work tx(c);
    CHECK(asic::write_metrics(tx,
                              {{id, "hashrate", 95.5, std::nullopt, t0},
                               {id, "miner_state", std::nullopt, "mining", t0},
                               {id, "power", std::nullopt, std::nullopt, t0}},
                              true) == 2);
    tx.commit();
  }
  {
    pqxx::work tx(c);
    asic::write_metrics(tx, {{id, "hashrate", 10.0, std::nullopt, t0 - 60s}}, true);  // older
    asic::write_metrics(tx, {{id, "hashrate", 97.0, std::nullopt, t0 + 15s}}, true);
    tx.commit();
  }
  CHECK(db.scalar("SELECT value FROM metrics_latest WHERE metric = 'hashrate'") == "97");
  CHECK(db.scalar("SELECT json_value #>> '{}' FROM metrics_latest WHERE metric = 'miner_state'") ==
        "mining");
  CHECK(db.count("SELECT 1 FROM metrics_latest WHERE metric = 'power'") == 0);
  CHECK(db.count("SELECT 1 FROM readings WHERE metric = 'hashrate'") == 3);
  // A re-sent sample is ignored, not an error.
  pqxx::work tx(c);
  asic::write_metrics(tx, {{id, "hashrate", 97.0, std::nullopt, t0 + 15s}}, true);
  tx.commit();
  CHECK(db.count("SELECT 1 FROM readings WHERE metric = 'hashrate'") == 3);
}

TEST_CASE("writers keep their partitions and set the retention policy", "[partitions][db]") {
  test::TestDatabase db;
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  tx.exec("SELECT fleet_create_daily_partitions('chip_telemetry', 20, 0)");
  asic::ensure_partitions(tx, "chip_telemetry", 3, 9);
  CHECK(tx.exec1(
              "SELECT retention_days FROM partition_policies WHERE parent_table = 'chip_telemetry'")
            [0]
                .as<int>() == 3);
  CHECK(tx.exec1("SELECT to_regclass('chip_telemetry_p' || to_char((now() AT TIME ZONE "
                 "'UTC')::date + 9, 'YYYYMMDD')) IS NOT NULL")[0]
            .as<bool>());
  auto dropped = asic::drop_expired_partitions(tx, "chip_telemetry", 3);
  CHECK(dropped.size() >= 16);  // days 4..20 back
  CHECK(tx.exec1("SELECT to_regclass('chip_telemetry_p' || to_char((now() AT TIME ZONE "
                 "'UTC')::date - 3, 'YYYYMMDD')) IS NOT NULL")[0]
            .as<bool>());
}
