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

namespace fleet::notifier {

using json = nlohmann::json;
using std::chrono::steady_clock;

// Runs batches of jobs on a fixed set of threads.
class SendPool {
 public:
  explicit SendPool(int threads) {
    for (int i = 0; i < threads; ++i)
      threads_.emplace_back([this] { loop(); });
  }
  ~SendPool() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_)
      t.join();
  }
  SendPool(const SendPool&) = delete;
  SendPool& operator=(const SendPool&) = delete;

  // Runs every job and returns when all have finished.
  void run_all(std::vector<std::function<void()>> jobs) {
    std::unique_lock lock(mu_);
    pending_ += jobs.size();
    for (auto& j : jobs)
      queue_.push_back(std::move(j));
    cv_.notify_all();
    done_cv_.wait(lock, [&] { return pending_ == 0; });
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.back());
        queue_.pop_back();
      }
      job();
      std::lock_guard lock(mu_);
      if (--pending_ == 0) done_cv_.notify_all();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::function<void()>> queue_;  // guarded by mu_
  std::size_t pending_ = 0;                   // guarded by mu_
  bool stop_ = false;                         // guarded by mu_
  std::vector<std::thread> threads_;
};

namespace {

// A group or a retry due within this long is waited for inside the cycle.
constexpr milliseconds kStayFor{2000};
constexpr milliseconds kRepeatCheckEvery{10'000};

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

SenderFactory default_sender_factory() {
  return [](const std::string& kind) -> std::unique_ptr<notify::Sender> {
    if (kind == "webhook") return notify::make_webhook_sender();
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
      pool_(std::make_unique<SendPool>(options_.senders)) {}

Notifier::~Notifier() = default;

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

std::int64_t Notifier::route_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t) {
  const auto channels = cfg.rules();
  return ctx.db().transact([&](pqxx::transaction_base& tx) {
    const auto facts = unrouted(tx, options_.batch, true);
    if (facts.empty()) return std::int64_t{0};
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
  return ctx.db().transact([&](pqxx::transaction_base& tx) {
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
      messages.push_back(std::move(m));
    }
    write_messages(tx, messages);
    t.messages += static_cast<std::int64_t>(messages.size());
    return static_cast<std::int64_t>(messages.size());
  });
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

std::int64_t Notifier::send_step(runtime::CycleContext& ctx, const RoutingConfig& cfg, Totals& t) {
  const auto claimed = ctx.db().transact([&](pqxx::transaction_base& tx) {
    return claim_due(tx, options_.instance_id, options_.lease, options_.batch);
  });
  if (claimed.empty()) return 0;
  std::mutex done_mu;
  std::vector<AttemptRecord> done;  // in the order the attempts finished
  std::vector<std::function<void()>> jobs;
  for (const auto& m : claimed) {
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
    jobs.emplace_back([&, m, settings = std::move(settings), problem, sender] {
      AttemptRecord a{.message = m, .started = std::chrono::system_clock::now()};
      if (!problem.empty() || sender == nullptr) {
        a.result.error = problem;
      } else {
        notify::OutgoingMessage out{.id = m.id,
                                    .idempotency_key = m.idempotency_key,
                                    .recipient = m.recipient,
                                    .document_json = m.body,
                                    .attempt = m.attempt};
        try {
          a.result = sender->send(settings, out);
        } catch (const std::exception& e) {
          a.result = {};
          a.result.error = std::string("sender failed: ") + e.what();
        }
      }
      std::lock_guard lock(done_mu);
      done.push_back(std::move(a));
    });
  }
  pool_->run_all(std::move(jobs));
  ctx.progress();

  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::map<std::int64_t, ChannelHealthChange> health;
  for (auto& a : done) {
    const ChannelRow* c = cfg.channel(a.message.channel_id);
    RetryPolicy policy{.max_attempts = c ? c->max_attempts : 8,
                       .max_age = c ? c->max_age : milliseconds(86'400'000),
                       .backoff = {.initial = options_.retry_initial, .max = options_.retry_max}};
    a.verdict = judge_attempt(a.result, a.message.attempt, a.message.retry_base, a.message.age,
                              policy, unit(rng_));
    auto& h = health[a.message.channel_id];
    h.channel_id = a.message.channel_id;
    if (a.verdict.state == Verdict::State::kDelivered) {
      h.delivered = true;
      h.trailing_failures = 0;
    } else {
      ++h.trailing_failures;
      h.last_error = a.result.error;
    }
  }
  ctx.db().transact([&](pqxx::transaction_base& tx) {
    const auto recorded = record_attempts(tx, options_.instance_id, done);
    const std::set<std::int64_t> kept(recorded.begin(), recorded.end());
    for (const auto& a : done) {
      if (!kept.contains(a.message.id)) {
        ++t.lost_leases;
        spdlog::warn("message {}: the lease was taken over before the attempt was recorded",
                     a.message.id);
        continue;
      }
      switch (a.verdict.state) {
        case Verdict::State::kDelivered:
          ++t.delivered;
          spdlog::debug("message {} delivered (attempt {})", a.message.id, a.message.attempt);
          break;
        case Verdict::State::kDead:
          ++t.dead;
          spdlog::warn("message {} dead-lettered: {}", a.message.id, a.verdict.dead_reason);
          break;
        default:
          ++t.retried;
          spdlog::warn("message {} attempt {} failed ({}); retry in {} ms", a.message.id,
                       a.message.attempt, a.result.error, a.verdict.retry_in.count());
      }
    }
    for (const auto& [id, change] : health) {  // ascending ids: no deadlock between replicas
      if (!change.delivered && change.trailing_failures == 0) continue;
      switch (update_health(tx, change, options_.failing_after)) {
        case HealthEvent::kFailing:
          spdlog::error("channel {} is failing: {}", id, change.last_error);
          break;
        case HealthEvent::kRecovered:
          spdlog::info("channel {} delivers again", id);
          break;
        default:
          break;
      }
    }
  });
  return static_cast<std::int64_t>(claimed.size());
}

void Notifier::dry_run(runtime::CycleContext& ctx, const RoutingConfig& cfg) {
  const auto channels = cfg.rules();
  ctx.db().transact([&](pqxx::transaction_base& tx) {
    const auto facts = unrouted(tx, options_.batch, false);
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
  const RoutingConfig first =
      ctx.db().transact([](pqxx::transaction_base& tx) { return load_config(tx); });
  if (ctx.dry_run()) {
    dry_run(ctx, first);
    return report;
  }
  Totals t;
  bool first_round = true;
  while (!ctx.stopping()) {
    ctx.progress();
    {
      std::lock_guard lock(mu_);
      woken_ = false;
    }
    const RoutingConfig cfg =
        first_round ? first
                    : ctx.db().transact([](pqxx::transaction_base& tx) { return load_config(tx); });
    first_round = false;
    if (std::any_of(cfg.channels.begin(), cfg.channels.end(),
                    [](const ChannelRow& c) { return !c.rule.enabled; })) {
      t.suppressed +=
          ctx.db().transact([](pqxx::transaction_base& tx) { return suppress_disabled(tx); });
    }
    const auto t0 = steady_clock::now();
    const auto routed = route_step(ctx, cfg, t);
    const auto t1 = steady_clock::now();
    std::optional<milliseconds> next;
    const auto flushed = flush_step(ctx, cfg, t, next);
    const auto t2 = steady_clock::now();
    repeat_step(ctx, cfg, t);
    const auto sent = send_step(ctx, cfg, t);
    const auto t3 = steady_clock::now();
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    spdlog::debug("routed {} in {:.1f} ms, {} messages in {:.1f} ms, sent {} in {:.1f} ms", routed,
                  ms(t1 - t0), flushed, ms(t2 - t1), sent, ms(t3 - t2));
    if (routed >= options_.batch || flushed >= options_.batch || sent >= options_.batch ||
        flushed > 0) {
      continue;  // more may be waiting (a flush makes messages to send at once)
    }
    const auto retry =
        ctx.db().transact([](pqxx::transaction_base& tx) { return next_message_due(tx); });
    if (retry && (!next || *retry < *next)) next = retry;
    if (routed > 0 || sent > 0) continue;
    spdlog::debug("idle: next due in {} ms", next ? next->count() : -1);
    if (!next || *next > kStayFor) break;
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::max(*next, milliseconds(5)), [&] { return woken_; });
  }
  report.items = t.routed + t.delivered + t.dead + t.retried;
  report.counts = {{"routed", t.routed},          {"deliveries", t.deliveries},
                   {"suppressed", t.suppressed},  {"messages", t.messages},
                   {"repeats", t.repeats},        {"delivered", t.delivered},
                   {"retried", t.retried},        {"dead", t.dead},
                   {"lost_leases", t.lost_leases}};
  return report;
}

}  // namespace fleet::notifier
