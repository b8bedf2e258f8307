// The notifier's SQL against a real PostgreSQL: concurrent replicas never route, flush or send
// one thing twice; an expired lease hands a message over and fences the late recorder.
#include <catch2/catch.hpp>

#include <thread>

#include <pqxx/pqxx>

#include "notifier_store.h"
#include "pgtest.h"

using namespace fleet;
using namespace fleet::notifier;
using namespace fleet::test;

namespace {

std::string channel(TestDatabase& db, const std::string& name) {
  return db.scalar(
      "INSERT INTO notification_channels (name, kind, config, group_wait_ms, created_by) VALUES "
      "('" +
      name + "', 'webhook', '{\"url\": \"http://127.0.0.1:9/x\"}', 0, 't') RETURNING id");
}

void notifications(TestDatabase& db, int n) {
  db.exec(
      "INSERT INTO notifications (source, event, severity, title, dedupe_key) SELECT 't', "
      "'worker.offline', 'warning', 'x' || g, 'k' || g FROM generate_series(1, " +
      std::to_string(n) + ") g");
}

}  // namespace

TEST_CASE("two routers: each notification is claimed by one, and a delivery is made once",
          "[notifier][integration]") {
  TestDatabase db;
  const auto ch = channel(db, "a");
  notifications(db, 10);
  pqxx::connection c1(db.url()), c2(db.url());
  pqxx::work tx1(c1);
  const auto first = unrouted(tx1, 100, true);
  REQUIRE(first.size() == 10);
  {
    pqxx::work tx2(c2);
    CHECK(unrouted(tx2, 100, true).empty());  // SKIP LOCKED: the other replica gets nothing
  }
  std::vector<NewDelivery> deliveries;
  std::vector<std::int64_t> ids;
  for (const auto& f : first) {
    deliveries.push_back({f.id, {std::stoll(ch), "", "event=worker.offline"}});
    ids.push_back(f.id);
  }
  CHECK(write_routing(tx1, deliveries, ids) == 10);
  tx1.commit();
  pqxx::work tx3(c2);
  CHECK(unrouted(tx3, 100, true).empty());
  CHECK(write_routing(tx3, deliveries, {}) == 0);  // the same facts again: nothing new
  tx3.commit();
  CHECK(db.count("SELECT 1 FROM notification_deliveries") == 10);
}

TEST_CASE("two flushers: a group is locked by one, the message takes all its deliveries",
          "[notifier][integration]") {
  TestDatabase db;
  const auto ch = channel(db, "a");
  notifications(db, 5);
  db.exec(
      "INSERT INTO notification_deliveries (notification_id, channel_id, group_key) SELECT id, " +
      ch + ", 'event=worker.offline' FROM notifications");
  // As routing leaves it (write_routing makes the group rows).
  db.exec("INSERT INTO notification_groups (channel_id, group_key) VALUES (" + ch +
          ", 'event=worker.offline')");
  pqxx::connection c1(db.url()), c2(db.url());
  pqxx::work tx1(c1);
  WallTime now;
  const auto groups = pending_groups(tx1, 100, &now);
  REQUIRE(groups.size() == 1);
  const auto locked = lock_groups(tx1, groups);
  REQUIRE(locked.size() == 1);
  {
    pqxx::work tx2(c2);
    CHECK(lock_groups(tx2, groups).empty());
  }
  const auto items = pending_items(tx1, locked);
  REQUIRE(items.size() == 5);
  const auto id = new_message_ids(tx1, 1).at(0);
  NewMessage m{.id = id,
               .ref = locked[0].ref,
               .idempotency_key = "fw-1-00000000",
               .body = "{\"version\": 1}",
               .notifications = 5};
  for (const auto& i : items)
    m.delivery_ids.push_back(i.delivery_id);
  write_messages(tx1, {m});
  tx1.commit();
  CHECK(db.count("SELECT 1 FROM notification_messages") == 1);
  CHECK(db.count("SELECT 1 FROM notification_deliveries WHERE state = 'queued' AND message_id = " +
                 std::to_string(id)) == 5);
  CHECK(db.scalar("SELECT last_message_id FROM notification_groups") == std::to_string(id));
  pqxx::work tx3(c2);
  CHECK(pending_groups(tx3, 100, nullptr).empty());
}

