#include "notifier_engine.h"

#include <algorithm>
#include <ctime>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "db/session.h"
#include "notifier_document.h"
#include "notify/email_sender.h"
#include "notify/mqtt_sender.h"
#include "notify/webhook_sender.h"
#include "send_lanes.h"

namespace fleet::notifier {

using json = nlohmann::json;
using std::chrono::steady_clock;

namespace {

// A group or a retry due within this long is waited for inside the cycle.
constexpr milliseconds kStayFor{2000};
constexpr milliseconds kRepeatCheckEvery{10'000};
// Stopping: how long the cycle waits for the messages in flight before it leaves them to their
// leases.
constexpr milliseconds kDrainFor{5'000};
// After a claim that found nothing, the next waits this long: new messages are handed to their
// lanes by the flush itself; claims are for retries, repeats and expired leases.
constexpr milliseconds kClaimIdleEvery{100};

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

SenderFactory default_sender_factory(const std::string& ca_file) {
  return [ca_file](const std::string& kind) -> std::unique_ptr<notify::Sender> {
    if (kind == "webhook") return notify::make_webhook_sender({.ca_file = ca_file});
    if (kind == "mqtt") return notify::make_mqtt_sender();
    if (kind == "email") return notify::make_email_sender();
    return nullptr;
  };
}

Notifier::Notifier(NotifierOptions options, SenderFactory factory,
                   std::optional<secrets::SecretBox> box)
    : options_(std::move(options)),
      factory_(std::move(factory)),
      box_(std::move(box)),
      lanes_(std::make_unique<SendLanes>(options_.senders)) {
  if (options_.record_database) {
    auto database = *options_.record_database;
    database.application_name += " (record)";
    record_db_ = std::make_unique<db::Session>(std::move(database));
    recorder_ = std::thread([this] { record_loop(); });
  }
}

Notifier::~Notifier() {
  lanes_.reset();  // first: running attempts finish (bounded by their timeouts), queued ones drop
  if (recorder_.joinable()) {  // then what they finished is recorded
    {
      std::lock_guard lock(mu_);
      stop_recorder_ = true;
    }
    cv_.notify_all();
    recorder_.join();
  }
}

void Notifier::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

notify::Sender* Notifier::sender_for(const std::string& kind) {
  auto it = senders_.find(kind);
  if (it == senders_.end()) it = senders_.emplace(kind, factory_ ? factory_(kind) : nullptr).first;
  return it->second.get();
}

std::string Notifier::secret_of(const ChannelRow& channel, std::string* error) const {
  if (channel.secret_enc.empty()) return "";
  if (!box_) {
    *error = "the channel has a secret but secrets.key is not set";
    return "";
  }
  auto opened =
      box_->open(channel.secret_enc, secrets::notification_channel_secret_context(channel.rule.id));
  if (!opened.ok()) {
    *error = "the channel's secret does not open with secrets.key";
    return "";
  }
  return *opened;
}

NewMessage Notifier::render(const ChannelRow& channel, const GroupRef& ref, std::int64_t id,
                            const std::string& kind, const std::vector<Facts>& items,
                            const std::string& now_text) {
  NewMessage m;
  m.id = id;
  m.ref = ref;
  m.kind = kind;
  m.idempotency_key = make_idempotency_key(id, static_cast<std::uint32_t>(rng_()));
  m.notifications = static_cast<int>(items.size());
  DocumentInput in{.idempotency_key = m.idempotency_key,
                   .kind = kind,
                   .channel = channel.rule.name,
                   .group_key = ref.group_key,
                   .items = items,
                   .max_items = channel.max_items,
                   .template_title = channel.template_title,
                   .template_text = channel.template_text,
                   .created_at = now_text};
  m.body = render_document(in).json;
  return m;
}

std::int64_t Notifier::route_step(runtime::CycleContext& ctx, RoutingConfig& cfg, Totals& t) {
  return ctx.db().transact([&](pqxx::transaction_base& tx) {
    cfg = load_config(tx);
    const auto facts = unrouted(tx, options_.batch, true, !cfg.subscriptions.empty());
    if (facts.empty()) return std::int64_t{0};
    const auto channels = cfg.rules();
    std::vector<NewDelivery> deliveries;
    std::vector<std::int64_t> ids;
    for (const auto& n : facts) {
      ids.push_back(n.id);
      for (auto& target : route(n, channels, cfg.routes, cfg.subscriptions))
        deliveries.push_back({n.id, std::move(target)});
    }
    t.deliveries += write_routing(tx, deliveries, ids);
    t.routed += static_cast<std::int64_t>(facts.size());
    return static_cast<std::int64_t>(facts.size());
  });
}

std::int64_t Notifier::flush_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t,
                                  std::optional<milliseconds>& next) {
  std::vector<ClaimedMessage> to_send;
  const std::int64_t made = ctx.db().transact([&](pqxx::transaction_base& tx) {
    to_send.clear();
    WallTime now;
    const auto pending = pending_groups(tx, options_.batch, &now);
    auto due_now = [&](const PendingGroup& g, std::optional<milliseconds>* wait) {
      const ChannelRow* c = cfg.channel(g.ref.channel_id);
      if (c == nullptr) return false;
      if (flush_due(g.first_pending, g.last_sent, c->group_wait, c->group_interval, now)) {
        return true;
      }
      if (wait != nullptr) {
        // Not due yet: when will it be? The earliest moment flush_due turns true.
        const WallTime at = !g.last_sent || g.first_pending >= *g.last_sent + c->group_interval
                                ? g.first_pending + c->group_wait
                                : *g.last_sent + c->group_interval;
        const auto in = std::chrono::duration_cast<milliseconds>(at - now);
        if (!*wait || in < **wait) *wait = in;
      }
      return false;
    };
    std::vector<PendingGroup> due;
    for (const auto& g : pending) {
      if (due_now(g, &next)) due.push_back(g);
    }
    if (due.empty()) return std::int64_t{0};
    // Lock them; re-check with the last_sent another replica may just have written.
    std::vector<PendingGroup> mine;
    for (auto& g : lock_groups(tx, due)) {
      if (due_now(g, nullptr)) mine.push_back(std::move(g));
    }
    const auto items = pending_items(tx, mine);
    const auto ids = new_message_ids(tx, static_cast<int>(mine.size()));
    // Messages sent at once by this notifier while there is room in flight (the rest wait for
    // a claim, here or in another replica).
    std::vector<std::int64_t> full;
    int room_left = room(&full);
    std::map<std::int64_t, int> per_channel;
    const std::string now_text = rfc3339(now);
    std::vector<NewMessage> messages;
    for (std::size_t i = 0; i < mine.size(); ++i) {
      const auto& g = mine[i];
      std::vector<Facts> facts;
      std::vector<std::int64_t> deliveries;
      for (const auto& item : items) {
        if (item.ref.channel_id == g.ref.channel_id && item.ref.recipient == g.ref.recipient &&
            item.ref.group_key == g.ref.group_key) {
          facts.push_back(item.facts);
          deliveries.push_back(item.delivery_id);
        }
      }
      if (facts.empty()) continue;
      NewMessage m =
          render(*cfg.channel(g.ref.channel_id), g.ref, ids[i], "group", facts, now_text);
      m.delivery_ids = std::move(deliveries);
      if (room_left > 0 && std::find(full.begin(), full.end(), g.ref.channel_id) == full.end() &&
          per_channel[g.ref.channel_id]++ < options_.batch) {
        m.claim = true;
        --room_left;
      }
      messages.push_back(std::move(m));
    }
    to_send = write_messages(tx, messages, options_.instance_id, options_.lease);
    t.messages += static_cast<std::int64_t>(messages.size());
    return static_cast<std::int64_t>(messages.size());
  });
  send(cfg, std::move(to_send));  // after the commit: only messages that exist are sent
  return made;
}

std::int64_t Notifier::repeat_step(runtime::CycleContext& ctx, const RoutingConfig& cfg,
                                   Totals& t) {
  const auto now = steady_clock::now();
  if (last_repeat_check_ && now - *last_repeat_check_ < kRepeatCheckEvery) return 0;
  last_repeat_check_ = now;
  return ctx.db().transact([&](pqxx::transaction_base& tx) {
    const auto groups = repeat_due(tx, options_.batch);
    if (groups.empty()) return std::int64_t{0};
    const auto ids = new_message_ids(tx, static_cast<int>(groups.size()));
    const std::string now_text = rfc3339(std::chrono::system_clock::now());
    std::vector<NewMessage> messages;
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const ChannelRow* c = cfg.channel(groups[i].ref.channel_id);
      if (c == nullptr) continue;
      messages.push_back(render(*c, groups[i].ref, ids[i], "repeat", groups[i].items, now_text));
    }
    write_messages(tx, messages);
    t.repeats += static_cast<std::int64_t>(messages.size());
    return static_cast<std::int64_t>(messages.size());
  });
}

std::size_t Notifier::in_flight_locked(std::int64_t channel) const {
  std::size_t n = 0;
  for (const auto& [id, ch] : in_flight_)
    n += ch == channel ? 1 : 0;
  return n;
}

int Notifier::room(std::vector<std::int64_t>* full_channels) const {
  // Per channel at most `batch` in flight, in all 4 x batch: a hung channel's backlog stays
  // bounded (and leased), and never keeps other channels' messages from being claimed.
  std::lock_guard lock(mu_);
  std::map<std::int64_t, int> per_channel;
  for (const auto& [id, ch] : in_flight_)
    ++per_channel[ch];
  if (full_channels != nullptr) {
    for (const auto& [ch, n] : per_channel) {
      if (n >= options_.batch) full_channels->push_back(ch);
    }
  }
  return std::max(0, 4 * options_.batch - static_cast<int>(in_flight_.size()));
}

void Notifier::finished(AttemptRecord attempt) {
  {
    std::lock_guard lock(mu_);
    done_.push_back(std::move(attempt));
  }
  cv_.notify_all();
}

void Notifier::send(const RoutingConfig& cfg, std::vector<ClaimedMessage> messages) {
  for (auto& m : messages) {
    const ChannelRow* channel = cfg.channel(m.channel_id);
    notify::ChannelSettings settings;
    std::string problem;
    notify::Sender* sender = nullptr;
    if (channel == nullptr) {
      problem = "channel " + std::to_string(m.channel_id) + " is not loaded yet";
    } else {
      settings = {.id = channel->rule.id,
                  .name = channel->rule.name,
                  .kind = channel->rule.kind,
                  .config_json = channel->config,
                  .secret = secret_of(*channel, &problem)};
      sender = sender_for(channel->rule.kind);
      if (sender == nullptr && problem.empty()) {
        problem = "no sender for kind " + channel->rule.kind;
      }
    }
    {
      std::lock_guard lock(mu_);
      in_flight_[m.id] = m.channel_id;
    }
    const std::int64_t lane = m.channel_id;
    lanes_->submit(
        lane, [this, m = std::move(m), settings = std::move(settings), problem, sender]() mutable {
          AttemptRecord a{.message = std::move(m), .started = std::chrono::system_clock::now()};
          if (!problem.empty() || sender == nullptr) {
            a.result.error = problem;
          } else {
            notify::OutgoingMessage out{.id = a.message.id,
                                        .idempotency_key = a.message.idempotency_key,
                                        .recipient = a.message.recipient,
                                        .document_json = a.message.body,
                                        .attempt = a.message.attempt};
            try {
              a.result = sender->send(settings, out);
            } catch (const std::exception& e) {
              a.result = {};
              a.result.error = std::string("sender failed: ") + e.what();
            }
          }
          a.message.body.clear();  // sent; not needed to record the attempt
          finished(std::move(a));
        });
  }
}

std::int64_t Notifier::claim_step(runtime::CycleContext& ctx, const RoutingConfig& cfg) {
  const auto now = steady_clock::now();
  if (last_empty_claim_ && now - *last_empty_claim_ < kClaimIdleEvery) return 0;
  std::vector<std::int64_t> full;
  const int limit = std::min(options_.batch, room(&full));
  if (limit <= 0) return 0;
  auto claimed = ctx.db().transact([&](pqxx::transaction_base& tx) {
    return claim_due(tx, options_.instance_id, options_.lease, limit, full);
  });
  if (claimed.empty()) {
    last_empty_claim_ = now;
  } else {
    last_empty_claim_.reset();
  }
  const auto n = static_cast<std::int64_t>(claimed.size());
  send(cfg, std::move(claimed));
  return n;
}

void Notifier::renew_step(runtime::CycleContext& ctx) {
  const auto now = steady_clock::now();
  if (last_renew_ && now - *last_renew_ < options_.lease / 3) return;
  std::vector<std::int64_t> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, ch] : in_flight_)
      ids.push_back(id);
  }
  if (!last_renew_) {
    last_renew_ = now;  // nothing here is older than a third of its lease yet
    return;
  }
  last_renew_ = now;
  if (ids.empty()) return;
  ctx.db().transact([&](pqxx::transaction_base& tx) {
    renew_leases(tx, options_.instance_id, options_.lease, ids);
  });
}

