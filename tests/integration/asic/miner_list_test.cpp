// The narrow miner_list rows (sql/0048, issue 15.9): derived by triggers from workers, miners,
// models and the latest status, always equal to the join they replace.
#include <catch2/catch.hpp>

#include <pqxx/pqxx>

#include "asic/miner_claims.h"
#include "asic_db.h"
#include "firmware/parse.h"
#include "process.h"
#include "status_store.h"

using namespace fleet;
using namespace std::chrono_literals;
using std::chrono::system_clock;

namespace {

// What the list showed before sql/0048: the join of the miners, workers, models and statuses.
constexpr const char* kJoin = R"sql(
SELECT w.id, w.name, w.ip, w.status, w.managed, w.last_seen_at, m.mac::text, m.model_alias,
       mo.full_name, m.fw_version, m.api_key_state, m.last_poll_error, m.unlock_pass_enc IS NOT NULL,
       s.id, s.observed_at, s.miner_state, s.hashrate_ths, s.hashrate_ratio, s.power_w,
       s.efficiency_jth, s.chip_temp_max, s.pcb_temp_max, s.fan_rpm_min, s.chips_red, s.chips_orange
  FROM miners m JOIN workers w ON w.id = m.worker_id
  LEFT JOIN models mo ON mo.alias = m.model_alias
  LEFT JOIN statuses s ON s.id = m.latest_status_id AND s.observed_at = m.last_status_at
)sql";

constexpr const char* kList = R"sql(
SELECT worker_id, name, ip, status, managed, last_seen_at, mac, model_alias, model_name, fw_version,
       api_key_state, last_poll_error, unlock_password_set, status_id, observed_at, miner_state,
       hashrate_ths, hashrate_ratio, power_w, efficiency_jth, chip_temp_max, pcb_temp_max,
       fan_rpm_min, chips_red, chips_orange
  FROM miner_list
)sql";

// The stored JSON object disagrees with its own row.
constexpr const char* kDocMismatch = R"sql(
SELECT 1 FROM miner_list, LATERAL (SELECT doc::jsonb AS d) j
 WHERE (d->>'id')::bigint <> worker_id OR d->>'name' <> name OR d->>'mac' <> mac
    OR d->>'ip' IS DISTINCT FROM host(ip) OR (d->>'online')::boolean <> (ip IS NOT NULL)
    OR d->>'status' <> status OR (d->>'managed')::boolean <> managed
    OR d->>'model_alias' IS DISTINCT FROM model_alias
    OR d->>'model_name' IS DISTINCT FROM model_name
    OR d->>'fw_version' IS DISTINCT FROM fw_version
    OR d->>'last_seen_at' IS DISTINCT FROM to_char(last_seen_at AT TIME ZONE 'UTC',
                                                   'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    OR d->>'api_key_state' <> api_key_state
    OR (d->>'unlock_password_set')::boolean <> unlock_password_set
    OR (d->'latest' = 'null'::jsonb) <> (status_id IS NULL)
    OR (d->'latest'->>'status_id')::bigint IS DISTINCT FROM status_id
    OR d->'latest'->>'miner_state' IS DISTINCT FROM miner_state
    OR (d->'latest'->>'power_w')::float8 IS DISTINCT FROM power_w
    OR (d->'latest'->>'chip_temp_max')::real IS DISTINCT FROM chip_temp_max
    OR (d->'latest'->>'chips_red')::integer IS DISTINCT FROM chips_red
    OR d ? 'last_poll_error'
)sql";

// Rows where miner_list and the join differ, in either direction, or whose stored object does not
// match the row (0 when all agree).
long long differences(test::TestDatabase& db) {
  std::string query = "(";
  query.append(kList).append(" EXCEPT ").append(kJoin).append(") UNION ALL (").append(kJoin);
  query.append(" EXCEPT ").append(kList).append(")");
  return db.count(query) + db.count(kDocMismatch);
}

std::string fixture(const std::string& name) {
  std::string path = FLEETTEST_SOURCE_DIR;
  path.append("/tests/fixtures/vnish/").append(name);
  return test::read_file(path);
}

std::string row_version(test::TestDatabase& db, long long id) {
  return db.scalar("SELECT xmin::text FROM miner_list WHERE worker_id = " + std::to_string(id));
}

}  // namespace