TEST_CASE("an expired lease hands the message to another notifier, the late result is fenced",
          "[notifier][integration]") {
  TestDatabase db;
  const auto ch = channel(db, "a");
  db.exec(
      "INSERT INTO notification_messages (channel_id, group_key, idempotency_key, body, "
      "notifications) VALUES (" +
      ch + ", 'k', 'fw-1-00000001', '{}', 1)");
  pqxx::connection c(db.url());
  std::vector<ClaimedMessage> first;
  {
    pqxx::work tx(c);
    first = claim_due(tx, "one", std::chrono::milliseconds(1), 10);
    tx.commit();
  }
  REQUIRE(first.size() == 1);
  CHECK(first[0].attempt == 1);
  {
    pqxx::work tx(c);
    CHECK(claim_due(tx, "two", std::chrono::seconds(60), 10).empty() ==
          (db.scalar("SELECT lease_expires_at > now() FROM notification_messages") == "t"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::vector<ClaimedMessage> second;
  {
    pqxx::work tx(c);
    second = claim_due(tx, "two", std::chrono::seconds(60), 10);
    tx.commit();
  }
  REQUIRE(second.size() == 1);
  CHECK(second[0].attempt == 2);
  CHECK(second[0].idempotency_key == "fw-1-00000001");
  notify::SendResult ok;
  ok.outcome = notify::SendResult::Outcome::kDelivered;
  ok.status = 200;
  {
    pqxx::work tx(c);
    // The first owner's late answer is not recorded: the message is no longer its own.
    CHECK(record_attempts(tx, "one", {{first[0], ok, {Verdict::State::kDelivered}, {}}}).empty());
    CHECK(record_attempts(tx, "two", {{second[0], ok, {Verdict::State::kDelivered}, {}}}).size() ==
          1);
    tx.commit();
  }
  CHECK(db.scalar("SELECT state || ':' || attempts FROM notification_messages") == "delivered:2");
  CHECK(
      db.scalar("SELECT string_agg(attempt || ':' || notifier, ',') FROM notification_attempts") ==
      "2:two");
}

TEST_CASE("a failing channel raises one channel_failing notification, then recovers once",
          "[notifier][integration]") {
  TestDatabase db;
  const auto ch = std::stoll(channel(db, "a"));
  pqxx::connection c(db.url());
  auto apply = [&](ChannelHealthChange change) {
    pqxx::work tx(c);
    const auto e = update_health(tx, change, 3);
    tx.commit();
    return e;
  };
  CHECK(apply({ch, false, 2, "HTTP 500"}) == HealthEvent::kNone);
  CHECK(apply({ch, false, 1, "HTTP 500"}) == HealthEvent::kFailing);
  CHECK(apply({ch, false, 5, "HTTP 500"}) == HealthEvent::kNone);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'notifier.channel_failing'") == 1);
  CHECK(db.scalar("SELECT consecutive_failures FROM notification_channels") == "8");
  CHECK(apply({ch, true, 0, ""}) == HealthEvent::kRecovered);
  CHECK(apply({ch, true, 0, ""}) == HealthEvent::kNone);
  CHECK(db.count("SELECT 1 FROM notifications WHERE event = 'notifier.channel_recovered'") == 1);
  CHECK(db.scalar("SELECT payload->>'channel' FROM notifications WHERE event = "
                  "'notifier.channel_failing'") == "a");
}

TEST_CASE("pending groups come soonest-due first, so a waiting group never hides a due one",
          "[notifier][integration]") {
  TestDatabase db;
  const auto slow = channel(db, "slow");
  const auto fast = channel(db, "fast");
  db.exec("UPDATE notification_channels SET group_wait_ms = 3600000 WHERE id = " + slow);
  notifications(db, 2);
  db.exec(
      "INSERT INTO notification_deliveries (notification_id, channel_id, group_key) SELECT id, "
      "CASE WHEN title = 'x1' THEN " +
      slow + " ELSE " + fast + " END, 'k' FROM notifications");
  pqxx::connection c(db.url());
  pqxx::work tx(c);
  const auto first = pending_groups(tx, 1, nullptr);
  REQUIRE(first.size() == 1);
  CHECK(first[0].ref.channel_id == std::stoll(fast));  // the slow one was routed first
}