void Notifier::dry_run(runtime::CycleContext& ctx, const RoutingConfig& cfg) {
  const auto channels = cfg.rules();
  ctx.db().transact([&](pqxx::transaction_base& tx) {
    const auto facts = unrouted(tx, options_.batch, false, !cfg.subscriptions.empty());
    std::map<std::tuple<std::int64_t, std::string, std::string>, std::vector<Facts>> groups;
    for (const auto& n : facts) {
      const auto targets = route(n, channels, cfg.routes, cfg.subscriptions);
      if (targets.empty()) {
        ctx.emit(
            json{{"action", "unrouted"}, {"notification_id", n.id}, {"event", n.event}}.dump());
      }
      for (const auto& target : targets)
        groups[{target.channel_id, target.recipient, target.group_key}].push_back(n);
    }
    const std::string now_text = rfc3339(std::chrono::system_clock::now());
    for (const auto& [key, items] : groups) {
      const auto& [channel_id, recipient, group_key] = key;
      const ChannelRow* c = cfg.channel(channel_id);
      NewMessage m = render(*c, {channel_id, recipient, group_key}, 0, "group", items, now_text);
      json ids = json::array();
      for (const auto& n : items)
        ids.push_back(n.id);
      ctx.emit(json{{"action", "send"},
                    {"channel", c->rule.name},
                    {"kind", c->rule.kind},
                    {"recipient", recipient},
                    {"group_key", group_key},
                    {"notifications", ids},
                    {"after_ms", c->group_wait.count()},
                    {"document", json::parse(m.body)}}
                   .dump(-1, ' ', false, json::error_handler_t::replace));
    }
  });
}