TEST_CASE("miner_list follows every change the miners list shows", "[gateway][miners][db]") {
  test::TestDatabase db;
  const auto a = test::add_miner(db, 1);
  const auto b = test::add_miner(db, 2, "s21", false);
  const auto sa = std::to_string(a);
  CHECK(db.count("miner_list") == 2);
  CHECK(differences(db) == 0);

  SECTION("worker columns: rename, address, status, managed, last seen") {
    db.exec(
        "UPDATE workers SET name = 'renamed', ip = NULL, status = 'offline', managed = false, "
        "last_seen_at = now() WHERE id = " +
        sa);
    CHECK(db.scalar("SELECT name || ' ' || coalesce(host(ip), '-') || ' ' || status || ' ' || "
                    "managed || ' ' || (last_seen_at IS NOT NULL) FROM miner_list WHERE "
                    "worker_id = " +
                    sa) == "renamed - offline false true");
    CHECK(differences(db) == 0);
  }
  SECTION("miner columns and the latest status, written by the poller's batch") {
    const auto now = system_clock::now();
    {
      pqxx::connection c(db.url());
      pqxx::work tx(c);
      asic::claim_due_miners(tx, asic::ClaimKind::kStatusPoll, "me", 1000, 60s);
      tx.commit();
    }
    auto summary = firmware::parse_summary(fixture("summary_s19_1.2.0-beta10.json"),
                                           firmware::HashMeasure::kGhs, {});
    REQUIRE(summary.ok());
    poller::StatusBatch batch;
    batch.outcomes.push_back({.worker_id = a,
                              .ok = true,
                              .observed_at = now,
                              .next_at = now + 15s,
                              .worker_status = "online",
                              .readings_at = now});
    batch.statuses.push_back({a, now, *summary, 0});
    {
      pqxx::connection c(db.url());
      pqxx::work tx(c);
      poller::store_status_batch(tx, batch, "me", true);
      tx.commit();
    }
    CHECK(db.scalar("SELECT status_id = (SELECT id FROM statuses) AND power_w = 3733 AND "
                    "miner_state = 'mining' FROM miner_list WHERE worker_id = " +
                    sa) == "t");
    CHECK(db.scalar("SELECT status_id IS NULL FROM miner_list WHERE worker_id = " +
                    std::to_string(b)) == "t");
    db.exec(
        "UPDATE miners SET fw_version = '1.2.7', api_key_state = 'rejected', "
        "last_poll_error = 'unauthorized', unlock_pass_enc = 'v1:x' WHERE worker_id = " +
        sa);
    CHECK(db.scalar("SELECT fw_version || ' ' || api_key_state || ' ' || last_poll_error || ' ' "
                    "|| unlock_password_set FROM miner_list WHERE worker_id = " +
                    sa) == "1.2.7 rejected unauthorized true");
    CHECK(differences(db) == 0);
  }
  SECTION("changes the list does not show rewrite nothing") {
    const auto before = row_version(db, a);
    db.exec(
        "UPDATE miners SET poll_lease_owner = 'x', next_poll_at = now() + interval '1 h', "
        "next_telemetry_at = now() WHERE worker_id = " +
        sa);
    db.exec("UPDATE workers SET labels = '{\"rack\": \"7\"}', site = 's1' WHERE id = " + sa);
    db.exec("UPDATE workers SET status = status WHERE id = " + sa);
    CHECK(row_version(db, a) == before);
  }
  SECTION("a model renamed, its alias changed, a model deleted") {
    db.exec("UPDATE models SET full_name = 'Antminer S19 XP' WHERE alias = 's19'");
    CHECK(db.scalar("SELECT model_name FROM miner_list WHERE worker_id = " + sa) ==
          "Antminer S19 XP");
    db.exec("UPDATE models SET alias = 's19xp' WHERE alias = 's19'");  // cascades into miners
    CHECK(db.scalar("SELECT model_alias FROM miner_list WHERE worker_id = " + sa) == "s19xp");
    db.exec("DELETE FROM models WHERE alias = 's21'");  // sets miners.model_alias to NULL
    CHECK(db.scalar("SELECT model_name IS NULL AND model_alias IS NULL FROM miner_list WHERE "
                    "worker_id = " +
                    std::to_string(b)) == "t");
    CHECK(differences(db) == 0);
  }
  SECTION("a miner row or its worker deleted") {
    db.exec("DELETE FROM miners WHERE worker_id = " + sa);
    CHECK(db.count("miner_list") == 1);
    db.exec("DELETE FROM workers WHERE id = " + std::to_string(b));
    CHECK(db.count("miner_list") == 0);
  }
  SECTION("nodes and rigs never appear") {
    db.exec(
        "INSERT INTO workers (kind, name, status) VALUES ('node', 'n1', 'online'), "
        "('rig', 'r1', 'online')");
    db.exec("UPDATE workers SET last_seen_at = now() WHERE kind IN ('node', 'rig')");
    CHECK(db.count("miner_list") == 2);
    CHECK(differences(db) == 0);
  }
}

TEST_CASE("an expired statuses partition takes the miners' latest status out of the list",
          "[gateway][miners][db]") {
  test::TestDatabase db;
  const auto a = test::add_miner(db, 1);
  const auto sa = std::to_string(a);
  db.exec("SELECT fleet_create_daily_partitions('statuses', 40, 0)");
  db.exec("INSERT INTO statuses (worker_id, observed_at, miner_state, power_w) VALUES (" + sa +
          ", now() - interval '35 days', 'mining', 3000)");
  db.exec(
      "UPDATE miners SET (latest_status_id, last_status_at) = (SELECT id, observed_at FROM "
      "statuses) WHERE worker_id = " +
      sa);
  CHECK(db.scalar("SELECT power_w FROM miner_list WHERE worker_id = " + sa) == "3000");
  db.exec("SELECT fleet_drop_expired_partitions('statuses', 30)");
  CHECK(db.scalar("SELECT status_id IS NULL AND power_w IS NULL FROM miner_list WHERE "
                  "worker_id = " +
                  sa) == "t");
  CHECK(differences(db) == 0);
}
