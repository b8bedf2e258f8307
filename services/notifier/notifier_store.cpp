#include "notifier_store.h"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/strings.h"

namespace fleet::notifier {
namespace {

using json = nlohmann::json;

// The columns of Facts (notifications n LEFT JOIN workers w), read by facts_at().
constexpr const char* kFacts = R"(
  n.id, to_char(n.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), n.source,
  n.event, n.severity, n.title, n.body, coalesce(n.worker_id, 0), coalesce(w.name, ''),
  coalesce(w.kind, ''), coalesce(w.site, n.payload->>'site', ''), coalesce(w.farm_id, 0),
  coalesce(w.labels, '{}'::jsonb)::text, coalesce(n.rule_id, 0), coalesce(n.alert_id, 0),
  n.payload::text)";
constexpr int kFactsWidth = 16;

// A notification's owners (seed 002): payload.owners, the members of the organisations with a
// deployment placed on its worker, the user named by the worker's labels.owner.
constexpr const char* kOwners = R"(
  (SELECT coalesce(json_agg(DISTINCT o.uid), '[]'::json)::text FROM (
     SELECT e::text::bigint AS uid
       FROM jsonb_array_elements(CASE WHEN jsonb_typeof(n.payload->'owners') = 'array'
                                      THEN n.payload->'owners' ELSE '[]'::jsonb END) e
      WHERE e::text ~ '^[0-9]{1,18}$'
     UNION
     SELECT om.user_id FROM placements p
       JOIN deployments d ON d.id = p.deployment_id
       JOIN organization_members om ON om.organization_id = d.organization_id
      WHERE n.worker_id IS NOT NULL AND p.node_id = n.worker_id AND p.state <> 'removed'
     UNION
     SELECT u.id FROM users u WHERE u.username = w.labels->>'owner' AND NOT u.disabled) o))";