runtime::CycleReport Notifier::run_cycle(runtime::CycleContext& ctx) {
  runtime::CycleReport report;
  if (ctx.dry_run()) {
    const RoutingConfig cfg =
        ctx.db().transact([](pqxx::transaction_base& tx) { return load_config(tx); });
    dry_run(ctx, cfg);
    return report;
  }
  Totals t;
  std::optional<steady_clock::time_point> drain_started;
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  while (true) {
    ctx.progress();
    {
      std::lock_guard lock(mu_);
      woken_ = false;
    }
    const bool stopping = ctx.stopping();
    const auto t0 = steady_clock::now();
    RoutingConfig cfg;
    std::int64_t routed = 0;
    if (stopping) {
      cfg = ctx.db().transact([](pqxx::transaction_base& tx) { return load_config(tx); });
    } else {
      routed = route_step(ctx, cfg, t);
    }
    {
      std::lock_guard lock(mu_);
      config_ = std::make_shared<const RoutingConfig>(cfg);
      recorded_ = false;
    }
    if (std::any_of(cfg.channels.begin(), cfg.channels.end(),
                    [](const ChannelRow& c) { return !c.rule.enabled; })) {
      t.suppressed +=
          ctx.db().transact([](pqxx::transaction_base& tx) { return suppress_disabled(tx); });
    }
    const auto t1 = steady_clock::now();
    const auto recorded = record_db_ ? 0 : record_step(ctx);
    renew_step(ctx);
    const auto t2 = steady_clock::now();
    std::int64_t flushed = 0, claimed = 0;
    std::optional<milliseconds> next;
    if (!stopping) {
      flushed = flush_step(ctx, cfg, t, next);
      repeat_step(ctx, cfg, t);
      claimed = claim_step(ctx, cfg);
    }
    const auto t3 = steady_clock::now();
    spdlog::debug(
        "routed {} in {:.1f} ms, recorded {} in {:.1f} ms, {} messages + {} claimed in {:.1f} ms",
        routed, ms(t1 - t0), recorded, ms(t2 - t1), flushed, claimed, ms(t3 - t2));

    std::size_t flying = 0;
    {
      std::lock_guard lock(mu_);
      flying = in_flight_.size();
    }
    if (stopping) {
      if (flying == 0) break;
      if (!drain_started) {
        drain_started = steady_clock::now();
        spdlog::info("stopping: waiting up to {} ms for {} messages in flight", kDrainFor.count(),
                     flying);
      } else if (steady_clock::now() - *drain_started >= kDrainFor) {
        spdlog::warn("stopping with {} messages in flight: their leases will expire", flying);
        break;
      }
    } else {
      if (routed >= options_.batch || flushed > 0 || claimed > 0) {
        continue;  // more may be waiting (a full batch, or a flush that may leave groups due)
      }
      const auto retry =
          ctx.db().transact([](pqxx::transaction_base& tx) { return next_message_due(tx); });
      if (retry && (!next || *retry < *next)) next = retry;
      if (flying == 0) {
        if (routed > 0 || recorded > 0) continue;
        spdlog::debug("idle: next due in {} ms", next ? next->count() : -1);
        if (!next || *next > kStayFor) break;
      }
    }
    std::unique_lock lock(mu_);
    // Until a wake-up, a finished attempt (recorded, when a recorder does it), or the next group
    // or retry falling due.
    milliseconds wait = next ? std::max(*next, milliseconds(5)) : kStayFor;
    if (flying > 0) wait = std::min(wait, kStayFor);
    if (record_db_) {
      cv_.wait_for(lock, wait, [&] { return woken_ || recorded_; });
      continue;
    }
    if (done_.empty()) cv_.wait_for(lock, wait, [&] { return woken_ || !done_.empty(); });
    if (!woken_ && !done_.empty()) {
      // Record finished attempts together: wait a moment for the others in flight.
      cv_.wait_for(lock, kRecordEvery, [&] {
        return woken_ || done_.size() >= kRecordBatch || done_.size() >= in_flight_.size();
      });
    }
  }
  const std::int64_t delivered = delivered_.exchange(0), retried = retried_.exchange(0),
                     dead = dead_.exchange(0), lost_leases = lost_leases_.exchange(0);
  report.items = t.routed + delivered + dead + retried;
  report.counts = {{"routed", t.routed},         {"deliveries", t.deliveries},
                   {"suppressed", t.suppressed}, {"messages", t.messages},
                   {"repeats", t.repeats},       {"delivered", delivered},
                   {"retried", retried},         {"dead", dead},
                   {"lost_leases", lost_leases}};
  return report;
}

}  // namespace fleet::notifier
