// The notifier's SQL (sql/0047_notifier.sql). Every step is one transaction the caller opens;
// everything shared between replicas is claimed with FOR UPDATE SKIP LOCKED or a lease, so any
// number of notifiers can run without a leader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "notifier_rules.h"
#include "notify/sender.h"

namespace pqxx {
class transaction_base;
}

namespace fleet::notifier {

// A channel row with what flushing and sending need.
struct ChannelRow {
  Channel rule;
  std::string config = "{}";
  std::string secret_enc;  // "" when none; sealed
  std::string template_title, template_text;
  milliseconds group_wait{30'000}, group_interval{300'000}, repeat_interval{14'400'000};
  int max_items = 20;
  int max_attempts = 8;
  milliseconds max_age{86'400'000};
};

struct RoutingConfig {
  std::vector<ChannelRow> channels;
  std::vector<Route> routes;                // enabled ones
  std::vector<Subscription> subscriptions;  // enabled ones
  std::vector<Channel> rules() const;
  const ChannelRow* channel(std::int64_t id) const;
};

RoutingConfig load_config(pqxx::transaction_base& tx);

// The oldest unrouted notifications with their worker and owners; locked (SKIP LOCKED) unless
// `lock` is false (read-only dry runs). Owners are looked up only when `owners` (they matter
// only to subscriptions; without any, Facts::owners stays empty).
std::vector<Facts> unrouted(pqxx::transaction_base& tx, int limit, bool lock, bool owners = true);

struct NewDelivery {
  std::int64_t notification_id = 0;
  Target target;
};
// Inserts the deliveries (ON CONFLICT DO NOTHING) and marks the notifications routed. Returns
// the deliveries inserted.
std::int64_t write_routing(pqxx::transaction_base& tx, const std::vector<NewDelivery>& deliveries,
                           const std::vector<std::int64_t>& routed);

// Pending deliveries of disabled channels become suppressed ("channel disabled").
std::int64_t suppress_disabled(pqxx::transaction_base& tx);

struct GroupRef {
  std::int64_t channel_id = 0;
  std::string recipient;
  std::string group_key;
};

struct PendingGroup {
  GroupRef ref;
  WallTime first_pending;
  std::optional<WallTime> last_sent;
};

// Groups with pending deliveries on enabled channels, and the database's now().
std::vector<PendingGroup> pending_groups(pqxx::transaction_base& tx, int limit, WallTime* now);

// Locks the groups (creating their rows) and returns those another replica was not holding,
// with their current last_sent.
std::vector<PendingGroup> lock_groups(pqxx::transaction_base& tx,
                                      const std::vector<PendingGroup>& groups);

struct PendingItem {
  std::int64_t delivery_id = 0;
  GroupRef ref;
  Facts facts;
};
// The pending deliveries of `groups` (locked), oldest first.
std::vector<PendingItem> pending_items(pqxx::transaction_base& tx,
                                       const std::vector<PendingGroup>& groups);

// `n` new message ids.
std::vector<std::int64_t> new_message_ids(pqxx::transaction_base& tx, int n);

struct ClaimedMessage {
  std::int64_t id = 0;
  std::int64_t channel_id = 0;
  std::string recipient;
  std::string idempotency_key;
  std::string body;
  int attempt = 0;  // this attempt (attempts after the claim)
  int retry_base = 0;
  milliseconds age{0};
};

struct NewMessage {
  std::int64_t id = 0;
  GroupRef ref;
  std::string kind = "group";
  std::string idempotency_key;
  std::string body;
  std::vector<std::int64_t> delivery_ids;  // queued with it (none for a repeat)
  int notifications = 0;
  bool claim = false;  // sent at once by the notifier writing it (see write_messages)
};
// Inserts the messages, queues their deliveries and records the groups as sent now, in one
// statement. Messages with `claim` (when `owner` is set) start as sending, leased to `owner` for
// `lease`, attempt 1, and are returned with their stored text, so the flusher sends them without
// a claim of its own; the others start pending (claim_due takes them).
std::vector<ClaimedMessage> write_messages(pqxx::transaction_base& tx,
                                           const std::vector<NewMessage>& messages,
                                           const std::string& owner = "",
                                           milliseconds lease = milliseconds(0));

// Groups whose last message is still firing (an alert.firing it listed whose alert is still
// firing), last sent longer than repeat_interval ago and with nothing pending: locked, with the
// still-firing notifications of their last message.
struct RepeatGroup {
  GroupRef ref;
  std::vector<Facts> items;
};
std::vector<RepeatGroup> repeat_due(pqxx::transaction_base& tx, int limit);

// Due messages (pending/retrying whose time has come, or sending with an expired lease) of
// channels other than `skip_channels` (those with enough in flight here) become sending, leased
// to `owner` for `lease`, attempts + 1.
std::vector<ClaimedMessage> claim_due(pqxx::transaction_base& tx, const std::string& owner,
                                      milliseconds lease, int limit,
                                      const std::vector<std::int64_t>& skip_channels = {});

// Extends the leases `owner` still holds on `ids` (messages waiting in a slow channel's lane).
void renew_leases(pqxx::transaction_base& tx, const std::string& owner, milliseconds lease,
                  const std::vector<std::int64_t>& ids);

struct AttemptRecord {
  ClaimedMessage message;
  notify::SendResult result;
  Verdict verdict;
  WallTime started;
};
// Records the attempts whose lease `owner` still holds (the others were taken over after the
// lease expired) and moves messages and their deliveries on. Returns the ids recorded.
std::vector<std::int64_t> record_attempts(pqxx::transaction_base& tx, const std::string& owner,
                                          const std::vector<AttemptRecord>& records);

struct ChannelHealthChange {
  std::int64_t channel_id = 0;
  bool delivered = false;     // at least one attempt in the batch succeeded
  int trailing_failures = 0;  // failed attempts after the last success (or all of them)
  std::string last_error;
};
enum class HealthEvent { kNone, kFailing, kRecovered };
// Updates consecutive_failures / last_delivery_at; a channel reaching `failing_after` gets
// failing_since and ONE notifier.channel_failing notification, a failing channel that delivers
// again a notifier.channel_recovered.
HealthEvent update_health(pqxx::transaction_base& tx, const ChannelHealthChange& change,
                          int failing_after);

// Milliseconds until the earliest retry or lease expiry (0 when one is due, nullopt when none).
std::optional<milliseconds> next_message_due(pqxx::transaction_base& tx);

}  // namespace fleet::notifier