// Runs a statement of the hot path prepared on the transaction's connection (registered there on
// first use, the same definition after): planning these CTE statements costs about as much as
// running them for a small batch.
template <class... Args>
pqxx::result exec_hot(pqxx::transaction_base& tx, const char* name, const std::string& sql,
                      Args&&... args) {
  tx.conn().prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

Facts facts_at(const pqxx::row& r, int at) {
  Facts f;
  f.id = r[at + 0].as<std::int64_t>();
  f.created_at = r[at + 1].as<std::string>();
  f.source = r[at + 2].as<std::string>();
  f.event = r[at + 3].as<std::string>();
  f.severity = r[at + 4].as<std::string>();
  f.title = r[at + 5].as<std::string>();
  f.body = r[at + 6].as<std::string>();
  f.worker_id = r[at + 7].as<std::int64_t>();
  f.worker_name = r[at + 8].as<std::string>();
  f.worker_kind = r[at + 9].as<std::string>();
  f.site = r[at + 10].as<std::string>();
  f.farm_id = r[at + 11].as<std::int64_t>();
  f.worker_labels = r[at + 12].as<std::string>();
  f.rule_id = r[at + 13].as<std::int64_t>();
  f.alert_id = r[at + 14].as<std::int64_t>();
  f.payload = r[at + 15].as<std::string>();
  return f;
}

std::vector<std::string> strings_of(const std::string& json_text) {
  std::vector<std::string> out;
  const json j = json::parse(json_text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

std::vector<std::int64_t> ids_of(const std::string& json_text) {
  std::vector<std::int64_t> out;
  const json j = json::parse(json_text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_number_integer()) out.push_back(e.get<std::int64_t>());
  }
  return out;
}

std::string id_array(const std::vector<std::int64_t>& ids) {
  std::string s = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s + "}";
}

WallTime from_ms(std::int64_t ms) {
  return WallTime(std::chrono::milliseconds(ms));
}

double to_ms(WallTime t) {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

json group_json(const GroupRef& g) {
  return {{"channel_id", g.channel_id}, {"recipient", g.recipient}, {"group_key", g.group_key}};
}

json groups_json(const std::vector<PendingGroup>& groups) {
  json a = json::array();
  for (const auto& g : groups) {
    json j = group_json(g.ref);
    j["first_ms"] = to_ms(g.first_pending);
    a.push_back(std::move(j));
  }
  return a;
}

// Text for a CHECK (length(x) <= 1000): cut to `max` bytes on a character boundary.
std::string capped(const std::string& text, std::size_t max = 900) {
  return sanitize_utf8(text.size() <= max ? text : text.substr(0, max));
}

const char* outcome_name(notify::SendResult::Outcome o) {
  switch (o) {
    case notify::SendResult::Outcome::kDelivered:
      return "delivered";
    case notify::SendResult::Outcome::kUncertain:
      return "uncertain";
    default:
      return "failed";
  }
}

const char* state_name(Verdict::State s) {
  switch (s) {
    case Verdict::State::kDelivered:
      return "delivered";
    case Verdict::State::kDead:
      return "dead";
    default:
      return "retrying";
  }
}

}  // namespace

std::vector<Channel> RoutingConfig::rules() const {
  std::vector<Channel> out;
  for (const auto& c : channels)
    out.push_back(c.rule);
  return out;
}

const ChannelRow* RoutingConfig::channel(std::int64_t id) const {
  for (const auto& c : channels) {
    if (c.rule.id == id) return &c;
  }
  return nullptr;
}

RoutingConfig load_config(pqxx::transaction_base& tx) {
  RoutingConfig cfg;
  for (const auto& r :
       exec_hot(tx, "fw_notifier_channels",
                "SELECT id, name, kind, enabled, to_json(group_by)::text, config::text, "
                "coalesce(secret_enc, ''), coalesce(template->>'title', ''), "
                "coalesce(template->>'text', ''), group_wait_ms, group_interval_ms, "
                "repeat_interval_ms, max_items, max_attempts, max_age_ms "
                "FROM notification_channels ORDER BY id")) {
    ChannelRow c;
    c.rule.id = r[0].as<std::int64_t>();
    c.rule.name = r[1].as<std::string>();
    c.rule.kind = r[2].as<std::string>();
    c.rule.enabled = r[3].as<bool>();
    c.rule.group_by = strings_of(r[4].as<std::string>());
    c.config = r[5].as<std::string>();
    c.secret_enc = r[6].as<std::string>();
    c.template_title = r[7].as<std::string>();
    c.template_text = r[8].as<std::string>();
    c.group_wait = milliseconds(r[9].as<std::int64_t>());
    c.group_interval = milliseconds(r[10].as<std::int64_t>());
    c.repeat_interval = milliseconds(r[11].as<std::int64_t>());
    c.max_items = r[12].as<int>();
    c.max_attempts = r[13].as<int>();
    c.max_age = milliseconds(r[14].as<std::int64_t>());
    cfg.channels.push_back(std::move(c));
  }
  for (const auto& r :
       exec_hot(tx, "fw_notifier_routes",
                "SELECT id, channel_id, to_json(severities)::text, to_json(events)::text, "
                "to_json(sites)::text, to_json(farm_ids)::text, worker_labels::text "
                "FROM notification_routes WHERE enabled ORDER BY id")) {
    Route route;
    route.id = r[0].as<std::int64_t>();
    route.channel_id = r[1].as<std::int64_t>();
    route.severities = strings_of(r[2].as<std::string>());
    route.events = strings_of(r[3].as<std::string>());
    route.sites = strings_of(r[4].as<std::string>());
    route.farm_ids = ids_of(r[5].as<std::string>());
    route.worker_labels = r[6].as<std::string>();
    cfg.routes.push_back(std::move(route));
  }
  for (const auto& r :
       exec_hot(tx, "fw_notifier_subscriptions",
                "SELECT id, user_id, channel_id, to_json(events)::text, min_severity, address "
                "FROM notification_subscriptions WHERE enabled ORDER BY id")) {
    Subscription s;
    s.id = r[0].as<std::int64_t>();
    s.user_id = r[1].as<std::int64_t>();
    s.channel_id = r[2].as<std::int64_t>();
    s.events = strings_of(r[3].as<std::string>());
    s.min_severity = r[4].as<std::string>();
    s.address = r[5].as<std::string>();
    cfg.subscriptions.push_back(std::move(s));
  }
  return cfg;
}

std::vector<Facts> unrouted(pqxx::transaction_base& tx, int limit, bool lock, bool owners) {
  std::vector<Facts> out;
  const std::string sql = std::string("SELECT ") + kFacts + ", " + (owners ? kOwners : "'[]'") +
                          " FROM notifications n LEFT JOIN workers w ON w.id = n.worker_id"
                          " WHERE n.routed_at IS NULL ORDER BY n.id LIMIT $1" +
                          (lock ? " FOR UPDATE OF n SKIP LOCKED" : "");
  const std::string name =
      std::string("fw_notifier_unrouted") + (lock ? "_lock" : "") + (owners ? "_owners" : "");
  for (const auto& r : exec_hot(tx, name.c_str(), sql, limit)) {
    Facts f = facts_at(r, 0);
    f.owners = ids_of(r[kFactsWidth].as<std::string>());
    out.push_back(std::move(f));
  }
  return out;
}

std::int64_t write_routing(pqxx::transaction_base& tx, const std::vector<NewDelivery>& deliveries,
                           const std::vector<std::int64_t>& routed) {
  if (deliveries.empty() && routed.empty()) return 0;
  json rows = json::array();
  for (const auto& d : deliveries) {
    json j = group_json({d.target.channel_id, d.target.recipient, d.target.group_key});
    j["notification_id"] = d.notification_id;
    rows.push_back(std::move(j));
  }
  // One statement (one round trip). The groups' rows exist before anyone flushes them, so
  // flushers only ever lock existing rows (SKIP LOCKED) instead of waiting on each other's
  // inserts.
  return exec_hot(
             tx, "fw_notifier_write_routing",
             "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(notification_id bigint, "
             "    channel_id bigint, recipient text, group_key text)), "
             "d AS (INSERT INTO notification_deliveries (notification_id, channel_id, recipient, "
             "    group_key) SELECT notification_id, channel_id, recipient, group_key FROM x "
             "    ON CONFLICT DO NOTHING RETURNING 1), "
             "g AS (INSERT INTO notification_groups (channel_id, recipient, group_key) "
             "    SELECT DISTINCT channel_id, recipient, group_key FROM x ORDER BY 1, 2, 3 "
             "    ON CONFLICT DO NOTHING), "
             "r AS (UPDATE notifications SET routed_at = now() WHERE id = ANY($2::bigint[])) "
             "SELECT count(*) FROM d",
             rows.dump(-1, ' ', false, json::error_handler_t::replace), id_array(routed))[0][0]
      .as<std::int64_t>();
}

std::int64_t suppress_disabled(pqxx::transaction_base& tx) {
  return tx
      .exec(
          "UPDATE notification_deliveries d SET state = 'suppressed', reason = 'channel disabled' "
          "FROM notification_channels c WHERE c.id = d.channel_id AND NOT c.enabled "
          "AND d.state = 'pending'")
      .affected_rows();
}

std::vector<PendingGroup> pending_groups(pqxx::transaction_base& tx, int limit, WallTime* now) {
  std::vector<PendingGroup> out;
  const auto rows = exec_hot(
      tx, "fw_notifier_pending_groups",
      "SELECT d.channel_id, d.recipient, d.group_key, "
      "  (extract(epoch FROM min(d.created_at)) * 1000)::bigint, "
      "  (extract(epoch FROM g.last_sent_at) * 1000)::bigint, "
      "  (extract(epoch FROM now()) * 1000)::bigint "
      "FROM notification_deliveries d "
      "JOIN notification_channels c ON c.id = d.channel_id AND c.enabled "
      "LEFT JOIN notification_groups g ON g.channel_id = d.channel_id "
      "  AND g.recipient = d.recipient AND g.group_key = d.group_key "
      "WHERE d.state = 'pending' "
      "GROUP BY d.channel_id, d.recipient, d.group_key, g.last_sent_at, c.group_wait_ms, "
      "  c.group_interval_ms "
      // Soonest due first (flush_due()), so due groups are never hidden behind waiting ones.
      "ORDER BY CASE WHEN g.last_sent_at IS NULL OR min(d.created_at) >= g.last_sent_at + "
      "  c.group_interval_ms * interval '1 millisecond' "
      "  THEN min(d.created_at) + c.group_wait_ms * interval '1 millisecond' "
      "  ELSE g.last_sent_at + c.group_interval_ms * interval '1 millisecond' END, min(d.id) "
      "LIMIT $1",
      limit);
  for (const auto& r : rows) {
    PendingGroup g;
    g.ref = {r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>()};
    g.first_pending = from_ms(r[3].as<std::int64_t>());
    if (!r[4].is_null()) g.last_sent = from_ms(r[4].as<std::int64_t>());
    out.push_back(std::move(g));
  }
  if (now != nullptr) {
    // The database's clock (read with the rows) when there are groups; unused otherwise.
    *now = rows.empty()
               ? std::chrono::time_point_cast<WallTime::duration>(std::chrono::system_clock::now())
               : from_ms(rows[0][5].as<std::int64_t>());
  }
  return out;
}

std::vector<PendingGroup> lock_groups(pqxx::transaction_base& tx,
                                      const std::vector<PendingGroup>& groups) {
  std::vector<PendingGroup> out;
  if (groups.empty()) return out;
  const std::string rows = groups_json(groups).dump(-1, ' ', false, json::error_handler_t::replace);
  exec_hot(tx, "fw_notifier_lock_insert",
           "INSERT INTO notification_groups (channel_id, recipient, group_key, first_pending_at) "
           "SELECT x.channel_id, x.recipient, x.group_key, to_timestamp(x.first_ms / 1000.0) "
           "FROM jsonb_to_recordset($1::jsonb) AS x(channel_id bigint, recipient text, "
           "group_key text, first_ms double precision) ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING",
           rows);
  const auto locked = exec_hot(
      tx, "fw_notifier_lock_select",
      "SELECT g.channel_id, g.recipient, g.group_key, "
      "  (extract(epoch FROM g.last_sent_at) * 1000)::bigint "
      "FROM notification_groups g JOIN jsonb_to_recordset($1::jsonb) AS x(channel_id bigint, "
      "  recipient text, group_key text) ON g.channel_id = x.channel_id "
      "  AND g.recipient = x.recipient AND g.group_key = x.group_key "
      "ORDER BY 1, 2, 3 FOR UPDATE OF g SKIP LOCKED",
      rows);
  for (const auto& r : locked) {
    const GroupRef ref{r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<std::string>()};
    for (const auto& g : groups) {
      if (g.ref.channel_id == ref.channel_id && g.ref.recipient == ref.recipient &&
          g.ref.group_key == ref.group_key) {
        PendingGroup p = g;
        p.last_sent.reset();
        if (!r[3].is_null()) p.last_sent = from_ms(r[3].as<std::int64_t>());
        out.push_back(std::move(p));
        break;
      }
    }
  }
  return out;
}

std::vector<PendingItem> pending_items(pqxx::transaction_base& tx,
                                       const std::vector<PendingGroup>& groups) {
  std::vector<PendingItem> out;
  if (groups.empty()) return out;
  const auto rows = exec_hot(
      tx, "fw_notifier_pending_items",
      std::string("SELECT d.id, d.channel_id, d.recipient, d.group_key, ") + kFacts +
          " FROM notification_deliveries d JOIN jsonb_to_recordset($1::jsonb) AS "
          "x(channel_id bigint, recipient text, group_key text) ON d.channel_id = x.channel_id "
          "AND d.recipient = x.recipient AND d.group_key = x.group_key "
          "JOIN notifications n ON n.id = d.notification_id "
          "LEFT JOIN workers w ON w.id = n.worker_id "
          "WHERE d.state = 'pending' ORDER BY d.id LIMIT 100000 FOR UPDATE OF d",
      groups_json(groups).dump(-1, ' ', false, json::error_handler_t::replace));
  for (const auto& r : rows) {
    PendingItem item;
    item.delivery_id = r[0].as<std::int64_t>();
    item.ref = {r[1].as<std::int64_t>(), r[2].as<std::string>(), r[3].as<std::string>()};
    item.facts = facts_at(r, 4);
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<std::int64_t> new_message_ids(pqxx::transaction_base& tx, int n) {
  std::vector<std::int64_t> ids;
  if (n <= 0) return ids;
  for (const auto& r :
       exec_hot(tx, "fw_notifier_message_ids",
                "SELECT nextval('notification_messages_id_seq') FROM generate_series(1, $1)", n)) {
    ids.push_back(r[0].as<std::int64_t>());
  }
  return ids;
}

std::vector<ClaimedMessage> write_messages(pqxx::transaction_base& tx,
                                           const std::vector<NewMessage>& messages,
                                           const std::string& owner, milliseconds lease) {
  std::vector<ClaimedMessage> claimed;
  if (messages.empty()) return claimed;
  json rows = json::array();
  json queued = json::array();
  for (const auto& m : messages) {
    json j = group_json(m.ref);
    j["id"] = m.id;
    j["kind"] = m.kind;
    j["idempotency_key"] = m.idempotency_key;
    j["body"] = m.body;
    j["notifications"] = m.notifications;
    j["claim"] = m.claim && !owner.empty();
    rows.push_back(std::move(j));
    for (auto d : m.delivery_ids)
      queued.push_back({{"id", d}, {"message_id", m.id}});
  }
  // One statement. A claimed message is sent by this notifier at once: it starts as sending,
  // leased, attempt 1, and comes back with its stored text (the bytes every attempt sends).
  const auto result = exec_hot(
      tx, "fw_notifier_write_messages",
      "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, channel_id bigint, "
      "    recipient text, group_key text, kind text, idempotency_key text, body text, "
      "    notifications integer, claim boolean)), "
      "m AS (INSERT INTO notification_messages (id, channel_id, recipient, group_key, kind, "
      "    idempotency_key, body, notifications, state, attempts, lease_owner, lease_expires_at) "
      "  SELECT id, channel_id, recipient, group_key, kind, idempotency_key, body::jsonb, "
      "    notifications, CASE WHEN claim THEN 'sending' ELSE 'pending' END, "
      "    CASE WHEN claim THEN 1 ELSE 0 END, CASE WHEN claim THEN $3 END, "
      "    CASE WHEN claim THEN now() + $4 * interval '1 millisecond' END FROM x "
      "  RETURNING id, channel_id, recipient, idempotency_key, body, state), "
      "q AS (UPDATE notification_deliveries d SET state = 'queued', message_id = y.message_id "
      "  FROM jsonb_to_recordset($2::jsonb) AS y(id bigint, message_id bigint) WHERE d.id = y.id), "
      "g AS (UPDATE notification_groups g SET last_sent_at = now(), last_message_id = x.id, "
      "  first_pending_at = NULL FROM x WHERE g.channel_id = x.channel_id "
      "  AND g.recipient = x.recipient AND g.group_key = x.group_key) "
      "SELECT id, channel_id, recipient, idempotency_key, body::text FROM m "
      "WHERE state = 'sending' ORDER BY id",
      rows.dump(-1, ' ', false, json::error_handler_t::replace), queued.dump(), owner,
      static_cast<std::int64_t>(lease.count()));
  for (const auto& r : result) {
    ClaimedMessage c;
    c.id = r[0].as<std::int64_t>();
    c.channel_id = r[1].as<std::int64_t>();
    c.recipient = r[2].as<std::string>();
    c.idempotency_key = r[3].as<std::string>();
    c.body = r[4].as<std::string>();
    c.attempt = 1;
    claimed.push_back(std::move(c));
  }
  return claimed;
}

std::vector<RepeatGroup> repeat_due(pqxx::transaction_base& tx, int limit) {
  std::vector<RepeatGroup> out;
  const auto groups = tx.exec_params(
      "SELECT g.channel_id, g.recipient, g.group_key, g.last_message_id "
      "FROM notification_groups g "
      "JOIN notification_channels c ON c.id = g.channel_id AND c.enabled "
      "JOIN notification_messages m ON m.id = g.last_message_id "
      "WHERE g.last_sent_at + c.repeat_interval_ms * interval '1 millisecond' <= now() "
      "  AND m.body->>'status' = 'firing' "
      "  AND jsonb_typeof(m.body->'notifications') = 'array' "
      "  AND NOT EXISTS (SELECT 1 FROM notification_deliveries d WHERE d.state = 'pending' "
      "    AND d.channel_id = g.channel_id AND d.recipient = g.recipient "
      "    AND d.group_key = g.group_key) "
      "  AND EXISTS (SELECT 1 FROM jsonb_array_elements(m.body->'notifications') e "
      "    JOIN alerts a ON a.id = (e->>'alert_id')::bigint "
      "    WHERE e->>'event' = 'alert.firing' AND a.state = 'firing') "
      "ORDER BY g.last_sent_at LIMIT $1 FOR UPDATE OF g SKIP LOCKED",
      limit);
  for (const auto& g : groups) {
    RepeatGroup rg;
    rg.ref = {g[0].as<std::int64_t>(), g[1].as<std::string>(), g[2].as<std::string>()};
    for (const auto& r : tx.exec_params(
             std::string("SELECT ") + kFacts +
                 " FROM notifications n LEFT JOIN workers w ON w.id = n.worker_id "
                 "JOIN alerts a ON a.id = n.alert_id "
                 "WHERE n.id IN (SELECT (e->>'id')::bigint FROM notification_messages m, "
                 "  jsonb_array_elements(m.body->'notifications') e WHERE m.id = $1) "
                 "AND n.event = 'alert.firing' AND a.state = 'firing' ORDER BY n.id",
             g[3].as<std::int64_t>())) {
      rg.items.push_back(facts_at(r, 0));
    }
    if (!rg.items.empty()) out.push_back(std::move(rg));
  }
  return out;
}

std::vector<ClaimedMessage> claim_due(pqxx::transaction_base& tx, const std::string& owner,
                                      milliseconds lease, int limit,
                                      const std::vector<std::int64_t>& skip_channels) {
  std::vector<ClaimedMessage> out;
  const auto rows = exec_hot(
      tx, "fw_notifier_claim",
      "UPDATE notification_messages m SET state = 'sending', lease_owner = $1, "
      "  lease_expires_at = now() + $2 * interval '1 millisecond', attempts = m.attempts + 1 "
      "FROM (SELECT id FROM notification_messages "
      "      WHERE ((state IN ('pending', 'retrying') AND next_attempt_at <= now()) "
      "         OR (state = 'sending' AND lease_expires_at < now())) "
      "        AND channel_id <> ALL($4::bigint[]) "
      "      ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) due "
      "WHERE m.id = due.id "
      "RETURNING m.id, m.channel_id, m.recipient, m.idempotency_key, m.body::text, m.attempts, "
      "  m.retry_base, (extract(epoch FROM now() - m.created_at) * 1000)::bigint",
      owner, static_cast<std::int64_t>(lease.count()), limit, id_array(skip_channels));
  for (const auto& r : rows) {
    ClaimedMessage m;
    m.id = r[0].as<std::int64_t>();
    m.channel_id = r[1].as<std::int64_t>();
    m.recipient = r[2].as<std::string>();
    m.idempotency_key = r[3].as<std::string>();
    m.body = r[4].as<std::string>();
    m.attempt = r[5].as<int>();
    m.retry_base = r[6].as<int>();
    m.age = milliseconds(r[7].as<std::int64_t>());
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const ClaimedMessage& a, const ClaimedMessage& b) { return a.id < b.id; });
  return out;
}

void renew_leases(pqxx::transaction_base& tx, const std::string& owner, milliseconds lease,
                  const std::vector<std::int64_t>& ids) {
  if (ids.empty()) return;
  exec_hot(
      tx, "fw_notifier_renew",
      "UPDATE notification_messages SET lease_expires_at = now() + $2 * interval '1 millisecond' "
      "WHERE id = ANY($3::bigint[]) AND state = 'sending' AND lease_owner = $1",
      owner, static_cast<std::int64_t>(lease.count()), id_array(ids));
}

std::vector<std::int64_t> record_attempts(pqxx::transaction_base& tx, const std::string& owner,
                                          const std::vector<AttemptRecord>& records) {
  std::vector<std::int64_t> recorded;
  if (records.empty()) return recorded;
  json rows = json::array();
  for (const auto& a : records) {
    json j{{"id", a.message.id},
           {"attempt", a.message.attempt},
           {"state", state_name(a.verdict.state)},
           {"status", a.result.status},
           {"reply", capped(a.result.reply)},
           {"error", capped(a.result.error)},
           {"latency_ms", static_cast<double>(a.result.latency.count()) / 1000.0},
           {"outcome", outcome_name(a.result.outcome)},
           {"started_ms", to_ms(a.started)},
           {"dead_reason", capped(a.verdict.dead_reason)}};
    if (a.verdict.state == Verdict::State::kRetrying) {
      j["retry_ms"] = static_cast<double>(a.verdict.retry_in.count());
    }
    rows.push_back(std::move(j));
  }
  const auto result = exec_hot(
      tx, "fw_notifier_record",
      "WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id bigint, attempt integer, "
      "    state text, status integer, reply text, error text, latency_ms double precision, "
      "    outcome text, started_ms double precision, dead_reason text, "
      "    retry_ms double precision)), "
      "upd AS (UPDATE notification_messages m SET state = x.state, lease_owner = NULL, "
      "    lease_expires_at = NULL, "
      "    next_attempt_at = CASE WHEN x.state = 'retrying' "
      "      THEN now() + x.retry_ms * interval '1 millisecond' ELSE m.next_attempt_at END, "
      "    last_status = nullif(x.status, 0), last_reply = x.reply, "
      "    last_latency_ms = x.latency_ms, "
      "    delivered_at = CASE WHEN x.state = 'delivered' THEN now() END, "
      "    dead_at = CASE WHEN x.state = 'dead' THEN now() END, "
      "    dead_reason = CASE WHEN x.state = 'dead' THEN x.dead_reason END "
      "  FROM x WHERE m.id = x.id AND m.state = 'sending' AND m.lease_owner = $2 "
      "    AND m.attempts = x.attempt "
      "  RETURNING m.id, m.state), "
      "att AS (INSERT INTO notification_attempts (message_id, attempt, started_at, latency_ms, "
      "    outcome, status, reply, error, next_attempt_at, notifier) "
      "  SELECT x.id, x.attempt, to_timestamp(x.started_ms / 1000.0), x.latency_ms, x.outcome, "
      "    nullif(x.status, 0), x.reply, x.error, "
      "    CASE WHEN x.state = 'retrying' THEN now() + x.retry_ms * interval '1 millisecond' END, "
      "    $2 FROM x JOIN upd ON upd.id = x.id ON CONFLICT DO NOTHING), "
      "dl AS (UPDATE notification_deliveries d SET state = upd.state FROM upd "
      "  WHERE d.message_id = upd.id AND upd.state IN ('delivered', 'dead') "
      "    AND d.state = 'queued') "
      "SELECT id FROM upd ORDER BY id",
      rows.dump(-1, ' ', false, json::error_handler_t::replace), owner);
  for (const auto& r : result)
    recorded.push_back(r[0].as<std::int64_t>());
  return recorded;
}

HealthEvent update_health(pqxx::transaction_base& tx, const ChannelHealthChange& change,
                          int failing_after) {
  const auto row = exec_hot(
      tx, "fw_notifier_health",
      "UPDATE notification_channels SET "
      "  consecutive_failures = CASE WHEN $2 THEN $3 ELSE consecutive_failures + $3 END, "
      "  last_delivery_at = CASE WHEN $2 THEN now() ELSE last_delivery_at END, "
      "  last_error = CASE WHEN $3 > 0 THEN $4 ELSE last_error END "
      "WHERE id = $1 RETURNING consecutive_failures, failing_since IS NOT NULL, "
      "  coalesce(extract(epoch FROM failing_since)::bigint, 0), name",
      change.channel_id, change.delivered, change.trailing_failures, capped(change.last_error))[0];
  const int failures = row[0].as<int>();
  const bool failing = row[1].as<bool>();
  const std::string name = row[3].as<std::string>();
  if (!failing && failures >= failing_after) {
    const auto since = tx.exec_params1(
                             "UPDATE notification_channels SET failing_since = now(), "
                             "failure_notified_at = now() WHERE id = $1 "
                             "RETURNING extract(epoch FROM failing_since)::bigint",
                             change.channel_id)[0]
                           .as<std::int64_t>();
    const json payload{{"channel_id", change.channel_id},
                       {"channel", name},
                       {"error", capped(change.last_error, 500)},
                       {"failures", failures}};
    tx.exec_params(
        "INSERT INTO notifications (source, event, severity, title, body, payload, dedupe_key) "
        "VALUES ('notifier', 'notifier.channel_failing', 'critical', $1, $2, $3::jsonb, $4) "
        "ON CONFLICT (dedupe_key) DO NOTHING",
        "Notification channel " + name + " is failing",
        std::to_string(failures) +
            " consecutive failed attempts; last error: " + capped(change.last_error, 400),
        payload.dump(-1, ' ', false, json::error_handler_t::replace),
        "channel:" + std::to_string(change.channel_id) + ":failing:" + std::to_string(since));
    return HealthEvent::kFailing;
  }
  if (failing && change.delivered && failures == 0) {
    tx.exec_params("UPDATE notification_channels SET failing_since = NULL WHERE id = $1",
                   change.channel_id);
    const json payload{
        {"channel_id", change.channel_id}, {"channel", name}, {"error", ""}, {"failures", 0}};
    tx.exec_params(
        "INSERT INTO notifications (source, event, severity, title, body, payload, dedupe_key) "
        "VALUES ('notifier', 'notifier.channel_recovered', 'info', $1, '', $2::jsonb, $3) "
        "ON CONFLICT (dedupe_key) DO NOTHING",
        "Notification channel " + name + " delivers again", payload.dump(),
        "channel:" + std::to_string(change.channel_id) +
            ":recovered:" + std::to_string(row[2].as<std::int64_t>()));
    return HealthEvent::kRecovered;
  }
  return HealthEvent::kNone;
}

std::optional<milliseconds> next_message_due(pqxx::transaction_base& tx) {
  const auto r = exec_hot(
      tx, "fw_notifier_next_due",
      "SELECT CASE WHEN t IS NOT NULL THEN (greatest(extract(epoch FROM t - now()), 0) * 1000)"
      "::bigint END FROM (SELECT least("
      " (SELECT min(next_attempt_at) FROM notification_messages "
      "   WHERE state IN ('pending', 'retrying')),"
      " (SELECT min(lease_expires_at) FROM notification_messages WHERE state = 'sending')) "
      " AS t) q")[0];
  if (r[0].is_null()) return std::nullopt;
  return milliseconds(r[0].as<std::int64_t>());
}

}  // namespace fleet::notifier
